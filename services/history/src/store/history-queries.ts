import { and, asc, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type Database from 'better-sqlite3';
import { type AuditSubject } from '@nono/domain';
import { type LedgerFacts, readLedgerFacts } from './ledger-reads.js';
import { type HistoryDb } from './open-database.js';
import { percentile } from './percentile.js';
import {
  type ExecutionStatus,
  alertRuleAudit,
  calendarAudit,
  executionAttempts,
  executions,
  schedulerEvents,
  taskAudit,
  type taskDailyStats,
} from './schema.js';

export type ExecutionRecord = typeof executions.$inferSelect;
export type AttemptRecord = typeof executionAttempts.$inferSelect;
export type TaskAuditRecord = typeof taskAudit.$inferSelect;
export type RuleAuditRecord = typeof alertRuleAudit.$inferSelect;
export type CalendarAuditRecord = typeof calendarAudit.$inferSelect;
/** An audit entry: a task change or trigger, an alert rule change, or a calendar change. */
export type AuditRecord =
  | ({ readonly subject: 'task' } & TaskAuditRecord)
  | ({ readonly subject: 'alert-rule' } & RuleAuditRecord)
  | ({ readonly subject: 'calendar' } & CalendarAuditRecord);
export type SchedulerEventRecord = typeof schedulerEvents.$inferSelect;
export type DailyStatsRecord = typeof taskDailyStats.$inferSelect;

/** A keyset position: the (instant, id) of the last row of the previous page. */
export interface KeysetPosition {
  readonly at: number;
  readonly id: string;
}

export interface ExecutionFilter {
  readonly taskId?: string;
  readonly status?: ExecutionStatus;
  readonly schedulerId?: string;
  /** Inclusive lower bound on the nominal instant. */
  readonly from?: number;
  /** Exclusive upper bound on the nominal instant. */
  readonly to?: number;
  readonly after?: KeysetPosition;
  readonly limit: number;
}

export interface AuditFilter {
  readonly subject?: AuditSubject;
  readonly taskId?: string;
  readonly ruleId?: string;
  readonly calendar?: string;
  readonly actor?: string;
  readonly from?: number;
  readonly to?: number;
  readonly after?: KeysetPosition;
  readonly limit: number;
}

export interface SchedulerFilter {
  readonly schedulerId?: string;
  readonly from?: number;
  readonly to?: number;
  readonly after?: KeysetPosition;
  readonly limit: number;
}

export interface TaskReport {
  readonly taskId: string;
  readonly executions: number;
  readonly runs: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly timedOut: number;
  readonly lost: number;
  readonly skipped: number;
  readonly missed: number;
  readonly inProgress: number;
  readonly successRate: number | null;
  readonly durationMs: {
    readonly p50: number | null;
    readonly p95: number | null;
    readonly p99: number | null;
    readonly max: number | null;
  };
  readonly latenessMs: {
    readonly p50: number | null;
    readonly p95: number | null;
    readonly p99: number | null;
    readonly max: number | null;
  };
}

/** One group member's attempts over a window: what a per-member report lists. */
export interface MemberResult {
  readonly group: string;
  readonly url: string;
  readonly attempts: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly timedOut: number;
  readonly cancelled: number;
  /** Dispatched, no outcome yet (or never known: the scheduler died). */
  readonly inProgress: number;
  /** succeeded / attempts with an outcome; null when none has one. */
  readonly successRate: number | null;
  readonly lastStartedAt: number | null;
  readonly lastStatus: ExecutionStatus | null;
  readonly durationMs: { readonly p50: number | null; readonly p95: number | null };
}

interface MemberAttemptRow {
  readonly group: string;
  readonly url: string;
  readonly status: ExecutionStatus;
  readonly durationMs: number | null;
  readonly startedAt: number | null;
}

/** A task_daily_stats row in column order (schema.ts), as the raw statement returns it. */
type DailyStatsColumns = [
  taskId: string,
  day: string,
  runs: number,
  succeeded: number,
  failed: number,
  timedOut: number,
  skipped: number,
  misfired: number,
  lost: number,
  durationCount: number,
  durationSumMs: number,
  durationMaxMs: number,
];

const FINISHED_RUN: ExecutionStatus[] = ['succeeded', 'failed', 'timed-out'];

/**
 * The read side. Lists are keyset-paginated on (instant desc, id desc) and every filter
 * combination the API offers has an index leading with its equality column
 * (see schema.ts); one extra row is fetched to know whether a next page exists.
 */
export class HistoryQueries {
  readonly #db: HistoryDb;
  readonly #dailyStats: Database.Statement<[string], DailyStatsColumns>;

  constructor(db: HistoryDb) {
    this.#db = db;
    // A day is ~1,000 rows: drizzle's per-row mapping, and even better-sqlite3 building an
    // object per row, were most of the report's time; arrays are read half as fast again.
    this.#dailyStats = db.$client
      .prepare<[string], DailyStatsColumns>(
        `select task_id, day, runs, succeeded, failed, timed_out, skipped, misfired, lost,
           duration_count, duration_sum_ms, duration_max_ms
         from task_daily_stats where day = ? order by task_id`,
      )
      .raw();
  }

  listExecutions(filter: ExecutionFilter): { rows: ExecutionRecord[]; more: boolean } {
    const conditions: (SQL | undefined)[] = [
      filter.taskId === undefined ? undefined : eq(executions.taskId, filter.taskId),
      filter.status === undefined ? undefined : eq(executions.status, filter.status),
      filter.schedulerId === undefined ? undefined : eq(executions.schedulerId, filter.schedulerId),
      filter.from === undefined ? undefined : gte(executions.nominalTime, filter.from),
      filter.to === undefined ? undefined : lt(executions.nominalTime, filter.to),
      // A row-value comparison lets SQLite seek into the index instead of scanning an OR.
      filter.after === undefined
        ? undefined
        : sql`(${executions.nominalTime}, ${executions.executionId}) < (${filter.after.at}, ${filter.after.id})`,
    ];
    const rows = this.#db
      .select()
      .from(executions)
      .where(and(...conditions))
      .orderBy(desc(executions.nominalTime), desc(executions.executionId))
      .limit(filter.limit + 1)
      .all();
    return { rows: rows.slice(0, filter.limit), more: rows.length > filter.limit };
  }

  /** The inputs of a task's ledger over [from, to); `truncated` past `maxRows` executions. */
  ledgerFacts(taskId: string, from: number, to: number, maxRows: number): LedgerFacts {
    return readLedgerFacts(this.#db, taskId, from, to, maxRows);
  }

  /** The SQL of a task's history page, for the EXPLAIN QUERY PLAN test. */
  explainTaskPage(taskId: string): string[] {
    const query = this.#db
      .select()
      .from(executions)
      .where(eq(executions.taskId, taskId))
      .orderBy(desc(executions.nominalTime), desc(executions.executionId))
      .limit(51)
      .toSQL();
    const rows = this.#db.$client.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.params) as {
      detail: string;
    }[];
    return rows.map((row) => row.detail);
  }

  execution(executionId: string): { execution: ExecutionRecord; attempts: AttemptRecord[] } | undefined {
    const execution = this.#db.select().from(executions).where(eq(executions.executionId, executionId)).get();
    if (execution === undefined) return undefined;
    const attempts = this.#db
      .select()
      .from(executionAttempts)
      .where(eq(executionAttempts.executionId, executionId))
      .orderBy(asc(executionAttempts.attempt))
      .all();
    return { execution, attempts };
  }

  taskReport(taskId: string, from: number | undefined, to: number | undefined): TaskReport {
    const range = and(
      eq(executions.taskId, taskId),
      from === undefined ? undefined : gte(executions.nominalTime, from),
      to === undefined ? undefined : lt(executions.nominalTime, to),
    );
    // One pass over the task's index range: every row costs a random table lookup, so
    // reading (status, duration, lateness) once beats three queries over the same rows,
    // which is three times the lookups; sorting a few thousand numbers in JS is cheap.
    const rows = this.#db
      .select({ status: executions.status, duration: executions.durationMs, late: executions.lateMs })
      .from(executions)
      .where(range)
      .all();
    const counts = new Map<ExecutionStatus, number>();
    const durations: number[] = [];
    const lateness: number[] = [];
    for (const row of rows) {
      counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
      if (row.duration !== null && FINISHED_RUN.includes(row.status)) durations.push(row.duration);
      if (row.late !== null) lateness.push(row.late);
    }
    durations.sort((a, b) => a - b);
    lateness.sort((a, b) => a - b);
    const n = (status: ExecutionStatus): number => counts.get(status) ?? 0;
    const runs = n('succeeded') + n('failed') + n('timed-out') + n('lost');
    return {
      taskId,
      executions: rows.length,
      runs,
      succeeded: n('succeeded'),
      failed: n('failed'),
      timedOut: n('timed-out'),
      lost: n('lost'),
      skipped: n('skipped'),
      missed: n('misfired'),
      inProgress: n('scheduled') + n('running') + n('retrying'),
      successRate: runs === 0 ? null : n('succeeded') / runs,
      durationMs: {
        p50: pct(durations, 50),
        p95: pct(durations, 95),
        p99: pct(durations, 99),
        max: durations.at(-1) ?? null,
      },
      latenessMs: {
        p50: pct(lateness, 50),
        p95: pct(lateness, 95),
        p99: pct(lateness, 99),
        max: lateness.at(-1) ?? null,
      },
    };
  }

  /**
   * Each member's attempts of a worker group, started in [from, to), read along the
   * `(member_group, started_at)` index.
   */
  groupMemberResults(group: string, from: number | undefined, to: number | undefined): MemberResult[] {
    const rows = this.#db.$client
      .prepare<[string, number, number], MemberAttemptRow>(
        `select member_group as "group", member_url as url, status, duration_ms as durationMs,
           started_at as startedAt
         from execution_attempts
         where member_group = ? and started_at >= ? and started_at < ?`,
      )
      .all(group, from ?? Number.MIN_SAFE_INTEGER, to ?? Number.MAX_SAFE_INTEGER);
    return memberResultsOf(rows);
  }

  /** The attempts of a task's executions (nominal instant in [from, to)) per group member. */
  taskMemberResults(taskId: string, from: number | undefined, to: number | undefined): MemberResult[] {
    const rows = this.#db.$client
      .prepare<[string, number, number], MemberAttemptRow>(
        `select a.member_group as "group", a.member_url as url, a.status, a.duration_ms as durationMs,
           a.started_at as startedAt
         from executions e join execution_attempts a on a.execution_id = e.execution_id
         where e.task_id = ? and e.nominal_time >= ? and e.nominal_time < ? and a.member_group is not null`,
      )
      .all(taskId, from ?? Number.MIN_SAFE_INTEGER, to ?? Number.MAX_SAFE_INTEGER);
    return memberResultsOf(rows);
  }

  dailyStats(day: string): DailyStatsRecord[] {
    return this.#dailyStats.all(day).map((row) => ({
      taskId: row[0],
      day: row[1],
      runs: row[2],
      succeeded: row[3],
      failed: row[4],
      timedOut: row[5],
      skipped: row[6],
      misfired: row[7],
      lost: row[8],
      durationCount: row[9],
      durationSumMs: row[10],
      durationMaxMs: row[11],
    }));
  }

  /**
   * Task and alert rule audit entries, newest first: a page of each table (each read along
   * its own `(…, at desc, event_id desc)` index) merged in the same order, so one keyset
   * cursor pages through both. A task filter reads only task entries, a rule filter only
   * rule changes.
   */
  listAudit(filter: AuditFilter): { rows: AuditRecord[]; more: boolean } {
    const wanted = filter.limit + 1;
    // A filter by one kind's id reads only that kind's entries.
    const only: AuditSubject | undefined =
      filter.subject ??
      (filter.taskId !== undefined
        ? 'task'
        : filter.ruleId !== undefined
          ? 'alert-rule'
          : filter.calendar !== undefined
            ? 'calendar'
            : undefined);
    const tasks: AuditRecord[] =
      only !== undefined && only !== 'task'
        ? []
        : this.#db
            .select()
            .from(taskAudit)
            .where(
              and(
                filter.taskId === undefined ? undefined : eq(taskAudit.taskId, filter.taskId),
                ...auditRange(taskAudit, filter),
              ),
            )
            .orderBy(desc(taskAudit.at), desc(taskAudit.eventId))
            .limit(wanted)
            .all()
            .map((row) => ({ subject: 'task', ...row }));
    const rules: AuditRecord[] =
      only !== undefined && only !== 'alert-rule'
        ? []
        : this.#db
            .select()
            .from(alertRuleAudit)
            .where(
              and(
                filter.ruleId === undefined ? undefined : eq(alertRuleAudit.ruleId, filter.ruleId),
                ...auditRange(alertRuleAudit, filter),
              ),
            )
            .orderBy(desc(alertRuleAudit.at), desc(alertRuleAudit.eventId))
            .limit(wanted)
            .all()
            .map((row) => ({ subject: 'alert-rule', ...row }));
    const calendars: AuditRecord[] =
      only !== undefined && only !== 'calendar'
        ? []
        : this.#db
            .select()
            .from(calendarAudit)
            .where(
              and(
                filter.calendar === undefined ? undefined : eq(calendarAudit.calendar, filter.calendar),
                ...auditRange(calendarAudit, filter),
              ),
            )
            .orderBy(desc(calendarAudit.at), desc(calendarAudit.eventId))
            .limit(wanted)
            .all()
            .map((row) => ({ subject: 'calendar', ...row }));
    const rows = [...tasks, ...rules, ...calendars].sort(newestFirst).slice(0, wanted);
    return { rows: rows.slice(0, filter.limit), more: rows.length > filter.limit };
  }

  listSchedulerEvents(filter: SchedulerFilter): { rows: SchedulerEventRecord[]; more: boolean } {
    const rows = this.#db
      .select()
      .from(schedulerEvents)
      .where(
        and(
          filter.schedulerId === undefined ? undefined : eq(schedulerEvents.schedulerId, filter.schedulerId),
          filter.from === undefined ? undefined : gte(schedulerEvents.at, filter.from),
          filter.to === undefined ? undefined : lt(schedulerEvents.at, filter.to),
          filter.after === undefined
            ? undefined
            : sql`(${schedulerEvents.at}, ${schedulerEvents.eventId}) < (${filter.after.at}, ${filter.after.id})`,
        ),
      )
      .orderBy(desc(schedulerEvents.at), desc(schedulerEvents.eventId))
      .limit(filter.limit + 1)
      .all();
    return { rows: rows.slice(0, filter.limit), more: rows.length > filter.limit };
  }
}

/** Attempts folded per (group, member URL), in URL order. */
function memberResultsOf(rows: readonly MemberAttemptRow[]): MemberResult[] {
  const byMember = new Map<string, { group: string; url: string; rows: MemberAttemptRow[] }>();
  for (const row of rows) {
    const key = `${row.group}\u0000${row.url}`;
    const entry = byMember.get(key) ?? { group: row.group, url: row.url, rows: [] };
    entry.rows.push(row);
    byMember.set(key, entry);
  }
  return [...byMember.values()]
    .sort((a, b) => (a.group === b.group ? a.url.localeCompare(b.url) : a.group.localeCompare(b.group)))
    .map(({ group, url, rows: attempts }) => {
      const n = (status: ExecutionStatus) => attempts.filter((row) => row.status === status).length;
      const durations = attempts
        .filter((row) => row.durationMs !== null && row.status !== 'running')
        .map((row) => row.durationMs ?? 0)
        .sort((a, b) => a - b);
      let last: MemberAttemptRow | undefined;
      for (const row of attempts)
        if (row.startedAt !== null && (last?.startedAt == null || row.startedAt > last.startedAt)) last = row;
      const inProgress = n('running');
      const decided = attempts.length - inProgress;
      return {
        group,
        url,
        attempts: attempts.length,
        succeeded: n('succeeded'),
        failed: n('failed'),
        timedOut: n('timed-out'),
        cancelled: n('cancelled'),
        inProgress,
        successRate: decided === 0 ? null : n('succeeded') / decided,
        lastStartedAt: last?.startedAt ?? null,
        lastStatus: last?.status ?? null,
        durationMs: { p50: pct(durations, 50), p95: pct(durations, 95) },
      };
    });
}

function pct(sorted: readonly number[], p: number): number | null {
  return percentile(sorted, p) ?? null;
}

/** The actor, range and keyset conditions of an audit page, on either audit table. */
function auditRange(
  table: typeof taskAudit | typeof alertRuleAudit | typeof calendarAudit,
  filter: AuditFilter,
): (SQL | undefined)[] {
  return [
    filter.actor === undefined ? undefined : eq(table.actorId, filter.actor),
    filter.from === undefined ? undefined : gte(table.at, filter.from),
    filter.to === undefined ? undefined : lt(table.at, filter.to),
    filter.after === undefined
      ? undefined
      : sql`(${table.at}, ${table.eventId}) < (${filter.after.at}, ${filter.after.id})`,
  ];
}

/** SQLite's order of the audit indexes: `at` descending, then the event id descending (binary). */
function newestFirst(a: AuditRecord, b: AuditRecord): number {
  if (a.at !== b.at) return b.at - a.at;
  return a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0;
}
