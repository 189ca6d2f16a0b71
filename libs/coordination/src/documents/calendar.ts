import { CalendarSchema } from '@nono/domain';
import { defineDocument } from './document.js';

/**
 * `/calendars/<name>`: one exclusion calendar (libs/domain/src/calendar.ts), written by the
 * API, watched by every scheduler; the znode version is its ETag.
 */
export const calendarDocument = defineDocument('calendar', CalendarSchema);
