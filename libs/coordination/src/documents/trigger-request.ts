import { type Static, Type } from '@sinclair/typebox';
import { defineDocument } from './document.js';

/** `/triggers/<taskId>@<requestId>`: a manual trigger request, written by the API, deleted by the scheduler that fired it. */
export const TriggerRequestSchema = Type.Object({
  requestId: Type.String(),
  actor: Type.String(),
  requestedAt: Type.String({ description: "ISO 8601; the manual execution's nominal time" }),
});
export type TriggerRequest = Static<typeof TriggerRequestSchema>;

export const triggerRequestDocument = defineDocument('trigger request', TriggerRequestSchema);
