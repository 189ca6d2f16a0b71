import { describe, expect, it } from 'vitest';
import { type Schedule, jitterOffsetMs, nextFireTimes, parseSchedule } from './schedule.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (instants: number[]): string[] => instants.map((ms) => new Date(ms).toISOString());

function cron(
  expression: string,
  timeZone = 'UTC',
  dst?: Schedule extends infer S ? (S extends { kind: 'cron'; dst?: infer D } ? D : never) : never,
): Schedule {
  const parsed = parseSchedule({ kind: 'cron', expression, timeZone, ...(dst === undefined ? {} : { dst }) });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

describe('nextFireTimes: cron in UTC', () => {
  it.each([
    [
      'every 15 s, seconds field',
      '*/15 * * * * *',
      '2026-01-01T00:00:07Z',
      3,
      ['2026-01-01T00:00:15.000Z', '2026-01-01T00:00:30.000Z', '2026-01-01T00:00:45.000Z'],
    ],
    ['strictly after an exact match', '0 * * * *', '2026-01-01T05:00:00Z', 1, ['2026-01-01T06:00:00.000Z']],
    [
      '29 February only in leap years',
      '0 0 29 2 *',
      '2026-01-01T00:00:00Z',
      2,
      ['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z'],
    ],
    [
      'last day of month (L)',
      '0 12 L * *',
      '2028-01-15T00:00:00Z',
      3,
      ['2028-01-31T12:00:00.000Z', '2028-02-29T12:00:00.000Z', '2028-03-31T12:00:00.000Z'],
    ],
    [
      'day 31 skips short months',
      '0 0 31 * *',
      '2026-03-31T00:00:00Z',
      2,
      ['2026-05-31T00:00:00.000Z', '2026-07-31T00:00:00.000Z'],
    ],
    [
      'year end rollover',
      '59 23 31 12 *',
      '2026-06-01T00:00:00Z',
      2,
      ['2026-12-31T23:59:00.000Z', '2027-12-31T23:59:00.000Z'],
    ],
    ['predefined @daily', '@daily', '2026-01-01T10:00:00Z', 1, ['2026-01-02T00:00:00.000Z']],
  ])('%s', (_name, expression, after, count, expected) => {
    expect(iso(nextFireTimes(cron(expression), at(after), count))).toEqual(expected);
  });
});

describe('nextFireTimes: cron in a zone, across DST', () => {
  // Europe/Paris 2026: 29 March 02:00 CET -> 03:00 CEST (gap), 25 October 03:00 CEST -> 02:00 CET (02:xx twice).
  // America/New_York 2026: 8 March 02:00 -> 03:00, 1 November 02:00 EDT -> 01:00 EST (01:xx twice).
  it.each([
    [
      'plain local time, winter',
      '30 9 * * *',
      'Europe/Paris',
      undefined,
      '2026-01-10T00:00:00Z',
      2,
      ['2026-01-10T08:30:00.000Z', '2026-01-11T08:30:00.000Z'],
    ],
    [
      'plain local time, summer',
      '30 9 * * *',
      'Europe/Paris',
      undefined,
      '2026-07-10T00:00:00Z',
      1,
      ['2026-07-10T07:30:00.000Z'],
    ],
    [
      'gap, shift (default): fires when the gap ends',
      '30 2 * * *',
      'Europe/Paris',
      undefined,
      '2026-03-28T12:00:00Z',
      3,
      ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z'],
    ],
    [
      'gap, skip',
      '30 2 * * *',
      'Europe/Paris',
      { gap: 'skip', overlap: 'first' },
      '2026-03-28T12:00:00Z',
      2,
      ['2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z'],
    ],
    [
      'gap, shift collapses the slots of the missing hour into one fire',
      '*/30 * * * *',
      'Europe/Paris',
      { gap: 'shift', overlap: 'first' },
      '2026-03-29T00:15:00Z',
      3,
      ['2026-03-29T00:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T01:30:00.000Z'],
    ],
    [
      'overlap, first (default)',
      '30 2 * * *',
      'Europe/Paris',
      undefined,
      '2026-10-24T12:00:00Z',
      2,
      ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
    ],
    [
      'overlap, last',
      '30 2 * * *',
      'Europe/Paris',
      { gap: 'shift', overlap: 'last' },
      '2026-10-24T12:00:00Z',
      2,
      ['2026-10-25T01:30:00.000Z', '2026-10-26T01:30:00.000Z'],
    ],
    [
      'overlap, both',
      '30 2 * * *',
      'Europe/Paris',
      { gap: 'shift', overlap: 'both' },
      '2026-10-24T12:00:00Z',
      3,
      ['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-26T01:30:00.000Z'],
    ],
    [
      'overlap, both, frequent cron stays in instant order',
      '*/30 * * * *',
      'Europe/Paris',
      { gap: 'shift', overlap: 'both' },
      '2026-10-24T23:45:00Z',
      5,
      [
        '2026-10-25T00:00:00.000Z',
        '2026-10-25T00:30:00.000Z',
        '2026-10-25T01:00:00.000Z',
        '2026-10-25T01:30:00.000Z',
        '2026-10-25T02:00:00.000Z',
      ],
    ],
    [
      'overlap, first, frequent cron skips the repeated half hours',
      '*/30 * * * *',
      'Europe/Paris',
      { gap: 'shift', overlap: 'first' },
      '2026-10-24T23:45:00Z',
      3,
      ['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T02:00:00.000Z'],
    ],
    [
      'overlap, default for a wildcard cron: both passes, like cronie',
      '*/30 * * * *',
      'Europe/Paris',
      undefined,
      '2026-10-24T23:45:00Z',
      5,
      [
        '2026-10-25T00:00:00.000Z',
        '2026-10-25T00:30:00.000Z',
        '2026-10-25T01:00:00.000Z',
        '2026-10-25T01:30:00.000Z',
        '2026-10-25T02:00:00.000Z',
      ],
    ],
    [
      'gap, default for a wildcard cron: skipped readings do not fire',
      '10 * * * *',
      'Europe/Paris',
      undefined,
      '2026-03-29T00:30:00Z',
      2,
      ['2026-03-29T01:10:00.000Z', '2026-03-29T02:10:00.000Z'],
    ],
    [
      'overlap, last, starting inside the first pass',
      '*/30 * * * *',
      'Europe/Paris',
      { gap: 'shift', overlap: 'last' },
      '2026-10-25T00:10:00Z',
      2,
      ['2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z'],
    ],
    [
      'New York fall-back, both',
      '30 1 * * *',
      'America/New_York',
      { gap: 'shift', overlap: 'both' },
      '2026-10-31T12:00:00Z',
      3,
      ['2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z', '2026-11-02T06:30:00.000Z'],
    ],
    [
      'New York spring-forward, shift',
      '0 2 * * *',
      'America/New_York',
      undefined,
      '2026-03-07T12:00:00Z',
      2,
      ['2026-03-08T07:00:00.000Z', '2026-03-09T06:00:00.000Z'],
    ],
    [
      'New York spring-forward, skip',
      '0 2 * * *',
      'America/New_York',
      { gap: 'skip', overlap: 'first' },
      '2026-03-07T12:00:00Z',
      2,
      ['2026-03-09T06:00:00.000Z', '2026-03-10T06:00:00.000Z'],
    ],
    [
      'Lord Howe: a 30-minute DST shift',
      '15 2 * * *',
      'Australia/Lord_Howe',
      { gap: 'skip', overlap: 'first' },
      '2026-10-03T00:00:00Z',
      1,
      ['2026-10-04T15:15:00.000Z'],
    ],
    [
      'leap day in a zone',
      '0 8 29 2 *',
      'Asia/Tokyo',
      undefined,
      '2026-01-01T00:00:00Z',
      1,
      ['2028-02-28T23:00:00.000Z'],
    ],
  ] as const)('%s', (_name, expression, zone, dst, after, count, expected) => {
    expect(iso(nextFireTimes(cron(expression, zone, dst), at(after), count))).toEqual(expected);
  });

  it('is the same when enumerated in one call or one instant at a time', () => {
    const schedule = cron('*/20 * * * *', 'Europe/Paris', { gap: 'shift', overlap: 'both' });
    const all = nextFireTimes(schedule, at('2026-10-24T22:00:00Z'), 20);
    const stepwise: number[] = [];
    let cursor = at('2026-10-24T22:00:00Z');
    for (let i = 0; i < 20; i++) {
      const [next] = nextFireTimes(schedule, cursor, 1);
      stepwise.push(next!);
      cursor = next!;
    }
    expect(stepwise).toEqual(all);
    expect([...all].sort((a, b) => a - b)).toEqual(all);
  });
});

describe('nextFireTimes: interval and once', () => {
  it('aligns intervals to the epoch by default, so every scheduler computes the same instants', () => {
    const schedule: Schedule = { kind: 'interval', everyMs: 5_000, jitterMs: 0 };
    expect(iso(nextFireTimes(schedule, at('2026-01-01T00:00:01.234Z'), 3))).toEqual([
      '2026-01-01T00:00:05.000Z',
      '2026-01-01T00:00:10.000Z',
      '2026-01-01T00:00:15.000Z',
    ]);
  });

  it('counts from the anchor, also for instants before it', () => {
    const schedule: Schedule = {
      kind: 'interval',
      everyMs: 60_000,
      anchorAt: '2026-01-01T00:00:30Z',
      jitterMs: 0,
    };
    expect(iso(nextFireTimes(schedule, at('2025-12-31T23:59:00Z'), 2))).toEqual([
      '2025-12-31T23:59:30.000Z',
      '2026-01-01T00:00:30.000Z',
    ]);
  });

  it('fires a one-shot once, then never', () => {
    const schedule: Schedule = { kind: 'once', at: '2026-05-01T10:00:00+02:00', jitterMs: 0 };
    expect(iso(nextFireTimes(schedule, at('2026-01-01T00:00:00Z'), 5))).toEqual(['2026-05-01T08:00:00.000Z']);
    expect(nextFireTimes(schedule, at('2026-05-01T08:00:00Z'), 5)).toEqual([]);
  });
});

describe('parseSchedule', () => {
  it.each([
    [
      'a cron value out of range',
      { kind: 'cron', expression: '61 * * * *' },
      'schedule.expression',
      /Constraint error/,
    ],
    ['a cron with 4 fields', { kind: 'cron', expression: '* * * *' }, 'schedule.expression', /5 fields/],
    [
      'a cron with 7 fields',
      { kind: 'cron', expression: '0 0 0 * * * 2026' },
      'schedule.expression',
      /got 7/,
    ],
    [
      'a cron that can never fire',
      { kind: 'cron', expression: '0 0 30 2 *' },
      'schedule.expression',
      /not a valid cron/,
    ],
    [
      'an unknown zone',
      { kind: 'cron', expression: '0 * * * *', timeZone: 'Mars/Olympus_Mons' },
      'schedule.timeZone',
      /unknown IANA time zone "Mars\/Olympus_Mons"/,
    ],
    ['a zero interval', { kind: 'interval', everyMs: 0 }, 'schedule.everyMs', /at least 100 ms \(got 0\)/],
    ['a negative interval', { kind: 'interval', everyMs: -5 }, 'schedule.everyMs', /at least 100 ms/],
    ['a fractional interval', { kind: 'interval', everyMs: 1.5 }, 'schedule.everyMs', /integer/i],
    // Found by schemathesis: the preview of such an interval answered 500 (an Invalid Date).
    [
      'an interval past ten years',
      { kind: 'interval', everyMs: 6.459e22 },
      'schedule.everyMs',
      /316224000000/,
    ],
    ['a one-shot with no offset', { kind: 'once', at: '2030-01-01T10:00:00' }, 'schedule.at', /RFC 3339/],
    ['a one-shot in words', { kind: 'once', at: 'tomorrow' }, 'schedule.at', /RFC 3339/],
    ['an unknown kind', { kind: 'weekly' }, 'schedule.kind', /cron, interval, once/],
    ['not an object', 'every day', 'schedule', /must be an object/],
    ['an unknown field', { kind: 'interval', everyMs: 1000, every: 5 }, 'schedule.every', /unknown field/],
    [
      'a bad DST policy',
      { kind: 'cron', expression: '0 * * * *', dst: { gap: 'later' } },
      'schedule.dst.gap',
      /./,
    ],
    ['too much jitter', { kind: 'interval', everyMs: 1000, jitterMs: 99_999_999 }, 'schedule.jitterMs', /./],
  ])('rejects %s, naming the field', (_name, input, field, message) => {
    const result = parseSchedule(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const issue = result.issues.find((i) => i.field === field);
    expect(issue, JSON.stringify(result.issues)).toBeDefined();
    expect(issue!.message).toMatch(message);
  });

  it('defaults the zone to UTC and jitter to 0', () => {
    expect(parseSchedule({ kind: 'cron', expression: '0 9 * * 1-5' })).toEqual({
      ok: true,
      value: { kind: 'cron', expression: '0 9 * * 1-5', timeZone: 'UTC', jitterMs: 0 },
    });
  });
});

describe('jitterOffsetMs', () => {
  it('is deterministic, bounded and spreads occurrences', () => {
    const offsets = Array.from({ length: 1000 }, (_, i) =>
      jitterOffsetMs('task-a', 1_000_000 + i * 1000, 500),
    );
    expect(offsets).toEqual(
      Array.from({ length: 1000 }, (_, i) => jitterOffsetMs('task-a', 1_000_000 + i * 1000, 500)),
    );
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...offsets)).toBeLessThanOrEqual(500);
    expect(new Set(offsets).size).toBeGreaterThan(300);
    expect(jitterOffsetMs('task-a', 1, 0)).toBe(0);
  });
});
