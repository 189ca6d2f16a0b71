import { describe, expect, it } from 'vitest';
import {
  type LedgerAction,
  type LedgerDefinition,
  type LedgerExecution,
  type LedgerInput,
  type LedgerManualRequest,
  buildLedger,
  ledgerHasViolations,
  staleActions,
} from './ledger.js';
import { shardExecutionId } from './instant-units.js';
import { manualExecutionId, scheduledExecutionId } from './occurrence.js';
import { type SchedulerTask, createTask, parseTaskSpec, reviseTask, taskSpecOf } from './task.js';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const S = 1000;
const rules = { pendingMs: 5 * S, transitionMs: 500, maxInstants: 1000 };

/** A task created at `at` firing every `everyMs` (timeout 1 s, so its execution budget is 1 s). */
function task(at: number, everyMs = S, extra: Record<string, unknown> = {}): SchedulerTask {
  const spec = parseTaskSpec(
    {
      name: 't',
      schedule: { kind: 'interval', everyMs },
      target: { url: 'http://127.0.0.1/', timeoutMs: 1000 },
      ...extra,
    },
    at,
  );
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  return createTask('t', spec.value, at);
}

function revise(previous: SchedulerTask, at: number, change: Partial<SchedulerTask>): SchedulerTask {
  return reviseTask(previous, { ...taskSpecOf(previous), ...change }, at);
}

interface Fire {
  readonly nominal: number;
  readonly status?: string;
  readonly scheduler?: string;
  readonly token?: number;
  readonly attempt?: number;
  readonly at?: number;
  readonly kind?: LedgerAction['kind'];
  readonly detail?: string;
  readonly executionId?: string;
}

function action(f: Fire): LedgerAction {
  return {
    executionId: f.executionId ?? scheduledExecutionId('t', f.nominal),
    nominal: f.nominal,
    kind: f.kind ?? 'fired',
    attempt: f.attempt ?? 1,
    schedulerId: f.scheduler ?? 's1',
    fencingToken: f.token ?? f.nominal / S,
    at: f.at ?? f.nominal + 3,
    detail: f.detail,
  };
}

function execution(f: Fire): LedgerExecution {
  return {
    executionId: f.executionId ?? scheduledExecutionId('t', f.nominal),
    nominal: f.nominal,
    reason: f.executionId === undefined ? 'scheduled' : 'manual',
    status: f.status ?? 'succeeded',
    attempts: f.attempt ?? 1,
    error: undefined,
  };
}

/** Fires at the given instants, each one execution with one action. */
function fired(...fires: Fire[]): Pick<LedgerInput, 'executions' | 'actions'> {
  return { executions: fires.map(execution), actions: fires.map(action) };
}

function ledger(
  definitions: LedgerDefinition[],
  facts: Pick<LedgerInput, 'executions' | 'actions'>,
  window: { from: number; to: number; now?: number },
  manualRequests: LedgerManualRequest[] = [],
) {
  const result = buildLedger({
    from: window.from,
    to: window.to,
    now: window.now ?? window.to + 60 * S,
    definitions,
    manualRequests,
    rules,
    ...facts,
  });
  if (!result.ok) throw new Error(`too many instants: ${result.dueCount}`);
  return result;
}

const seconds = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => T0 + (from + i) * S);
const created = task(T0 - 10 * S);
const defined: LedgerDefinition = { at: T0 - 10 * S, task: created };

describe('buildLedger', () => {
  it('lists every due instant with its outcome, and nothing flagged when each fired once', () => {
    const { entries, summary } = ledger([defined], fired(...seconds(0, 10).map((nominal) => ({ nominal }))), {
      from: T0,
      to: T0 + 10 * S,
    });
    expect(entries.map((e) => [e.nominal - T0, e.due, e.outcome, e.flags])).toEqual(
      seconds(0, 10).map((t) => [t - T0, 'schedule', 'succeeded', []]),
    );
    expect(summary).toMatchObject({
      due: 10,
      fired: 10,
      succeeded: 10,
      unaccounted: 0,
      doubled: 0,
      stale: 0,
    });
    expect(ledgerHasViolations(summary)).toBe(false);
  });

  it.each([
    // [what, now relative to T0, expected outcome of the instant at T0 + 5 s]
    ['an instant older than its budget plus the pending margin is unaccounted', 60 * S, 'unaccounted'],
    ['an instant within its budget plus the pending margin is pending', 5 * S + 5_999, 'pending'],
    ['at exactly nominal + budget + pending margin it is unaccounted', 5 * S + 6_000, 'unaccounted'],
  ])('%s', (_what, now, outcome) => {
    const facts = fired(...seconds(0, 5).map((nominal) => ({ nominal })));
    const { entries, summary } = ledger([defined], facts, { from: T0, to: T0 + 6 * S, now: T0 + now });
    expect(entries.at(-1)).toMatchObject({ nominal: T0 + 5 * S, outcome, executions: [] });
    expect(summary.unaccounted).toBe(outcome === 'unaccounted' ? 1 : 0);
    expect(summary.pending).toBe(outcome === 'pending' ? 1 : 0);
  });

  describe('maxRuns', () => {
    const limited = task(T0 - 10 * S, S, { maxRuns: 5 });
    const limitedDefined: LedgerDefinition = { at: T0 - 10 * S, task: limited };

    it('lists no instant after the last run the task allows', () => {
      const facts = fired(...seconds(0, 5).map((nominal) => ({ nominal })));
      const { entries, summary } = ledger([limitedDefined], facts, { from: T0, to: T0 + 10 * S });
      expect(entries.map((e) => e.nominal)).toEqual(seconds(0, 5));
      expect(summary.unaccounted).toBe(0);
    });

    it('counts the runs before the window, and skipped instants are no runs', () => {
      const facts = fired(
        { nominal: T0, status: 'skipped', kind: 'skipped' },
        { nominal: T0 + S },
        { nominal: T0 + 2 * S },
      );
      const { entries, summary } = buildLedger({
        from: T0,
        to: T0 + 10 * S,
        now: T0 + 70 * S,
        definitions: [limitedDefined],
        manualRequests: [],
        runsBefore: { incarnation: limited.createdAt, runs: 2 },
        rules,
        ...facts,
      }) as Extract<ReturnType<typeof buildLedger>, { ok: true }>;
      // 2 before + 2 in the window; the 5th run is due at T0 + 3 s and has no fact.
      expect(entries.map((e) => [e.nominal - T0, e.outcome])).toEqual([
        [0, 'skipped'],
        [S, 'succeeded'],
        [2 * S, 'succeeded'],
        [3 * S, 'unaccounted'],
      ]);
      expect(summary.unaccounted).toBe(1);
    });

    it('starts counting again for a re-created task', () => {
      const recreated = task(T0 + 5 * S + 500, S, { maxRuns: 2 });
      const { entries } = ledger(
        [limitedDefined, { at: T0 + 5 * S, task: undefined }, { at: T0 + 5 * S + 500, task: recreated }],
        fired(
          ...seconds(0, 5).map((nominal) => ({ nominal })),
          { nominal: T0 + 6 * S },
          { nominal: T0 + 7 * S },
        ),
        { from: T0, to: T0 + 12 * S },
      );
      expect(entries.map((e) => [e.nominal - T0, e.outcome])).toEqual(
        [0, 1, 2, 3, 4, 6, 7].map((n) => [n * S, 'succeeded']),
      );
    });
  });

  it('reports skipped by reason, misfired and lost with the deciding fact', () => {
    const { entries, summary } = ledger(
      [defined],
      {
        executions: [
          execution({ nominal: T0, status: 'skipped' }),
          execution({ nominal: T0 + S, status: 'misfired' }),
          execution({ nominal: T0 + 2 * S, status: 'lost' }),
          execution({ nominal: T0 + 3 * S, status: 'failed' }),
        ],
        actions: [
          action({ nominal: T0, kind: 'skipped', attempt: 0, detail: 'overlap' }),
          action({ nominal: T0 + S, kind: 'misfired', attempt: 0, detail: 'skip' }),
          action({ nominal: T0 + 2 * S }),
          action({
            nominal: T0 + 2 * S,
            kind: 'lost',
            scheduler: 's2',
            token: 9,
            at: T0 + 9 * S,
            detail: 's1',
          }),
          action({ nominal: T0 + 3 * S }),
        ],
      },
      { from: T0, to: T0 + 4 * S },
    );
    expect(entries.map((e) => [e.outcome, e.reason])).toEqual([
      ['skipped', 'overlap'],
      ['misfired', 'skip'],
      ['lost', 's1'],
      ['failed', undefined],
    ]);
    expect(summary).toMatchObject({ skipped: { overlap: 1 }, misfired: 1, lost: 1, failed: 1, fired: 2 });
  });

  it('a paused task makes nothing due; resumed, its instants are due again', () => {
    const paused = revise(created, T0 + 2_200, { paused: true });
    const resumed = revise(paused, T0 + 6_200, { paused: false });
    const definitions = [defined, { at: T0 + 2_200, task: paused }, { at: T0 + 6_200, task: resumed }];
    const facts = fired(...[0, 1, 2, 7, 8, 9].map((s) => ({ nominal: T0 + s * S })));
    const { entries, summary } = ledger(definitions, facts, { from: T0, to: T0 + 10 * S });
    expect(entries.map((e) => (e.nominal - T0) / S)).toEqual([0, 1, 2, 7, 8, 9]);
    expect(summary).toMatchObject({ due: 6, succeeded: 6, unaccounted: 0, undue: 0 });
  });

  it('a schedule changed mid-window: each definition rules the instants after it', () => {
    const slower = revise(created, T0 + 4_500, {
      schedule: { kind: 'interval', everyMs: 3 * S, jitterMs: 0 },
    });
    const definitions = [defined, { at: T0 + 4_500, task: slower }];
    // Every second up to 4 s, then every third second (6 s, 9 s), one of which never fired.
    const facts = fired(...[0, 1, 2, 3, 4, 6].map((s) => ({ nominal: T0 + s * S })));
    const { entries, summary } = ledger(definitions, facts, { from: T0, to: T0 + 10 * S });
    expect(entries.map((e) => [(e.nominal - T0) / S, e.revision, e.outcome])).toEqual([
      [0, 1, 'succeeded'],
      [1, 1, 'succeeded'],
      [2, 1, 'succeeded'],
      [3, 1, 'succeeded'],
      [4, 1, 'succeeded'],
      [6, 2, 'succeeded'],
      [9, 2, 'unaccounted'],
    ]);
    expect(summary.unaccounted).toBe(1);
  });

  it('around a change, an instant claimed under the old definition is listed, and one never claimed is not flagged', () => {
    // Changed at 4.8 s: the old definition's 5 s instant falls within the transition (0.5 s).
    const slower = revise(created, T0 + 4_800, {
      schedule: { kind: 'interval', everyMs: 3 * S, jitterMs: 0 },
    });
    const definitions = [defined, { at: T0 + 4_800, task: slower }];
    const claimed = ledger(definitions, fired({ nominal: T0 + 5 * S }, { nominal: T0 + 6 * S }), {
      from: T0 + 5 * S,
      to: T0 + 7 * S,
    });
    expect(claimed.entries.map((e) => [(e.nominal - T0) / S, e.due, e.flags])).toEqual([
      [5, 'transition', []],
      [6, 'schedule', []],
    ]);
    const notClaimed = ledger(definitions, fired({ nominal: T0 + 6 * S }), {
      from: T0 + 5 * S,
      to: T0 + 7 * S,
    });
    expect(notClaimed.entries.map((e) => (e.nominal - T0) / S)).toEqual([6]);
    expect(notClaimed.summary.unaccounted).toBe(0);
  });

  it('a deleted task makes nothing due, and a fire after the deletion is flagged undue', () => {
    const definitions = [defined, { at: T0 + 3_200, task: undefined }];
    const facts = fired(...[0, 1, 2, 3, 6].map((s) => ({ nominal: T0 + s * S })));
    const { entries, summary } = ledger(definitions, facts, { from: T0, to: T0 + 10 * S });
    expect(entries.map((e) => [(e.nominal - T0) / S, e.due, e.flags])).toEqual([
      [0, 'schedule', []],
      [1, 'schedule', []],
      [2, 'schedule', []],
      [3, 'schedule', []],
      [6, 'none', ['undue']],
    ]);
    expect(summary).toMatchObject({ due: 4, undue: 1 });
    expect(ledgerHasViolations(summary)).toBe(true);
  });

  it('a re-created task is due from its new creation on, not in between (a fire state inherited shows as undue)', () => {
    const recreated = task(T0 + 6_500);
    const definitions = [defined, { at: T0 + 2_500, task: undefined }, { at: T0 + 6_500, task: recreated }];
    const facts = {
      executions: [
        ...[0, 1, 2, 7, 8, 9].map((s) => execution({ nominal: T0 + s * S })),
        execution({ nominal: T0 + 4 * S, status: 'misfired' }),
      ],
      actions: [
        ...[0, 1, 2, 7, 8, 9].map((s) => action({ nominal: T0 + s * S })),
        action({ nominal: T0 + 4 * S, kind: 'misfired', attempt: 0, at: T0 + 7 * S, detail: 'skip' }),
      ],
    };
    const { entries, summary } = ledger(definitions, facts, { from: T0, to: T0 + 10 * S });
    expect(entries.map((e) => [(e.nominal - T0) / S, e.outcome, e.flags])).toEqual([
      [0, 'succeeded', []],
      [1, 'succeeded', []],
      [2, 'succeeded', []],
      [4, 'misfired', ['undue']],
      [7, 'succeeded', []],
      [8, 'succeeded', []],
      [9, 'succeeded', []],
    ]);
    expect(summary).toMatchObject({ due: 6, undue: 1, unaccounted: 0 });
  });

  it('lists manual runs in the window, and a request never run as unaccounted', () => {
    const run = manualExecutionId('t', 'req-1');
    const never = manualExecutionId('t', 'req-2');
    const facts = fired(
      { nominal: T0 },
      { nominal: T0 + 1_234, executionId: run, token: 1 },
      { nominal: T0 + S },
      { nominal: T0 + 2 * S },
    );
    const requests = [
      { executionId: run, requestedAt: T0 + 1_200, actorId: 'alice' },
      { executionId: never, requestedAt: T0 + 1_500, actorId: 'bob' },
    ];
    const { entries, summary } = ledger([defined], facts, { from: T0, to: T0 + 3 * S }, requests);
    expect(entries.map((e) => [e.nominal - T0, e.kind, e.due, e.outcome, e.flags])).toEqual([
      [0, 'scheduled', 'schedule', 'succeeded', []],
      [1000, 'scheduled', 'schedule', 'succeeded', []],
      [1234, 'manual', 'none', 'succeeded', []],
      [1500, 'manual', 'none', 'unaccounted', ['unaccounted']],
      [2000, 'scheduled', 'schedule', 'succeeded', []],
    ]);
    expect(summary).toMatchObject({ due: 3, manual: 2, unaccounted: 1, stale: 0 });
  });

  it('flags two first attempts from different schedulers or fences as doubled, not a republished one', () => {
    const facts = {
      executions: [execution({ nominal: T0 }), execution({ nominal: T0 + S })],
      actions: [
        action({ nominal: T0, scheduler: 's1', token: 5 }),
        action({ nominal: T0, scheduler: 's2', token: 7 }),
        action({ nominal: T0 + S, scheduler: 's1', token: 8 }),
        // The same fact delivered twice is one action: equal scheduler and fence.
        action({ nominal: T0 + S, scheduler: 's1', token: 8 }),
      ],
    };
    const { entries, summary } = ledger([defined], facts, { from: T0, to: T0 + 2 * S });
    expect(entries.map((e) => e.flags)).toEqual([['doubled'], []]);
    expect(summary.doubled).toBe(1);
  });

  it('flags an action taken after a newer owner acted on the same instant with a higher fencing token', () => {
    const facts = {
      executions: [execution({ nominal: T0, status: 'lost' }), execution({ nominal: T0 + S })],
      actions: [
        action({ nominal: T0, scheduler: 's1', token: 5, at: T0 }),
        action({ nominal: T0, scheduler: 's2', token: 9, kind: 'lost', at: T0 + 4 * S, detail: 's1' }),
        // s1 was frozen, wakes up and starts attempt 2 with its old fence.
        action({ nominal: T0, scheduler: 's1', token: 5, attempt: 2, at: T0 + 5 * S }),
        action({ nominal: T0 + S, scheduler: 's2', token: 9, at: T0 + S }),
      ],
    };
    const { entries, summary } = ledger([defined], facts, { from: T0, to: T0 + 2 * S });
    expect(entries.map((e) => e.flags)).toEqual([['stale'], []]);
    expect(summary.stale).toBe(1);
  });
});

describe('backfilled instants', () => {
  it('counts a backfill of an instant fired before as backfilled: a later success, no double, no stale', () => {
    // T0 failed on s1 (attempt 1, token 1); T0 + 1 s and T0 + 2 s succeeded (tokens 2, 3).
    // Later a backfill re-fires T0 as attempt 2 under a fence of its own (token 50), while the
    // schedule keeps firing: T0 + 3 s claimed with token 40 before and fired after it.
    const backfilled: LedgerExecution = { ...execution({ nominal: T0 }), reason: 'backfill', attempts: 2 };
    const facts = {
      executions: [backfilled, ...seconds(1, 4).map((nominal) => execution({ nominal }))],
      actions: [
        action({ nominal: T0, token: 1 }),
        action({ nominal: T0, scheduler: 's2', token: 50, attempt: 2, at: T0 + 3 * S }),
        action({ nominal: T0 + S, token: 2 }),
        action({ nominal: T0 + 2 * S, token: 3 }),
        action({ nominal: T0 + 3 * S, token: 40, at: T0 + 3 * S + 3 }),
      ],
    };
    const { entries, summary } = ledger([defined], facts, { from: T0, to: T0 + 4 * S });
    expect(entries.map((e) => [e.outcome, e.flags])).toEqual(seconds(0, 4).map(() => ['succeeded', []]));
    expect(summary).toMatchObject({ backfilled: 1, doubled: 0, stale: 0, undue: 0 });
  });

  it('does not flag a backfilled instant the schedule no longer names as undue', () => {
    const odd = T0 + 500;
    const facts = {
      executions: [{ ...execution({ nominal: odd }), reason: 'backfill' }],
      actions: [action({ nominal: odd })],
    };
    const { entries, summary } = ledger([defined], facts, { from: T0, to: T0 + S });
    expect(entries.find((e) => e.nominal === odd)?.flags).toEqual([]);
    expect(summary).toMatchObject({ backfilled: 1, undue: 0 });
  });
});

describe('buildLedger with shard executions', () => {
  const shardOf = (nominal: number, index: number): string =>
    shardExecutionId(scheduledExecutionId('t', nominal), index);
  const unit = (nominal: number, index: number, status = 'succeeded', attempts = 1): LedgerExecution => ({
    executionId: shardOf(nominal, index),
    nominal,
    reason: 'scheduled',
    status,
    attempts,
    error: undefined,
  });

  it('judges each shard on its own: a re-run of one lost shard under a newer fence makes its siblings neither doubled nor stale', () => {
    const facts = {
      executions: [unit(T0, 0), unit(T0, 1, 'succeeded', 2), unit(T0, 2, 'succeeded', 2)],
      actions: [
        // One claim (token 5) listed all three shards; s1 starts them.
        ...[0, 1, 2].map((i) => action({ nominal: T0, executionId: shardOf(T0, i), token: 5, at: T0 + 1 })),
        // Shard 2's scheduler is gone: s2 reports it lost and re-runs it under token 9 ...
        action({
          nominal: T0,
          executionId: shardOf(T0, 2),
          scheduler: 's2',
          token: 9,
          kind: 'lost',
          at: T0 + 4 * S,
        }),
        action({
          nominal: T0,
          executionId: shardOf(T0, 2),
          scheduler: 's2',
          token: 9,
          attempt: 2,
          at: T0 + 4 * S,
        }),
        // ... while shard 1's retry (its member died) is still s1's, under the claim's token.
        action({ nominal: T0, executionId: shardOf(T0, 1), token: 5, attempt: 2, at: T0 + 5 * S }),
      ],
    };
    const { entries, summary } = ledger([defined], facts, { from: T0, to: T0 + S });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ outcome: 'succeeded', flags: [] });
    expect(summary).toMatchObject({ due: 1, fired: 1, succeeded: 1, doubled: 0, stale: 0, unaccounted: 0 });
  });

  it('flags a shard whose attempt was started by two owners as doubled', () => {
    const facts = {
      executions: [unit(T0, 0), unit(T0, 1)],
      actions: [
        action({ nominal: T0, executionId: shardOf(T0, 0), token: 5 }),
        action({ nominal: T0, executionId: shardOf(T0, 1), token: 5 }),
        action({ nominal: T0, executionId: shardOf(T0, 1), scheduler: 's2', token: 7 }),
      ],
    };
    const { entries, summary } = ledger([defined], facts, { from: T0, to: T0 + S });
    expect(entries[0]?.flags).toEqual(['doubled']);
    expect(summary.doubled).toBe(1);
  });

  it.each([
    [['succeeded', 'failed', 'succeeded'], 'failed'],
    [['succeeded', 'running', 'failed'], 'running'],
    [['succeeded', 'lost', 'succeeded'], 'lost'],
  ])('an instant whose shards are %j is %s', (statuses, outcome) => {
    const executions = statuses.map((status, i) => unit(T0, i, status));
    const actions = statuses.map((_, i) => action({ nominal: T0, executionId: shardOf(T0, i), token: 5 }));
    const { entries } = ledger([defined], { executions, actions }, { from: T0, to: T0 + S });
    expect(entries[0]?.outcome).toBe(outcome);
  });
});

describe('staleActions', () => {
  const a = (nominal: number, token: number, at: number, scheduler = 's1'): LedgerAction =>
    action({ nominal: T0 + nominal, token, at: T0 + at, scheduler });

  it.each([
    ['an old owner firing the instant it claimed before a takeover', [a(0, 5, 10), a(1000, 9, 5)], []],
    [
      'a retry by the claimer after others fired later instants',
      [a(0, 5, 0), a(1000, 9, 1000), a(0, 5, 2000)],
      [],
    ],
    ['an action after a higher fence acted on an earlier instant', [a(0, 9, 0, 's2'), a(1000, 5, 1000)], [1]],
    ['an action after a higher fence acted on the same instant', [a(0, 9, 0, 's2'), a(0, 5, 10)], [1]],
    ['equal fences are never stale', [a(0, 5, 0), a(1000, 5, 1000), a(0, 5, 3000)], []],
  ])('%s', (_what, actions, staleIndexes) => {
    const stale = staleActions(actions);
    expect(actions.flatMap((x, i) => (stale.has(x) ? [i] : []))).toEqual(staleIndexes);
  });
});

describe('buildLedger limits', () => {
  it('refuses a window with more due instants than allowed instead of computing it', () => {
    const result = buildLedger({
      from: T0,
      to: T0 + 2_000 * S,
      now: T0,
      definitions: [defined],
      executions: [],
      actions: [],
      manualRequests: [],
      rules,
    });
    expect(result).toEqual({ ok: false, dueCount: 1001 });
  });
});
