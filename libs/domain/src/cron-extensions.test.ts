import { describe, expect, it } from 'vitest';
import { type Schedule, parseSchedule } from './schedule.js';
import { type SchedulerTask, nextTaskFireTime } from './task.js';

const at = (iso: string): number => Date.parse(iso);

function cronTask(id: string, expression: string, timeZone = 'UTC', dst?: object): SchedulerTask {
  const parsed = parseSchedule({ kind: 'cron', expression, timeZone, ...(dst === undefined ? {} : { dst }) });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const schedule: Schedule = parsed.value;
  return {
    id,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    revision: 1,
    name: id,
    description: '',
    schedule,
    target: { method: 'POST', url: 'http://127.0.0.1:1/', headers: {}, timeoutMs: 1000, success: {} },
    retry: { maxAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0, multiplier: 1 },
    misfire: { policy: 'fire-once', catchUpWindowMs: 0, maxCatchUp: 1 },
    overlap: 'skip',
    paused: false,
    rerunLost: false,
    labels: {},
  };
}

function fires(task: SchedulerTask, after: string, count: number): string[] {
  const out: string[] = [];
  let cursor = at(after);
  for (let i = 0; i < count; i++) {
    const next = nextTaskFireTime(task, cursor);
    if (next === undefined) break;
    out.push(new Date(next).toISOString());
    cursor = next;
  }
  return out;
}

describe('H: a value hashed from the task id', () => {
  it('gives the same instant on every call for the same task', () => {
    const task = cronTask('nightly-report', '0 H * * *');
    const first = fires(task, '2026-06-01T00:00:00Z', 3);
    for (let i = 0; i < 20; i++) expect(fires(task, '2026-06-01T00:00:00Z', 3)).toEqual(first);
    // Once a day, at the same hour every day.
    expect(new Set(first.map((iso) => iso.slice(11)))).toHaveLength(1);
  });

  it('spreads tasks over the field', () => {
    const hours = new Set(
      Array.from({ length: 200 }, (_, i) =>
        fires(cronTask(`task-${i}`, '0 H * * *'), '2026-06-01T00:00:00Z', 1)[0]?.slice(11, 13),
      ),
    );
    expect(hours.size).toBeGreaterThan(18);
  });

  it.each([
    ['H(0-29) stays in its range', 'H(0-29) * * * *', (m: number) => m >= 0 && m <= 29],
    ['H/15 fires four times an hour at the same offset', 'H/15 * * * *', (m: number) => m < 60],
  ])('%s', (_name, expression, inRange) => {
    for (let i = 0; i < 50; i++) {
      const minutes = fires(cronTask(`t${i}`, expression), '2026-06-01T00:00:00Z', 8).map((iso) =>
        Number(iso.slice(14, 16)),
      );
      expect(minutes.every(inRange)).toBe(true);
      if (expression.startsWith('H/15')) {
        expect(new Set(minutes.map((m) => m % 15)).size).toBe(1);
        expect(new Set(minutes).size).toBe(4);
      } else expect(new Set(minutes).size).toBe(1);
    }
  });
});

describe('W and LW: nearest weekday', () => {
  it.each([
    // 2026-08-15 is a Saturday: the nearest weekday is Friday the 14th.
    [
      '15W, the 15th a Saturday',
      '0 9 15W * *',
      '2026-08-01T00:00:00Z',
      ['2026-08-14T09:00:00.000Z', '2026-09-15T09:00:00.000Z'],
    ],
    // 2026-11-15 is a Sunday: Monday the 16th.
    [
      '15W, the 15th a Sunday',
      '0 9 15W * *',
      '2026-11-01T00:00:00Z',
      ['2026-11-16T09:00:00.000Z', '2026-12-15T09:00:00.000Z'],
    ],
    // 2026-08-01 is a Saturday: W never leaves the month, so Monday the 3rd.
    [
      '1W, the 1st a Saturday',
      '0 9 1W * *',
      '2026-07-31T12:00:00Z',
      ['2026-08-03T09:00:00.000Z', '2026-09-01T09:00:00.000Z'],
    ],
    // 2026-05-31 is a Sunday, 2026-10-31 a Saturday: Fridays 29th and 30th.
    [
      'LW, last weekday',
      '0 9 LW * *',
      '2026-05-01T00:00:00Z',
      ['2026-05-29T09:00:00.000Z', '2026-06-30T09:00:00.000Z', '2026-07-31T09:00:00.000Z'],
    ],
  ])('%s', (_name, expression, after, expected) => {
    expect(fires(cronTask('w', expression), after, expected.length)).toEqual(expected);
  });
});

describe('day-of-month with day-of-week (Vixie cron)', () => {
  it.each([
    // Both restricted: either matches. 2026-06-01 is a Monday.
    [
      'both restricted: the 15th or any Monday',
      '0 0 15 * 1',
      '2026-06-01T00:00:00Z',
      ['2026-06-08T00:00:00.000Z', '2026-06-15T00:00:00.000Z', '2026-06-22T00:00:00.000Z'],
    ],
    // A field starting with * is unrestricted: odd days that are Mondays.
    [
      '*/2 with Monday: odd-day Mondays',
      '0 0 */2 * 1',
      '2026-06-01T00:00:00Z',
      ['2026-06-15T00:00:00.000Z', '2026-06-29T00:00:00.000Z', '2026-07-13T00:00:00.000Z'],
    ],
    [
      '1-7 with Friday: either (first week or Fridays)',
      '0 0 1-7 * 5',
      '2026-06-07T12:00:00Z',
      [
        '2026-06-12T00:00:00.000Z',
        '2026-06-19T00:00:00.000Z',
        '2026-06-26T00:00:00.000Z',
        '2026-07-01T00:00:00.000Z',
      ],
    ],
  ])('%s', (_name, expression, after, expected) => {
    expect(fires(cronTask('d', expression), after, expected.length)).toEqual(expected);
  });
});

describe('frequent cron at fall-back (default DST policy)', () => {
  it('*/15 in Paris runs through both passes of 02:00-03:00 on 2026-10-25, like cronie', () => {
    const all = fires(cronTask('f', '*/15 * * * *', 'Europe/Paris'), '2026-10-24T23:50:00Z', 10);
    expect(all).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:15:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T00:45:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:15:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T01:45:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T02:15:00.000Z',
    ]);
  });

  it('a fixed-time job (30 2 * * *) still fires once, at the first 02:30', () => {
    expect(fires(cronTask('g', '30 2 * * *', 'Europe/Paris'), '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });
});
