import {
  type DailyContribution,
  addContributions,
  contributionDelta,
  contributionOf,
  terminalDurationOf,
  utcDayOf,
} from './daily-contribution.js';
import { type ExecutionFact } from './execution-fact.js';
import {
  type AttemptRow,
  type ExecutionRow,
  isAttemptFact,
  mergeAttempt,
  mergeExecution,
} from './execution-merge.js';
import {
  type AuditRow,
  type CalendarAuditRow,
  type ProjectionStore,
  type RuleAuditRow,
  type SchedulerEventRow,
} from './projection-store.js';

interface PendingExecution {
  readonly before: ExecutionRow | undefined;
  after: ExecutionRow;
  /** Longest terminal duration among this batch's facts (see DailyContribution). */
  longestTerminalMs: number | undefined;
}

interface PendingAttempt {
  readonly before: AttemptRow | undefined;
  after: AttemptRow;
}

function sameRow<T extends object>(a: T, b: T): boolean {
  for (const key of Object.keys(a) as (keyof T)[]) if (a[key] !== b[key]) return false;
  return true;
}

/**
 * The writes of one transaction, with the facts of each execution merged in memory: an
 * execution (and each of its attempts) is read at most once and written at most once per
 * batch, and the daily stats get one delta per task and day, instead of a read and a write
 * of each per fact. The merge functions are a fold whose result depends only on the set of
 * facts (execution-merge.ts, daily-contribution.ts), so the rows are the same whatever the
 * batch boundaries: one fact per batch (the isolated path of BatchProjector) gives the same
 * database as a whole fetch in one batch.
 *
 * Audit and membership rows are written at once (insert-or-ignore on the event id: there is
 * nothing to merge). Nothing of the executions reaches SQLite before `flush`.
 */
export class ProjectionBatch {
  readonly #store: ProjectionStore;
  readonly #executions = new Map<string, PendingExecution>();
  readonly #attempts = new Map<string, PendingAttempt>();

  constructor(store: ProjectionStore) {
    this.#store = store;
  }

  applyExecutionFact(fact: ExecutionFact): void {
    let pending = this.#executions.get(fact.executionId);
    if (pending === undefined) {
      const before = this.#store.execution(fact.executionId);
      pending = { before, after: mergeExecution(before, fact), longestTerminalMs: undefined };
      this.#executions.set(fact.executionId, pending);
    } else {
      pending.after = mergeExecution(pending.after, fact);
    }
    const duration = terminalDurationOf(fact);
    if (duration !== undefined)
      pending.longestTerminalMs = Math.max(pending.longestTerminalMs ?? duration, duration);
    if (!isAttemptFact(fact)) return;
    const key = `${fact.executionId}\u0000${fact.attempt}`;
    const attempt = this.#attempts.get(key);
    const base = attempt === undefined ? this.#store.attempt(fact.executionId, fact.attempt) : attempt.after;
    const after = mergeAttempt(base, fact);
    if (after === undefined) return;
    if (attempt === undefined) this.#attempts.set(key, { before: base, after });
    else attempt.after = after;
  }

  saveAudit(row: AuditRow): void {
    this.#store.saveAudit(row);
  }

  saveRuleAudit(row: RuleAuditRow): void {
    this.#store.saveRuleAudit(row);
  }

  saveCalendarAudit(row: CalendarAuditRow): void {
    this.#store.saveCalendarAudit(row);
  }

  saveSchedulerEvent(row: SchedulerEventRow): void {
    this.#store.saveSchedulerEvent(row);
  }

  /** Writes the merged rows and the summed daily deltas; the batch is empty afterwards. */
  flush(): void {
    const store = this.#store;
    const daily = new Map<string, { taskId: string; day: string; delta: DailyContribution }>();
    for (const { before, after, longestTerminalMs } of this.#executions.values()) {
      if (before === undefined) store.insertExecution(after);
      else if (!sameRow(before, after)) store.updateExecution(after);
      const delta = contributionDelta(contributionOf(before), contributionOf(after), longestTerminalMs);
      if (delta === undefined) continue;
      const day = utcDayOf(after.nominalTime);
      const key = `${after.taskId}\u0000${day}`;
      const sum = daily.get(key);
      daily.set(key, {
        taskId: after.taskId,
        day,
        delta: sum === undefined ? delta : addContributions(sum.delta, delta),
      });
    }
    for (const { before, after } of this.#attempts.values()) {
      if (before === undefined) store.insertAttempt(after);
      else if (!sameRow(before, after)) store.updateAttempt(after);
    }
    for (const { taskId, day, delta } of daily.values()) store.addDailyStats(taskId, day, delta);
    this.#executions.clear();
    this.#attempts.clear();
  }
}
