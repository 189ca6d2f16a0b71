import { type Schedule, TimeZone } from '@nono/domain';
import { describe, expect, it } from 'vitest';
import { formatLocal, previewFireTimes } from './preview-routes.js';

describe('local time in previews', () => {
  it.each([
    [Date.parse('2026-03-29T01:00:00Z'), 'Europe/Paris', '2026-03-29T03:00:00.000+02:00'],
    [Date.parse('2026-01-15T12:00:00Z'), 'America/St_Johns', '2026-01-15T08:30:00.000-03:30'],
    [Date.parse('2026-01-15T12:00:00Z'), 'UTC', '2026-01-15T12:00:00.000+00:00'],
  ])('%s in %s is %s', (instant, zone, local) => {
    expect(formatLocal(instant, new TimeZone(zone))).toBe(local);
  });
});

describe('previews show what DST does to a schedule', () => {
  const cron = (expression: string, timeZone: string): Schedule => ({
    kind: 'cron',
    expression,
    timeZone,
    jitterMs: 0,
  });
  it.each([
    [
      'a daily 02:30 at fall-back in Paris fires at the first',
      cron('30 2 * * *', 'Europe/Paris'),
      '2026-10-01T00:00:00Z',
      'on 2026-10-25 02:30 occurs twice (clocks go back from 03:00 to 02:00); fires at the first only',
    ],
    [
      'every 15 minutes at fall-back in Paris runs through both passes',
      cron('*/15 * * * *', 'Europe/Paris'),
      '2026-10-01T00:00:00Z',
      'on 2026-10-25 the 4 times from 02:00 to 02:45 occur twice (clocks go back from 03:00 to 02:00); fires at both',
    ],
    [
      'a daily 02:00 at spring-forward in New York fires when the gap ends',
      cron('0 2 * * *', 'America/New_York'),
      '2026-03-01T00:00:00Z',
      'on 2026-03-08 02:00 does not exist (clocks go forward from 02:00 to 03:00); fires once at 03:00 instead',
    ],
    [
      "Lord Howe's half-hour gap",
      cron('15 2 * * *', 'Australia/Lord_Howe'),
      '2026-09-01T00:00:00Z',
      'on 2026-10-04 02:15 does not exist (clocks go forward from 02:00 to 02:30); fires once at 02:30 instead',
    ],
  ])('%s', (_name, schedule, after, message) => {
    const preview = previewFireTimes({ id: 'p', schedule }, Date.parse(after), 3);
    expect(preview.dstEffects[0]?.message).toBe(message);
  });

  it('has nothing to say about intervals', () => {
    const schedule: Schedule = { kind: 'interval', everyMs: 60_000, jitterMs: 0 };
    expect(previewFireTimes({ id: 'p', schedule }, Date.parse('2026-10-01T00:00:00Z'), 3).dstEffects).toEqual(
      [],
    );
  });
});
