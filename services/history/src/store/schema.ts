import {
  type CancelCall,
  type CapturedOutput,
  type ExecutionStatus,
  type TriggerParameters,
} from '@nono/domain';
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * The history database: a projection of the Kafka topics. Every instant is stored as
 * epoch milliseconds (integers sort and index well); the HTTP layer formats RFC 3339.
 * Changing this file means `npx drizzle-kit generate` in services/history and
 * committing the new migration under drizzle/.
 */

// The statuses are part of history's query contract, shared with the API (libs/domain).
export { EXECUTION_STATUSES, type ExecutionStatus } from '@nono/domain';
// The bookkeeping tables, defined once for every service that keeps a database of the topics.
export { consumerOffsets, deadLetters, processedEvents, projectionMeta } from '@nono/projection';

export const executions = sqliteTable(
  'executions',
  {
    executionId: text('execution_id').primaryKey(),
    taskId: text('task_id').notNull(),
    nominalTime: integer('nominal_time').notNull(),
    firedAt: integer('fired_at'),
    finishedAt: integer('finished_at'),
    status: text('status').$type<ExecutionStatus>().notNull(),
    /** Whether `status` is final: a terminal fact outranks any non-terminal one, whatever order they arrive in. */
    terminal: integer('terminal', { mode: 'boolean' }).notNull(),
    /** Attempt and phase of the fact that set `status`: the precedence key for later facts. */
    statusAttempt: integer('status_attempt').notNull(),
    statusPhase: integer('status_phase').notNull(),
    /** Event time and id of that fact: the last tie-breakers, so any arrival order converges. */
    statusAt: integer('status_at').notNull(),
    statusEventId: text('status_event_id').notNull(),
    attempts: integer('attempts').notNull(),
    httpStatus: integer('http_status'),
    error: text('error'),
    durationMs: integer('duration_ms'),
    lateMs: integer('late_ms'),
    /** Attempt whose `fired` set firedAt/lateMs: the first dispatch is the one lateness is about. */
    firedAttempt: integer('fired_attempt'),
    schedulerId: text('scheduler_id').notNull(),
    fencingToken: integer('fencing_token').notNull(),
    reason: text('reason').notNull(),
    /** A shard or broadcast execution's instant (the execution id a plain instant has); null otherwise. */
    instantId: text('instant_id'),
    shardIndex: integer('shard_index'),
    shardCount: integer('shard_count'),
    /** The worker group member the execution's deciding attempt went to (group targets). */
    memberUrl: text('member_url'),
    /** A manual run's trigger parameters, from its `fired` fact (migration 0008). */
    parameters: text('parameters', { mode: 'json' }).$type<TriggerParameters>(),
  },
  (table) => [
    // A task's history page: WHERE task_id = ? ORDER BY nominal_time DESC, execution_id DESC.
    index('executions_task_nominal').on(
      table.taskId,
      sql`${table.nominalTime} desc`,
      sql`${table.executionId} desc`,
    ),
    index('executions_nominal').on(sql`${table.nominalTime} desc`, sql`${table.executionId} desc`),
    // Also serves retention: WHERE status IN (...) AND nominal_time < cutoff.
    index('executions_status_nominal').on(table.status, sql`${table.nominalTime} desc`),
    index('executions_scheduler_nominal').on(table.schedulerId, sql`${table.nominalTime} desc`),
  ],
);

export const executionAttempts = sqliteTable(
  'execution_attempts',
  {
    executionId: text('execution_id').notNull(),
    attempt: integer('attempt').notNull(),
    status: text('status').$type<ExecutionStatus>().notNull(),
    statusPhase: integer('status_phase').notNull(),
    statusAt: integer('status_at').notNull(),
    statusEventId: text('status_event_id').notNull(),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
    httpStatus: integer('http_status'),
    error: text('error'),
    durationMs: integer('duration_ms'),
    /** What the task's `target.capture` kept of the worker's answer (migration 0007). */
    output: text('output', { mode: 'json' }).$type<CapturedOutput>(),
    /** How the task's cancel URL answered after an operator cancelled this attempt (migration 0009). */
    cancelCall: text('cancel_call', { mode: 'json' }).$type<CancelCall>(),
    /** The worker group and member the attempt went to (group targets only; migration 0011). */
    memberGroup: text('member_group'),
    memberUrl: text('member_url'),
  },
  (table) => [
    primaryKey({ columns: [table.executionId, table.attempt] }),
    // A group's per-member report: WHERE member_group = ? AND started_at in [from, to).
    index('execution_attempts_member_started').on(table.memberGroup, table.startedAt),
  ],
);

export const taskAudit = sqliteTable(
  'task_audit',
  {
    eventId: text('event_id').primaryKey(),
    taskId: text('task_id').notNull(),
    type: text('type').notNull(),
    actorId: text('actor_id').notNull(),
    actorKind: text('actor_kind').notNull(),
    revision: integer('revision'),
    before: text('before', { mode: 'json' }),
    after: text('after', { mode: 'json' }),
    /** note (paused) or trigger request and execution ids (triggered). */
    detail: text('detail', { mode: 'json' }),
    at: integer('at').notNull(),
  },
  (table) => [
    index('task_audit_task_at').on(table.taskId, sql`${table.at} desc`, sql`${table.eventId} desc`),
    index('task_audit_actor_at').on(table.actorId, sql`${table.at} desc`, sql`${table.eventId} desc`),
    index('task_audit_at').on(sql`${table.at} desc`, sql`${table.eventId} desc`),
  ],
);

/**
 * The audit facts of alert rule changes (`nono.alert-rule.*` on the alerts topic, written by
 * services/alerts): who created, replaced or deleted which rule, and the rule before and
 * after. Kept apart from `task_audit`, whose rows are about a task; `GET /audit` lists both.
 */
export const alertRuleAudit = sqliteTable(
  'alert_rule_audit',
  {
    eventId: text('event_id').primaryKey(),
    ruleId: text('rule_id').notNull(),
    type: text('type').notNull(),
    actorId: text('actor_id').notNull(),
    actorKind: text('actor_kind').notNull(),
    revision: integer('revision').notNull(),
    before: text('before', { mode: 'json' }),
    after: text('after', { mode: 'json' }),
    at: integer('at').notNull(),
  },
  (table) => [
    index('alert_rule_audit_rule_at').on(table.ruleId, sql`${table.at} desc`, sql`${table.eventId} desc`),
    index('alert_rule_audit_actor_at').on(table.actorId, sql`${table.at} desc`, sql`${table.eventId} desc`),
    index('alert_rule_audit_at').on(sql`${table.at} desc`, sql`${table.eventId} desc`),
  ],
);

/**
 * The audit facts of exclusion calendar changes (`nono.calendar.*` on the tasks topic, written
 * by the API through its outbox): who created, replaced or deleted which calendar, and the
 * calendar before and after (migration 0010). `GET /audit` lists them with the others.
 */
export const calendarAudit = sqliteTable(
  'calendar_audit',
  {
    eventId: text('event_id').primaryKey(),
    calendar: text('calendar').notNull(),
    type: text('type').notNull(),
    actorId: text('actor_id').notNull(),
    actorKind: text('actor_kind').notNull(),
    revision: integer('revision').notNull(),
    before: text('before', { mode: 'json' }),
    after: text('after', { mode: 'json' }),
    at: integer('at').notNull(),
  },
  (table) => [
    index('calendar_audit_calendar_at').on(table.calendar, sql`${table.at} desc`, sql`${table.eventId} desc`),
    index('calendar_audit_actor_at').on(table.actorId, sql`${table.at} desc`, sql`${table.eventId} desc`),
    index('calendar_audit_at').on(sql`${table.at} desc`, sql`${table.eventId} desc`),
  ],
);

export const schedulerEvents = sqliteTable(
  'scheduler_events',
  {
    eventId: text('event_id').primaryKey(),
    schedulerId: text('scheduler_id').notNull(),
    type: text('type').notNull(),
    detail: text('detail', { mode: 'json' }).notNull(),
    at: integer('at').notNull(),
  },
  (table) => [
    index('scheduler_events_at').on(sql`${table.at} desc`, sql`${table.eventId} desc`),
    index('scheduler_events_scheduler_at').on(table.schedulerId, sql`${table.at} desc`),
  ],
);

/**
 * Per task, per UTC day of the nominal instant. Maintained by deltas (a row's old
 * contribution out, its new one in), so it survives retention deleting the executions.
 */
export const taskDailyStats = sqliteTable(
  'task_daily_stats',
  {
    taskId: text('task_id').notNull(),
    day: text('day').notNull(),
    runs: integer('runs').notNull().default(0),
    succeeded: integer('succeeded').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    timedOut: integer('timed_out').notNull().default(0),
    skipped: integer('skipped').notNull().default(0),
    misfired: integer('misfired').notNull().default(0),
    lost: integer('lost').notNull().default(0),
    durationCount: integer('duration_count').notNull().default(0),
    durationSumMs: integer('duration_sum_ms').notNull().default(0),
    /** Only ever raised: a max cannot be taken back by a delta (documented imprecision). */
    durationMaxMs: integer('duration_max_ms').notNull().default(0),
  },
  (table) => [
    primaryKey({ columns: [table.taskId, table.day] }),
    index('task_daily_stats_day').on(table.day),
  ],
);

/**
 * Every distinct owner action on an execution: an attempt started (`fired`) or a decision
 * (`skipped`, `misfired`, `lost`), once per (attempt, kind, scheduler, fencing token). The
 * executions table keeps one ranked status per execution, and `processed_events` drops a
 * second `fired` of the same attempt as a repeat (its event id is derived from execution,
 * type and attempt), so without this table two schedulers firing the same instant, or a
 * stale owner acting, would leave no trace. The ledger reads it (`GET /tasks/:id/ledger`).
 * Keyed by task and nominal instant first (the ledger's range), in a WITHOUT ROWID table
 * (migration 0003). Not swept by retention: it is what accounts for an instant whose
 * execution row retention deleted.
 */
export const OWNER_ACTION_KINDS = ['fired', 'skipped', 'misfired', 'lost'] as const;
export type OwnerActionKind = (typeof OWNER_ACTION_KINDS)[number];

export const ownerActions = sqliteTable(
  'owner_actions',
  {
    taskId: text('task_id').notNull(),
    nominalTime: integer('nominal_time').notNull(),
    executionId: text('execution_id').notNull(),
    attempt: integer('attempt').notNull(),
    kind: text('kind').$type<OwnerActionKind>().notNull(),
    schedulerId: text('scheduler_id').notNull(),
    fencingToken: integer('fencing_token').notNull(),
    /** Event time of the earliest copy of this action (republished copies carry the same). */
    at: integer('at').notNull(),
    /** Skip reason, misfire action (`fire` / `skip`) or the scheduler that lost the execution. */
    detail: text('detail'),
  },
  (table) => [
    primaryKey({
      columns: [
        table.taskId,
        table.nominalTime,
        table.executionId,
        table.attempt,
        table.kind,
        table.schedulerId,
        table.fencingToken,
      ],
    }),
  ],
);
