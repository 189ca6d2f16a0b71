import { describe, expect, it } from 'vitest';
import { planDueFires } from './fire-plan.js';
import { type SchedulerTask, createTask, parseTaskSpec } from './task.js';

const T0 = Date.parse('2026-06-01T00:00:00Z');
function everySecond(misfire: Partial<SchedulerTask['misfire']> = {}): SchedulerTask {
  const spec = parseTaskSpec(
    {
      name: 't',
      schedule: { kind: 'interval', everyMs: 1000 },
      target: { url: 'http://127.0.0.1/' },
      misfire,
    },
    T0,
  );
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  return createTask('t', spec.value, T0);
}
const opts = { misfireThresholdMs: 1500, runsLeft: Infinity };

describe('planDueFires', () => {
  it('fires the on-time instant and nothing else in steady state', () => {
    const plan = planDueFires(everySecond(), T0 + 4000, T0 + 5010, opts);
    expect(plan).toEqual({
      fire: [{ nominal: T0 + 5000, onTime: true }],
      misfired: [],
      expired: [],
      overRunLimit: [],
      excluded: [],
      advanceTo: T0 + 5000,
    });
  });

  it('leaves out the instants an exclusion calendar rules out, and advances past them', () => {
    const excludedBy = (nominal: number) => (nominal === T0 + 5000 ? 'holidays' : undefined);
    const plan = planDueFires(everySecond(), T0 + 4000, T0 + 4700, { ...opts, until: T0 + 6000, excludedBy });
    expect(plan.fire).toEqual([{ nominal: T0 + 6000, onTime: true }]);
    expect(plan.excluded).toEqual([{ nominal: T0 + 5000, calendar: 'holidays' }]);
    expect(plan.advanceTo).toBe(T0 + 6000);
    // An excluded instant is not a run: one run left still fires the next instant.
    const limited = planDueFires(everySecond(), T0 + 4000, T0 + 4700, {
      ...opts,
      runsLeft: 1,
      until: T0 + 6000,
      excludedBy,
    });
    expect(limited.fire).toEqual([{ nominal: T0 + 6000, onTime: true }]);
    expect(limited.overRunLimit).toEqual([]);
  });

  it('plans instants up to `until` ahead of now, as on time (claiming before the instant)', () => {
    const plan = planDueFires(everySecond(), T0 + 4000, T0 + 4700, { ...opts, until: T0 + 6000 });
    expect(plan.fire).toEqual([
      { nominal: T0 + 5000, onTime: true },
      { nominal: T0 + 6000, onTime: true },
    ]);
    expect(plan.advanceTo).toBe(T0 + 6000);
    // Missed instants are still judged against now, not against the horizon.
    const late = planDueFires(everySecond(), T0, T0 + 4700, { ...opts, until: T0 + 5000 });
    expect(late.misfired.map((m) => m.nominal)).toEqual([T0 + 1000, T0 + 2000, T0 + 3000]);
    expect(late.fire.map((f) => f.nominal)).toEqual([T0 + 4000, T0 + 5000]);
  });

  it('returns nothing when nothing is due', () => {
    expect(planDueFires(everySecond(), T0 + 5000, T0 + 5999, opts).fire).toEqual([]);
  });

  it('fire-once (default): one catch-up fire stands for all missed instants', () => {
    const plan = planDueFires(everySecond(), T0, T0 + 8_500, opts); // due 1..8 s; 7 s and 8 s are within 1.5 s
    expect(plan.fire).toEqual([
      { nominal: T0 + 7000, onTime: true },
      { nominal: T0 + 8000, onTime: true },
    ]);
    expect(plan.misfired.map((m) => m.action)).toEqual(Array(6).fill('skip'));
    const allMissed = planDueFires(everySecond(), T0, T0 + 12_900, { ...opts, misfireThresholdMs: 100 });
    expect(allMissed.fire).toEqual([{ nominal: T0 + 12_000, onTime: false }]);
    expect(allMissed.misfired.filter((m) => m.action === 'fire').map((m) => m.nominal)).toEqual([
      T0 + 12_000,
    ]);
    expect(allMissed.advanceTo).toBe(T0 + 12_000);
  });

  it('fires every late-but-not-missed instant after a short stall (regression: a 4 s stall used to skip 3 instants)', () => {
    const plan = planDueFires(everySecond(), T0, T0 + 4_200, { ...opts, misfireThresholdMs: 5_000 });
    expect(plan.fire.map((f) => f.nominal - T0)).toEqual([1000, 2000, 3000, 4000]);
    expect(plan.misfired).toEqual([]);
  });

  it('fire-all: every missed instant in order, bounded by maxCatchUp (the newest ones)', () => {
    const plan = planDueFires(everySecond({ policy: 'fire-all', maxCatchUp: 3 }), T0, T0 + 6_900, {
      ...opts,
      misfireThresholdMs: 100,
    });
    expect(plan.fire.map((f) => f.nominal - T0)).toEqual([4000, 5000, 6000]);
    expect(plan.misfired.map((m) => `${m.nominal - T0}:${m.action}`)).toEqual([
      '1000:skip',
      '2000:skip',
      '3000:skip',
      '4000:fire',
      '5000:fire',
      '6000:fire',
    ]);
  });

  it('skip: missed instants are recorded and not fired', () => {
    const plan = planDueFires(everySecond({ policy: 'skip' }), T0, T0 + 5_900, {
      ...opts,
      misfireThresholdMs: 100,
    });
    expect(plan.fire).toEqual([]);
    expect(plan.misfired).toHaveLength(5);
    expect(plan.advanceTo).toBe(T0 + 5000);
  });

  it('never fires instants older than the catch-up window, listing them to be recorded as skipped', () => {
    const plan = planDueFires(everySecond({ policy: 'fire-all', catchUpWindowMs: 3000 }), T0, T0 + 10_200, {
      ...opts,
      misfireThresholdMs: 100,
    });
    expect(plan.expired.map((nominal) => nominal - T0)).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000]);
    expect(plan.fire.map((f) => f.nominal - T0)).toEqual([8000, 9000, 10_000]);
  });

  it('never plans more fires than maxRuns leaves', () => {
    const plan = planDueFires(everySecond({ policy: 'fire-all' }), T0, T0 + 5_900, {
      misfireThresholdMs: 100,
      runsLeft: 2,
    });
    expect(plan.fire.map((f) => f.nominal - T0)).toEqual([4000, 5000]);
    expect(plan.overRunLimit.map((nominal) => nominal - T0)).toEqual([1000, 2000, 3000]);
    expect(
      planDueFires(everySecond(), T0, T0 + 1_000, { misfireThresholdMs: 100, runsLeft: 0 }).fire,
    ).toEqual([]);
  });

  it('does not fire again after a clock jump back (lastNominal only moves forward)', () => {
    expect(planDueFires(everySecond(), T0 + 60_000, T0 + 30_000, opts)).toMatchObject({
      fire: [],
      advanceTo: undefined,
    });
  });
});
