import { type EpochMs } from './instant.js';
import { instantIdOf, instantOutcome } from './instant-units.js';
import { executionBudgetMs } from './retry.js';
import { type SchedulerTask, nextTaskFireTime } from './task.js';

/**
 * The ledger of one task over a window: every instant its schedule made due, next to what
 * happened to it, with the instants nobody accounted for, fired twice or acted on by a
 * stale owner flagged. Pure: the definition history, the facts and `now` are arguments, so
 * the same inputs give the same ledger anywhere (history serves it; the tests replay it).
 *
 * Due instants come from the definition history (each `task.*` event with the definition
 * it left in force, or none after a deletion): an instant is due when the definition in
 * force at it (the last event strictly before it) exists, is not paused and names it
 * (`nextTaskFireTime`, so startAt and endAt apply). A scheduler learns of a change a moment
 * later and keeps the instants it claimed before (ARCHITECTURE, "Claiming ahead"), so
 * within `transitionMs` after an event both the old and the new definition's instants are
 * *transitional*: listed when they have a fact, never flagged when they have none.
 *
 * Once an incarnation of the task has run `maxRuns` times (the runs before the window are an
 * argument), its later instants without a fact are not due.
 *
 * An instant of a `shard` or `broadcast` task has several executions, its units (ids derived
 * from the instant's, see instant-units.ts). Each unit is a fenced unit of its own: two starts
 * of the same attempt of one unit by different owners are a double, starts of different units
 * are not; a newer owner's action on one unit makes no other unit's actions stale; and the
 * instant's outcome is `instantOutcome` of its units' (succeeded only when every unit did).
 */

/** A definition event: from `at` on, `task` is in force (undefined: deleted). */
export interface LedgerDefinition {
  readonly at: EpochMs;
  readonly task: SchedulerTask | undefined;
}

/** What a scheduler did about an occurrence: started an attempt, or decided not to. */
export type LedgerActionKind = 'fired' | 'skipped' | 'misfired' | 'lost';

/**
 * One owner action, as distinct facts: two `fired` of the same attempt from different
 * schedulers or fencing tokens are two actions (a republished event is one).
 */
export interface LedgerAction {
  readonly executionId: string;
  readonly nominal: EpochMs;
  readonly kind: LedgerActionKind;
  readonly attempt: number;
  readonly schedulerId: string;
  readonly fencingToken: number;
  /** When the owner acted (the event's time). */
  readonly at: EpochMs;
  /** Skip reason, misfire action (`fire` / `skip`), or the scheduler that lost the execution. */
  readonly detail: string | undefined;
}

/** An execution as history projects it (its status ranked over all its facts). */
export interface LedgerExecution {
  readonly executionId: string;
  readonly nominal: EpochMs;
  readonly reason: string;
  readonly status: string;
  readonly attempts: number;
  readonly error: string | undefined;
}

/** A manual trigger request (`task.triggered`), whose execution may or may not have run. */
export interface LedgerManualRequest {
  readonly executionId: string;
  readonly requestedAt: EpochMs;
  readonly actorId: string;
}

export interface LedgerInput {
  readonly from: EpochMs;
  /** Exclusive. */
  readonly to: EpochMs;
  readonly now: EpochMs;
  /** Every definition event of the task up to `to`, any order. */
  readonly definitions: readonly LedgerDefinition[];
  /** Executions nominally in the window, and manual ones requested in it. */
  readonly executions: readonly LedgerExecution[];
  readonly actions: readonly LedgerAction[];
  readonly manualRequests: readonly LedgerManualRequest[];
  /**
   * The scheduled runs before `from` of the task incarnation in force at `from` (its `createdAt`),
   * counted against `maxRuns`; absent when there were none.
   */
  readonly runsBefore?: { readonly incarnation: string; readonly runs: number };
  readonly rules: LedgerRules;
}

/**
 * Execution statuses that mean the instant was claimed to run, so it counts against `maxRuns`
 * (the scheduler counts claims). `skipped` and `misfired` executions are not counted, although an
 * instant skipped by the overlap policy was claimed: the count errs low, so an instant after the
 * limit may be flagged, but none before it is hidden.
 */
function countsAsRun(execution: LedgerExecution): boolean {
  return execution.reason !== 'manual' && execution.status !== 'skipped' && execution.status !== 'misfired';
}

export interface LedgerRules {
  /**
   * After an instant's execution budget (`executionBudgetMs` of its definition), how much
   * longer its first fact may take to arrive: the lost-execution grace, a takeover after a
   * session timeout, the spool's delivery and the projection's lag. Before that an instant
   * without a fact is `pending`, after it `unaccounted`.
   */
  readonly pendingMs: number;
  /** How long after a definition event both definitions' instants are transitional. */
  readonly transitionMs: number;
  /** Refuse to list more instants than this (the caller narrows the window). */
  readonly maxInstants: number;
}

export type LedgerFlag = 'unaccounted' | 'doubled' | 'stale' | 'undue';

/**
 * `schedule`: the definition in force made it due; `transition`: only one of two
 * definitions around a change did (listed because it has a fact); `none`: the schedule did
 * not make it due (a manual run, or a fact at an instant nothing scheduled: flagged undue).
 */
export type LedgerDue = 'schedule' | 'transition' | 'none';

export type LedgerOutcome =
  | 'succeeded'
  | 'failed'
  | 'timed-out'
  | 'skipped'
  | 'misfired'
  | 'lost'
  | 'cancelled'
  | 'running'
  | 'retrying'
  | 'scheduled'
  | 'fired'
  | 'pending'
  | 'unaccounted';

export interface LedgerEntry {
  readonly nominal: EpochMs;
  readonly kind: 'scheduled' | 'manual';
  readonly due: LedgerDue;
  /** The revision of the definition that made it due (undefined when none did). */
  readonly revision: number | undefined;
  readonly outcome: LedgerOutcome;
  /** Skip reason, misfire action or lost scheduler of the deciding fact, when there is one. */
  readonly reason: string | undefined;
  /** When a manual run was requested. */
  readonly requestedAt: EpochMs | undefined;
  readonly executions: readonly LedgerExecution[];
  /** Every owner action about this instant, oldest first. */
  readonly actions: readonly LedgerAction[];
  readonly flags: readonly LedgerFlag[];
}

export interface LedgerSummary {
  /** Instants the schedule made due (transitional ones only when they have a fact). */
  due: number;
  /** Occurrences with at least one attempt started. */
  fired: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  skipped: Record<string, number>;
  misfired: number;
  lost: number;
  /** Stopped by an operator (`nono executions cancel`). */
  cancelled: number;
  /** Started, not finished yet (running or retrying). */
  running: number;
  pending: number;
  manual: number;
  /**
   * Instants whose outcome a backfill decided (its calls continue the execution's attempt
   * numbers, so a backfill of an instant fired before is not a double).
   */
  backfilled: number;
  unaccounted: number;
  doubled: number;
  stale: number;
  undue: number;
}

export type LedgerResult =
  | { readonly ok: true; readonly entries: readonly LedgerEntry[]; readonly summary: LedgerSummary }
  | { readonly ok: false; readonly dueCount: number };

const TERMINAL_FIRST: Record<string, number> = {
  succeeded: 0,
  failed: 0,
  'timed-out': 0,
  cancelled: 0,
  skipped: 0,
  misfired: 1,
  lost: 1,
  retrying: 2,
  running: 2,
  scheduled: 3,
};

interface DueInstant {
  due: LedgerDue;
  revision: number | undefined;
  task: SchedulerTask;
}

/** The instants of the window the definition history made due; undefined past `maxInstants`. */
export function dueInstants(
  definitions: readonly LedgerDefinition[],
  from: EpochMs,
  to: EpochMs,
  rules: Pick<LedgerRules, 'transitionMs' | 'maxInstants'>,
): Map<EpochMs, DueInstant> | { tooMany: number } {
  const sorted = [...definitions].sort((a, b) => a.at - b.at);
  const due = new Map<EpochMs, DueInstant>();
  let count = 0;
  const add = (task: SchedulerTask, start: EpochMs, end: EpochMs, transitionUntil: EpochMs): boolean => {
    for (
      let t = nextTaskFireTime(task, Math.max(start, from - 1));
      t !== undefined && t < Math.min(end, to);
    ) {
      const certainty: LedgerDue = t <= transitionUntil ? 'transition' : 'schedule';
      const known = due.get(t);
      if (known === undefined) {
        if (++count > rules.maxInstants) return false;
        due.set(t, { due: certainty, revision: task.revision, task });
      } else if (known.due === 'transition' && certainty === 'schedule') {
        due.set(t, { due: certainty, revision: task.revision, task });
      } else if (known.due === 'transition' && known.revision !== task.revision) {
        // Due under both definitions around a change: whichever the scheduler had, it was due.
        known.due = 'schedule';
      }
      t = nextTaskFireTime(task, t);
    }
    return true;
  };
  for (let i = 0; i < sorted.length; i++) {
    const current = sorted[i];
    if (current === undefined) continue;
    const end = sorted[i + 1]?.at ?? Infinity;
    const transitionUntil = current.at + rules.transitionMs;
    if (current.task !== undefined && !current.task.paused) {
      if (!add(current.task, current.at, end, transitionUntil)) return { tooMany: count };
    }
    // The previous definition's instants a scheduler may have claimed before it heard of this event.
    const previous = sorted[i - 1]?.task;
    if (previous !== undefined && !previous.paused) {
      if (!add(previous, current.at, Math.min(end, transitionUntil + 1), transitionUntil))
        return { tooMany: count };
    }
  }
  return due;
}

/** Builds the ledger (see the module comment); `{ ok: false }` when the window holds too many instants. */
export function buildLedger(input: LedgerInput): LedgerResult {
  const { from, to, now, rules } = input;
  const due = dueInstants(input.definitions, from, to, rules);
  if (!(due instanceof Map)) return { ok: false, dueCount: due.tooMany };

  const actionsByExecution = groupBy(input.actions, (a) => a.executionId);
  const manualIds = new Set(input.manualRequests.map((r) => r.executionId));
  // Backfilled instants (decided by a backfill's call): an operator re-fired them long after
  // their moment, under a fence of its own (the backfill document), so like manual runs they
  // are left out of the stale comparison, and one the schedule no longer names is not undue.
  const backfillIds = new Set<string>();
  for (const execution of input.executions) {
    if (execution.reason === 'manual') manualIds.add(execution.executionId);
    if (execution.reason === 'backfill') backfillIds.add(execution.executionId);
  }
  const stale = staleActions(
    input.actions.filter((a) => !manualIds.has(a.executionId) && !backfillIds.has(a.executionId)),
  );

  const scheduledByNominal = new Map<EpochMs, LedgerExecution[]>();
  const manualExecutions = new Map<string, LedgerExecution>();
  for (const execution of input.executions) {
    if (manualIds.has(execution.executionId)) manualExecutions.set(execution.executionId, execution);
    else if (execution.nominal >= from && execution.nominal < to)
      push(scheduledByNominal, execution.nominal, execution);
  }
  // An action whose execution row is gone (retention) still accounts for its instant.
  for (const action of input.actions) {
    if (manualIds.has(action.executionId) || action.nominal < from || action.nominal >= to) continue;
    const rows = scheduledByNominal.get(action.nominal) ?? [];
    if (!rows.some((r) => r.executionId === action.executionId)) {
      const fromAction: LedgerExecution = {
        executionId: action.executionId,
        nominal: action.nominal,
        reason: 'scheduled',
        status: action.kind,
        attempts: action.attempt,
        error: undefined,
      };
      scheduledByNominal.set(action.nominal, [...rows, fromAction]);
    }
  }

  const entries: LedgerEntry[] = [];
  // Runs so far of each task incarnation, for `maxRuns`: past it, instants are no longer due.
  const runs = new Map<string, number>();
  if (input.runsBefore !== undefined) runs.set(input.runsBefore.incarnation, input.runsBefore.runs);
  const nominals = new Set<EpochMs>([...due.keys(), ...scheduledByNominal.keys()]);
  for (const nominal of [...nominals].sort((a, b) => a - b)) {
    const planned = due.get(nominal);
    const executions = scheduledByNominal.get(nominal) ?? [];
    if (planned !== undefined) {
      const counted = executions.filter(countsAsRun).length;
      if (counted > 0) runs.set(planned.task.createdAt, (runs.get(planned.task.createdAt) ?? 0) + counted);
    }
    if (executions.length === 0) {
      if (planned === undefined || planned.due === 'transition') continue;
      const { maxRuns, createdAt } = planned.task;
      const runsSoFar = runs.get(createdAt) ?? 0;
      if (maxRuns !== undefined && runsSoFar >= maxRuns) continue;
      // Due and without a fact: the scheduler should have claimed it, so it counts as a run.
      runs.set(createdAt, runsSoFar + 1);
      const waiting = now < nominal + executionBudgetMs(planned.task) + rules.pendingMs;
      entries.push({
        nominal,
        kind: 'scheduled',
        due: planned.due,
        revision: planned.revision,
        outcome: waiting ? 'pending' : 'unaccounted',
        reason: undefined,
        requestedAt: undefined,
        executions: [],
        actions: [],
        flags: waiting ? [] : ['unaccounted'],
      });
      continue;
    }
    const actions = executions.flatMap((e) => actionsByExecution.get(e.executionId) ?? []);
    const flags = actionFlags(actions, stale);
    if (planned === undefined && !executions.some((e) => e.reason === 'backfill')) flags.unshift('undue');
    entries.push({
      nominal,
      kind: 'scheduled',
      due: planned?.due ?? 'none',
      revision: planned?.revision,
      ...outcomeOf(executions, actions),
      requestedAt: undefined,
      executions,
      actions: sortActions(actions),
      flags,
    });
  }

  entries.push(...manualEntries(input, manualExecutions, actionsByExecution, stale));
  entries.sort((a, b) => a.nominal - b.nominal);
  return { ok: true, entries, summary: summarise(entries) };
}

function manualEntries(
  input: LedgerInput,
  executions: ReadonlyMap<string, LedgerExecution>,
  actionsByExecution: ReadonlyMap<string, LedgerAction[]>,
  stale: ReadonlySet<LedgerAction>,
): LedgerEntry[] {
  const { from, to, now, rules } = input;
  const requests = new Map(input.manualRequests.map((r) => [r.executionId, r]));
  const ids = new Set([...requests.keys(), ...executions.keys()]);
  const entries: LedgerEntry[] = [];
  for (const executionId of ids) {
    const request = requests.get(executionId);
    const execution = executions.get(executionId);
    const inWindow = (t: EpochMs | undefined): boolean => t !== undefined && t >= from && t < to;
    if (!inWindow(request?.requestedAt) && !inWindow(execution?.nominal)) continue;
    const actions = actionsByExecution.get(executionId) ?? [];
    if (execution === undefined) {
      // Requested and never picked up: the manual counterpart of an unaccounted instant.
      const requestedAt = request?.requestedAt ?? from;
      const waiting = now < requestedAt + rules.pendingMs;
      entries.push({
        nominal: requestedAt,
        kind: 'manual',
        due: 'none',
        revision: undefined,
        outcome: waiting ? 'pending' : 'unaccounted',
        reason: undefined,
        requestedAt,
        executions: [],
        actions: [],
        flags: waiting ? [] : ['unaccounted'],
      });
      continue;
    }
    entries.push({
      nominal: execution.nominal,
      kind: 'manual',
      due: 'none',
      revision: undefined,
      ...outcomeOf([execution], actions),
      requestedAt: request?.requestedAt,
      executions: [execution],
      actions: sortActions(actions),
      flags: actionFlags(actions, stale),
    });
  }
  return entries;
}

/** The occurrence's outcome: its most final execution's status, and the reason of the deciding fact. */
function outcomeOf(
  executions: readonly LedgerExecution[],
  actions: readonly LedgerAction[],
): { outcome: LedgerOutcome; reason: string | undefined } {
  const byUnit = groupBy(executions, (e) => e.executionId);
  const fannedOut = [...byUnit.keys()].some((id) => instantIdOf(id) !== id);
  const status = fannedOut
    ? instantOutcome([...byUnit.values()].map(mostFinalStatus)).status
    : mostFinalStatus(executions);
  const outcome = (
    TERMINAL_FIRST[status] !== undefined || status === 'fired' ? status : 'fired'
  ) as LedgerOutcome;
  const decisive =
    outcome === 'skipped' || outcome === 'misfired' || outcome === 'lost' ? outcome : undefined;
  const decision = [...actions].reverse().find((a) => a.kind === decisive);
  return { outcome, reason: decision?.detail };
}

/** The most final status among one occurrence's (or one unit's) execution rows. */
function mostFinalStatus(executions: readonly LedgerExecution[]): string {
  const ranked = [...executions].sort(
    (a, b) => (TERMINAL_FIRST[a.status] ?? 4) - (TERMINAL_FIRST[b.status] ?? 4),
  );
  return ranked[0]?.status ?? 'fired';
}

function actionFlags(actions: readonly LedgerAction[], stale: ReadonlySet<LedgerAction>): LedgerFlag[] {
  const flags: LedgerFlag[] = [];
  const starts = groupBy(
    actions.filter((a) => a.kind === 'fired'),
    (a) => `${a.executionId}|${a.attempt}`,
  );
  // Two starts of the same attempt of one execution (one unit of a fanned-out instant) by
  // different owners (or fences) called the worker twice.
  if ([...starts.values()].some((s) => new Set(s.map((a) => `${a.schedulerId}|${a.fencingToken}`)).size > 1))
    flags.push('doubled');
  if (actions.some((a) => stale.has(a))) flags.push('stale');
  return flags;
}

/**
 * Actions of a stale owner: an action is stale when, before it was taken, another action on
 * the same or an earlier instant of the task had carried a higher fencing token. Such a
 * newer owner had advanced the fence past this one (a takeover, or a lost report and re-run
 * of this very execution), so this owner acted on a fence that was no longer its own. Later
 * instants claimed by a new owner do not make an old owner's earlier claims stale: the fence
 * gave those instants to it (ARCHITECTURE, "Claiming ahead"). Manual runs are left out of
 * the comparison: they take the fence without moving it forward.
 *
 * Within an instant fanned out into units, only the same unit's actions count: each unit is
 * fenced on its own (a re-run of one lost shard does not make its sibling shards stale).
 *
 * Swept by instant with a Fenwick tree of the highest token by action time, O(n log n).
 */
export function staleActions(actions: readonly LedgerAction[]): Set<LedgerAction> {
  const times = [...new Set(actions.map((a) => a.at))].sort((a, b) => a - b);
  const rank = new Map(times.map((t, i) => [t, i + 1]));
  const tree = new Array<number>(times.length + 1).fill(-1);
  const raise = (i: number, token: number): void => {
    for (; i < tree.length; i += i & -i) tree[i] = Math.max(tree[i] ?? -1, token);
  };
  const highestBefore = (i: number): number => {
    let best = -1;
    for (i -= 1; i > 0; i -= i & -i) best = Math.max(best, tree[i] ?? -1);
    return best;
  };
  const stale = new Set<LedgerAction>();
  const byNominal = groupBy(actions, (a) => String(a.nominal));
  for (const group of [...byNominal.values()].sort((a, b) => (a[0]?.nominal ?? 0) - (b[0]?.nominal ?? 0))) {
    // Earlier instants are in the tree; this instant's actions are compared unit by unit.
    for (const unit of groupBy(group, (a) => a.executionId).values()) {
      const byTime = [...unit].sort((a, b) => a.at - b.at);
      let highest = -1;
      for (let i = 0; i < byTime.length;) {
        // Actions at the same instant of time are not before one another.
        let j = i;
        while (j < byTime.length && byTime[j]?.at === byTime[i]?.at) j++;
        for (let k = i; k < j; k++) {
          const action = byTime[k] as LedgerAction;
          if (Math.max(highest, highestBefore(rank.get(action.at) ?? 0)) > action.fencingToken)
            stale.add(action);
        }
        for (let k = i; k < j; k++) highest = Math.max(highest, (byTime[k] as LedgerAction).fencingToken);
        i = j;
      }
    }
    for (const action of group) raise(rank.get(action.at) ?? 0, action.fencingToken);
  }
  return stale;
}

function summarise(entries: readonly LedgerEntry[]): LedgerSummary {
  const summary: LedgerSummary = {
    due: 0,
    fired: 0,
    succeeded: 0,
    failed: 0,
    timedOut: 0,
    skipped: {},
    misfired: 0,
    lost: 0,
    cancelled: 0,
    running: 0,
    pending: 0,
    manual: 0,
    backfilled: 0,
    unaccounted: 0,
    doubled: 0,
    stale: 0,
    undue: 0,
  };
  for (const entry of entries) {
    if (entry.kind === 'manual') summary.manual += 1;
    else if (entry.due !== 'none') summary.due += 1;
    if (entry.executions.some((e) => e.reason === 'backfill')) summary.backfilled += 1;
    if (entry.actions.some((a) => a.kind === 'fired')) summary.fired += 1;
    switch (entry.outcome) {
      case 'succeeded':
        summary.succeeded += 1;
        break;
      case 'failed':
        summary.failed += 1;
        break;
      case 'timed-out':
        summary.timedOut += 1;
        break;
      case 'skipped': {
        const reason = entry.reason ?? 'unknown';
        summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1;
        break;
      }
      case 'misfired':
        summary.misfired += 1;
        break;
      case 'lost':
        summary.lost += 1;
        break;
      case 'cancelled':
        summary.cancelled += 1;
        break;
      case 'running':
      case 'retrying':
      case 'scheduled':
      case 'fired':
        summary.running += 1;
        break;
      case 'pending':
        summary.pending += 1;
        break;
      case 'unaccounted':
        break;
    }
    for (const flag of entry.flags) summary[flag] += 1;
  }
  return summary;
}

/** Whether a ledger shows a broken promise: an instant unaccounted for, fired twice, undue, or acted on by a stale owner. */
export function ledgerHasViolations(summary: Pick<LedgerSummary, LedgerFlag>): boolean {
  return summary.unaccounted + summary.doubled + summary.stale + summary.undue > 0;
}

function sortActions(actions: readonly LedgerAction[]): LedgerAction[] {
  return [...actions].sort((a, b) => a.at - b.at || a.attempt - b.attempt || a.fencingToken - b.fencingToken);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) push(groups, key(item), item);
  return groups;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
