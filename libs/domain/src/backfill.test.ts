import { describe, expect, it } from 'vitest';
import {
  attemptAt,
  backfillInstants,
  decodeInstantRuns,
  encodeAttemptRuns,
  encodeInstantRuns,
  selectBackfillFires,
} from './backfill.js';
import { type TaskTiming } from './task.js';

const T0 = Date.parse('2026-11-30T00:00:00.000Z');
const everyMinute: TaskTiming = {
  id: 'bf',
  schedule: { kind: 'interval', everyMs: 60_000 } as TaskTiming['schedule'],
};

describe('backfill plan', () => {
  it('lists the instants of [from, to], both ends included', () => {
    const listed = backfillInstants(everyMinute, T0, T0 + 3 * 60_000, 100);
    expect(listed).toEqual({ ok: true, instants: [T0, T0 + 60_000, T0 + 120_000, T0 + 180_000] });
  });

  it('refuses more instants than the bound', () => {
    expect(backfillInstants(everyMinute, T0, T0 + 10 * 60_000, 10)).toEqual({ ok: false, tooMany: true });
  });

  it.each([
    ['leaves out what succeeded', false, [T0 + 60_000], [T0, T0 + 120_000]],
    ['fires everything when forced', true, [], [T0, T0 + 60_000, T0 + 120_000]],
  ])('%s', (_name, force, left, fired) => {
    const prior = new Map([
      [T0, { status: 'failed', attempts: 3 }],
      [T0 + 60_000, { status: 'succeeded', attempts: 1 }],
    ]);
    const selected = selectBackfillFires([T0, T0 + 60_000, T0 + 120_000], prior, force);
    expect(selected.alreadySucceeded).toEqual(left);
    expect(selected.fire.map((f) => f.nominal)).toEqual(fired);
    // Further attempts of the same execution: after the 3 it had, the backfill's call is the 4th.
    expect(selected.fire[0]).toEqual({ nominal: T0, firstAttempt: 4 });
    expect(selected.fire.at(-1)).toEqual({ nominal: T0 + 120_000, firstAttempt: 1 });
  });

  it.each([
    [[]],
    [[T0]],
    [[T0, T0 + 5]],
    [Array.from({ length: 1_440 }, (_, i) => T0 + i * 60_000)],
    // A gap (an instant that succeeded) and an uneven step (a DST day) break the runs.
    [[T0, T0 + 60_000, T0 + 180_000, T0 + 240_000, T0 + 300_000, T0 + 3_900_000, T0 + 3_960_000]],
  ])('encodes instants as runs that decode to the same list (%#)', (instants) => {
    const runs = encodeInstantRuns(instants);
    expect(decodeInstantRuns(runs)).toEqual(instants);
    if (instants.length === 1_440) expect(runs).toEqual([[T0, 60_000, 1_440]]);
  });

  it('keeps the attempt numbers as runs by index', () => {
    const fires = [1, 1, 4, 4, 1, 2].map((firstAttempt, i) => ({ nominal: T0 + i, firstAttempt }));
    const runs = encodeAttemptRuns(fires).filter(([, attempt]) => attempt !== 1);
    expect(runs).toEqual([
      [2, 4, 2],
      [5, 2, 1],
    ]);
    expect(fires.map((_, i) => attemptAt(runs, i))).toEqual([1, 1, 4, 4, 1, 2]);
  });
});
