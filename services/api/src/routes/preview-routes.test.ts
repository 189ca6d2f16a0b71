import { TimeZone } from '@nono/domain';
import { describe, expect, it } from 'vitest';
import { formatLocal } from './preview-routes.js';

describe('local time in previews', () => {
  it.each([
    [Date.parse('2026-03-29T01:00:00Z'), 'Europe/Paris', '2026-03-29T03:00:00.000+02:00'],
    [Date.parse('2026-01-15T12:00:00Z'), 'America/St_Johns', '2026-01-15T08:30:00.000-03:30'],
    [Date.parse('2026-01-15T12:00:00Z'), 'UTC', '2026-01-15T12:00:00.000+00:00'],
  ])('%s in %s is %s', (instant, zone, local) => {
    expect(formatLocal(instant, new TimeZone(zone))).toBe(local);
  });
});
