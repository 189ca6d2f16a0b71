import { type AlertCondition, parseAlertRuleSpec } from '@nono/domain';
import { describe, expect, it } from 'vitest';
import { executionFact, firedFact } from '../testing/facts.js';
import {
  type ExecutionEvent,
  type OutcomeCounts,
  type TaskContext,
  clearsAlert,
  conditionsOccurringOn,
  isExecutionEvent,
  lagExceeded,
  occurrenceOf,
  successRateBelow,
} from './conditions.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const execution = (event: ReturnType<typeof executionFact>): ExecutionEvent => {
  if (!isExecutionEvent(event)) throw new TypeError(event.type);
  return event;
};
const context = (counts: OutcomeCounts = { succeeded: 0, total: 0 }): TaskContext => ({
  streak: 0,
  outcomes: () => counts,
});
const openAlert = { condition: 'x', nominalTime: null };

describe('success-rate', () => {
  const rate: Extract<AlertCondition, { kind: 'success-rate' }> = {
    kind: 'success-rate',
    belowPercent: 90,
    windowMs: 600_000,
    minRuns: 4,
  };
  it.each([
    [{ succeeded: 3, total: 4 }, true],
    [{ succeeded: 9, total: 10 }, false],
    [{ succeeded: 0, total: 3 }, undefined],
    [{ succeeded: 0, total: 0 }, undefined],
  ])('%j is below 90 %% over at least 4 runs: %s', (counts, below) => {
    expect(successRateBelow(rate, counts)).toBe(below);
  });

  it('occurs on a final outcome while below, and a final outcome back at or above clears it', () => {
    const failed = execution(executionFact('t', T0, 'failed'));
    expect(occurrenceOf(rate, failed, context({ succeeded: 3, total: 4 }))?.summary).toBe(
      't: 75 % of 4 runs succeeded in the last 600000 ms (below 90 %)',
    );
    // A retried failure is no outcome yet.
    expect(
      occurrenceOf(
        rate,
        execution(executionFact('t', T0, 'retrying-failure')),
        context({ succeeded: 3, total: 4 }),
      ),
    ).toBeUndefined();
    const succeeded = execution(executionFact('t', T0, 'succeeded'));
    expect(clearsAlert(succeeded, openAlert, rate, context({ succeeded: 3, total: 4 }))).toBe(false);
    expect(clearsAlert(succeeded, openAlert, rate, context({ succeeded: 9, total: 10 }))).toBe(true);
    // Too few runs to judge either way: stays open.
    expect(clearsAlert(succeeded, openAlert, rate, context({ succeeded: 2, total: 2 }))).toBe(false);
  });
});

describe('duration-above', () => {
  const slow: AlertCondition = { kind: 'duration-above', thresholdMs: 1_000 };
  it.each([
    ['succeeded', 1_500, true],
    ['failed', 1_500, true],
    ['timed-out', 1_500, true],
    ['succeeded', 1_000, false],
  ] as const)('a %s attempt of %i ms occurs: %s', (outcome, durationMs, occurs) => {
    const event = execution(executionFact('t', T0, outcome, T0 + durationMs));
    expect(occurrenceOf(slow, event, context()) !== undefined).toBe(occurs);
  });
  it('a success within the threshold clears it, a slow one or a fast failure does not', () => {
    expect(
      clearsAlert(execution(executionFact('t', T0, 'succeeded', T0 + 900)), openAlert, slow, context()),
    ).toBe(true);
    expect(
      clearsAlert(execution(executionFact('t', T0, 'succeeded', T0 + 1_900)), openAlert, slow, context()),
    ).toBe(false);
    expect(
      clearsAlert(execution(executionFact('t', T0, 'failed', T0 + 10)), openAlert, slow, context()),
    ).toBe(false);
  });
});

describe('lateness-above', () => {
  const late: AlertCondition = { kind: 'lateness-above', thresholdMs: 500 };
  it('a scheduled fire later than the threshold occurs; a manual run never does', () => {
    expect(occurrenceOf(late, execution(firedFact('t', T0, 800)), context())?.summary).toBe(
      `t at ${new Date(T0).toISOString()} fired 800 ms late (attempt 1), over 500 ms`,
    );
    expect(occurrenceOf(late, execution(firedFact('t', T0, 500)), context())).toBeUndefined();
    expect(occurrenceOf(late, execution(firedFact('t', T0, 5_000, 'manual')), context())).toBeUndefined();
  });
  it('a scheduled fire within the threshold clears it; a success does not', () => {
    expect(clearsAlert(execution(firedFact('t', T0, 20)), openAlert, late, context())).toBe(true);
    expect(clearsAlert(execution(firedFact('t', T0, 900)), openAlert, late, context())).toBe(false);
    expect(clearsAlert(execution(executionFact('t', T0, 'succeeded')), openAlert, late, context())).toBe(
      false,
    );
  });
});

describe('failure conditions and dead-man keep their clearing rule', () => {
  it('any success clears a failure alert; a dead-man alert needs a scheduled success at or after its instant', () => {
    const success = execution(executionFact('t', T0 + 10_000, 'succeeded'));
    expect(
      clearsAlert(success, { condition: 'failed', nominalTime: null }, { kind: 'failed' }, context()),
    ).toBe(true);
    expect(clearsAlert(success, { condition: 'failed', nominalTime: null }, undefined, context())).toBe(true);
    const deadMan: AlertCondition = { kind: 'dead-man', graceMs: 1_000 };
    expect(clearsAlert(success, { condition: 'dead-man', nominalTime: T0 }, deadMan, context())).toBe(true);
    expect(
      clearsAlert(success, { condition: 'dead-man', nominalTime: T0 + 20_000 }, deadMan, context()),
    ).toBe(false);
  });
});

describe('consumer-lag', () => {
  it('is judged only on a known lag', () => {
    const rule = { kind: 'consumer-lag', consumer: 'history', aboveRecords: 100 } as const;
    expect(lagExceeded(rule, { history: 101 })).toBe(true);
    expect(lagExceeded(rule, { history: 100 })).toBe(false);
    expect(lagExceeded(rule, { alerts: 5_000 })).toBeUndefined();
  });
});

describe('cluster conditions in a rule', () => {
  it.each([
    { kind: 'no-scheduler', graceMs: 5_000 },
    { kind: 'scheduler-left' },
    { kind: 'consumer-lag', consumer: 'alerts', aboveRecords: 10 },
  ])('%j takes scope all only', (condition) => {
    const rule = { name: 'r', condition };
    expect(parseAlertRuleSpec({ ...rule, scope: { kind: 'all' } }).ok).toBe(true);
    const refused = parseAlertRuleSpec({ ...rule, scope: { kind: 'task', taskId: 'x' } });
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.issues[0]?.field).toBe('scope');
  });
});

describe('conditionsOccurringOn', () => {
  // Every condition in a form that can occur, against every kind of execution fact, with a
  // context where streaks and rates break every threshold: what occurs must be listed.
  const conditions: AlertCondition[] = [
    { kind: 'failed' },
    { kind: 'timed-out' },
    { kind: 'lost' },
    { kind: 'skipped' },
    { kind: 'misfired' },
    { kind: 'consecutive-failures', count: 2 },
    { kind: 'success-rate', belowPercent: 100, windowMs: 60_000 },
    { kind: 'duration-above', thresholdMs: 1 },
    { kind: 'lateness-above', thresholdMs: 1 },
    { kind: 'dead-man', graceMs: 1_000 },
  ];
  const facts = [
    ...(
      [
        'succeeded',
        'failed',
        'retrying-failure',
        'timed-out',
        'lost',
        'skipped-overlap',
        'misfired-skip',
      ] as const
    ).map((outcome) => execution(executionFact('t', T0, outcome, T0 + 5_000))),
    execution(firedFact('t', T0, 5_000)),
  ];
  it.each(facts.map((fact) => [fact.type, fact] as const))(
    'lists every condition a %s fact can be an occurrence of',
    (_type, fact) => {
      const worst: TaskContext = { streak: 100, outcomes: () => ({ succeeded: 0, total: 10 }) };
      for (const condition of conditions)
        if (occurrenceOf(condition, fact, worst) !== undefined)
          expect(conditionsOccurringOn(fact.type).has(condition.kind)).toBe(true);
    },
  );
});
