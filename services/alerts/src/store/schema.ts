import { type AlertConditionKind, type AlertResolveReason } from '@nono/domain';
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

// The bookkeeping tables, defined once for every service that keeps a database of the topics.
export { consumerOffsets, deadLetters, processedEvents, projectionMeta } from '@nono/projection';

/**
 * The alerts database: rules, alerts, the two outboxes (alert events for Kafka,
 * notifications for channels) and what the consumer needs to judge conditions (task
 * definitions, succeeded instants, failure streaks), with the consumer's bookkeeping
 * (offsets, processed event ids, dead letters: libs/projection). Instants
 * are epoch milliseconds. Changing this file means `npx drizzle-kit generate` in
 * services/alerts and committing the new migration under drizzle/.
 */

export const rules = sqliteTable('rules', {
  id: text('id').primaryKey(),
  revision: integer('revision').notNull(),
  /** The whole rule (AlertRule) as JSON: parsed with its schema on every read. */
  document: text('document').notNull(),
  createdAt: integer('created_at').notNull(),
});

export const ALERT_STATES = ['open', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

export const alerts = sqliteTable(
  'alerts',
  {
    id: text('id').primaryKey(),
    ruleId: text('rule_id').notNull(),
    ruleRevision: integer('rule_revision').notNull(),
    taskId: text('task_id').notNull(),
    condition: text('condition').$type<AlertConditionKind>().notNull(),
    state: text('state').$type<AlertState>().notNull(),
    summary: text('summary').notNull(),
    executionId: text('execution_id'),
    nominalTime: integer('nominal_time'),
    openedAt: integer('opened_at').notNull(),
    resolvedAt: integer('resolved_at'),
    resolveReason: text('resolve_reason').$type<AlertResolveReason>(),
    /** Times the condition held while open (1 at opening). */
    occurrences: integer('occurrences').notNull(),
    /** Notifications sent so far (1 at opening, +1 per re-notification). */
    notifications: integer('notifications').notNull(),
    lastNotifiedAt: integer('last_notified_at').notNull(),
    acknowledgedAt: integer('acknowledged_at'),
    acknowledgedBy: text('acknowledged_by'),
    acknowledgeNote: text('acknowledge_note'),
    silencedUntil: integer('silenced_until'),
    silencedBy: text('silenced_by'),
    silenceNote: text('silence_note'),
    updatedAt: integer('updated_at').notNull(),
  },
  (table) => [
    // At most one open alert per rule and task: a recurrence counts on it instead.
    uniqueIndex('alerts_open_rule_task')
      .on(table.ruleId, table.taskId)
      .where(sql`${table.state} = 'open'`),
    index('alerts_state_opened').on(table.state, sql`${table.openedAt} desc`),
    index('alerts_task_opened').on(table.taskId, sql`${table.openedAt} desc`),
    // A task's open alerts, read for every success: resolved ones (kept for months) are not in it.
    index('alerts_open_task')
      .on(table.taskId)
      .where(sql`${table.state} = 'open'`),
  ],
);

/** Alert events not yet acknowledged by Kafka, in the order they were decided. */
export const eventOutbox = sqliteTable('event_outbox', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  eventId: text('event_id').notNull().unique(),
  json: text('json').notNull(),
});

export const NOTIFICATION_STATES = ['pending', 'sent', 'failed'] as const;
export type NotificationState = (typeof NOTIFICATION_STATES)[number];

/**
 * One notification to one channel. Written in the same transaction as the alert change
 * that caused it, so a crash can delay a notification but never lose it; the dispatcher
 * sends it until the receiver accepts it, with the same idempotency key every time.
 */
export const notifications = sqliteTable(
  'notifications',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    idempotencyKey: text('idempotency_key').notNull(),
    channelIndex: integer('channel_index').notNull(),
    /** The channel (AlertChannel) as JSON, as the rule had it when the notification was decided. */
    channel: text('channel').notNull(),
    alertId: text('alert_id').notNull(),
    transition: text('transition').notNull(),
    /** The notification's content (NotificationContent) as JSON: every retry sends the same. */
    content: text('content').notNull(),
    state: text('state').$type<NotificationState>().notNull(),
    attempts: integer('attempts').notNull(),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    lastError: text('last_error'),
    createdAt: integer('created_at').notNull(),
    sentAt: integer('sent_at'),
  },
  (table) => [
    uniqueIndex('notifications_key_channel').on(table.idempotencyKey, table.channelIndex),
    index('notifications_due').on(table.state, table.nextAttemptAt),
  ],
);

/** Every definition event of a task: the dead-man check's schedule and pause history, and its labels. */
export const taskDefinitions = sqliteTable(
  'task_definitions',
  {
    taskId: text('task_id').notNull(),
    at: integer('at').notNull(),
    eventId: text('event_id').notNull(),
    /** The definition in force from `at` (SchedulerTask JSON), or null after a deletion. */
    task: text('task'),
  },
  (table) => [primaryKey({ columns: [table.taskId, table.at, table.eventId] })],
);

/** Scheduled instants that succeeded: what the dead-man check looks for. */
export const succeededInstants = sqliteTable(
  'succeeded_instants',
  {
    taskId: text('task_id').notNull(),
    nominalTime: integer('nominal_time').notNull(),
  },
  (table) => [primaryKey({ columns: [table.taskId, table.nominalTime] })],
);

export const taskStreaks = sqliteTable('task_streaks', {
  taskId: text('task_id').primaryKey(),
  /** Final failures (failed, timed out or lost without a re-run) since the last success. */
  consecutiveFailures: integer('consecutive_failures').notNull(),
});

/** Final outcomes (succeeded, or failed with no attempt left) by the fact's time: what success-rate rules count. */
export const taskOutcomes = sqliteTable(
  'task_outcomes',
  {
    taskId: text('task_id').notNull(),
    at: integer('at').notNull(),
    executionId: text('execution_id').notNull(),
    succeeded: integer('succeeded', { mode: 'boolean' }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.taskId, table.at, table.executionId] })],
);

/** Schedulers as the cluster topic describes them: joined, left, or missing from a survivor's member list. */
export const schedulerMembers = sqliteTable('scheduler_members', {
  schedulerId: text('scheduler_id').primaryKey(),
  live: integer('live', { mode: 'boolean' }).notNull(),
  /** The time of the fact that set `live`: an older fact read later does not undo it. */
  changedAt: integer('changed_at').notNull(),
});

/** Instants the cluster checks keep: since when no scheduler has been live (`no-scheduler-since`). */
export const clusterMarks = sqliteTable('cluster_marks', {
  name: text('name').primaryKey(),
  at: integer('at').notNull(),
});

/** Per dead-man rule and task: every due instant before `checkedUntil` was judged. */
export const deadManMarks = sqliteTable(
  'dead_man_marks',
  {
    ruleId: text('rule_id').notNull(),
    taskId: text('task_id').notNull(),
    checkedUntil: integer('checked_until').notNull(),
  },
  (table) => [primaryKey({ columns: [table.ruleId, table.taskId] })],
);
