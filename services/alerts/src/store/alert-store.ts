import { type AlertRule, type SchedulerTask, parseStoredAlertRule, parseStoredTask } from '@nono/domain';
import { Bookkeeping, type DeadLetter } from '@nono/projection';
import type Database from 'better-sqlite3';
import { and, asc, desc, eq, lt, lte, sql } from 'drizzle-orm';
import { type OpenDatabase } from './open-database.js';
import {
  type AlertState,
  alerts,
  deadManMarks,
  eventOutbox,
  notifications,
  rules,
  schedulerMembers,
  succeededInstants,
  taskDefinitions,
  taskOutcomes,
} from './schema.js';
import { type Member } from '../rules/membership.js';

export type AlertRow = typeof alerts.$inferSelect;
export type NotificationRow = typeof notifications.$inferSelect;
export type NewNotification = Omit<typeof notifications.$inferInsert, 'id'>;

export interface StoredRule {
  readonly rule: AlertRule;
  readonly createdAt: number;
}

export interface AlertQuery {
  readonly state?: AlertState;
  readonly taskId?: string;
  readonly ruleId?: string;
  readonly limit: number;
}

/**
 * Every read and write of the alerts database. Methods do not open transactions, except
 * `transaction`: the consumer wraps a whole chunk of records (with its offset) in one, the
 * HTTP routes and the dead-man check one per change, so an alert change and its outbox
 * rows are always committed together.
 */
export class AlertStore {
  readonly #open: OpenDatabase;
  /**
   * Prepared statements of the hot path (every record judged, every dead-man instant).
   * drizzle builds and prepares its SQL again on every call, which was four fifths of the
   * CPU of judging an event; these are prepared once. drizzle keeps the schema, the
   * migrations and the other queries.
   */
  readonly #statements = new Map<string, Database.Statement>();

  /** Offsets, processed event ids and dead letters (libs/projection). */
  readonly #bookkeeping: Bookkeeping;

  constructor(open: OpenDatabase) {
    this.#open = open;
    this.#bookkeeping = new Bookkeeping(open.sqlite);
  }

  #statement(sqlText: string): Database.Statement {
    let statement = this.#statements.get(sqlText);
    if (statement === undefined)
      this.#statements.set(sqlText, (statement = this.#open.sqlite.prepare(sqlText)));
    return statement;
  }

  transaction<T>(work: () => T): T {
    return this.#open.sqlite.transaction(work).immediate();
  }

  // --- rules ---

  listRules(): StoredRule[] {
    return this.#open.db
      .select()
      .from(rules)
      .orderBy(asc(rules.id))
      .all()
      .map((row) => ({ rule: parseRule(row.document), createdAt: row.createdAt }));
  }

  findRule(id: string): StoredRule | undefined {
    const row = this.#open.db.select().from(rules).where(eq(rules.id, id)).get();
    return row === undefined ? undefined : { rule: parseRule(row.document), createdAt: row.createdAt };
  }

  saveRule(rule: AlertRule, createdAt: number): void {
    this.#open.db
      .insert(rules)
      .values({ id: rule.id, revision: rule.revision, document: JSON.stringify(rule), createdAt })
      .onConflictDoUpdate({
        target: rules.id,
        set: { revision: rule.revision, document: JSON.stringify(rule) },
      })
      .run();
  }

  deleteRule(id: string): void {
    this.#open.db.delete(rules).where(eq(rules.id, id)).run();
    this.#open.db.delete(deadManMarks).where(eq(deadManMarks.ruleId, id)).run();
  }

  // --- alerts ---

  openAlert(ruleId: string, taskId: string): AlertRow | undefined {
    const row = this.#statement(
      `SELECT * FROM alerts WHERE rule_id = ? AND task_id = ? AND state = 'open'`,
    ).get(ruleId, taskId) as AlertRecord | undefined;
    return row === undefined ? undefined : alertOf(row);
  }

  openAlertsOf(filter: { taskId: string } | { ruleId: string }): AlertRow[] {
    const rows = (
      'taskId' in filter
        ? this.#statement(`SELECT * FROM alerts WHERE task_id = ? AND state = 'open'`).all(filter.taskId)
        : this.#statement(`SELECT * FROM alerts WHERE rule_id = ? AND state = 'open'`).all(filter.ruleId)
    ) as AlertRecord[];
    return rows.map(alertOf);
  }

  findAlert(id: string): AlertRow | undefined {
    return this.#open.db.select().from(alerts).where(eq(alerts.id, id)).get();
  }

  listAlerts(query: AlertQuery): AlertRow[] {
    return this.#open.db
      .select()
      .from(alerts)
      .where(
        and(
          query.state === undefined ? undefined : eq(alerts.state, query.state),
          query.taskId === undefined ? undefined : eq(alerts.taskId, query.taskId),
          query.ruleId === undefined ? undefined : eq(alerts.ruleId, query.ruleId),
        ),
      )
      .orderBy(desc(alerts.openedAt), desc(alerts.id))
      .limit(query.limit)
      .all();
  }

  insertAlert(row: AlertRow): void {
    const record = recordOf(row);
    const columns = Object.keys(record);
    this.#statement(
      `INSERT INTO alerts (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`,
    ).run(record);
  }

  updateAlert(id: string, change: Partial<Omit<AlertRow, 'id'>>): void {
    const record = recordOf(change);
    const columns = Object.keys(record);
    this.#statement(`UPDATE alerts SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`).run({
      ...record,
      id,
    });
  }

  // --- outboxes ---

  enqueueEvent(eventId: string, json: string): void {
    this.#statement(`INSERT INTO event_outbox (event_id, json) VALUES (?, ?) ON CONFLICT DO NOTHING`).run(
      eventId,
      json,
    );
  }

  pendingEvents(limit: number): { seq: number; json: string }[] {
    return this.#open.db
      .select({ seq: eventOutbox.seq, json: eventOutbox.json })
      .from(eventOutbox)
      .orderBy(asc(eventOutbox.seq))
      .limit(limit)
      .all();
  }

  deleteEventsUpTo(seq: number): void {
    this.#open.db.delete(eventOutbox).where(lte(eventOutbox.seq, seq)).run();
  }

  enqueueNotification(row: NewNotification): void {
    this.#statement(
      `INSERT INTO notifications (idempotency_key, channel_index, channel, alert_id, transition, content, state,
         attempts, next_attempt_at, last_error, created_at, sent_at)
       VALUES (@idempotencyKey, @channelIndex, @channel, @alertId, @transition, @content, @state,
         @attempts, @nextAttemptAt, @lastError, @createdAt, @sentAt)
       ON CONFLICT DO NOTHING`,
    ).run({ lastError: null, sentAt: null, ...row });
  }

  dueNotifications(now: number, limit: number): NotificationRow[] {
    return this.#open.db
      .select()
      .from(notifications)
      .where(and(eq(notifications.state, 'pending'), lte(notifications.nextAttemptAt, now)))
      .orderBy(asc(notifications.nextAttemptAt), asc(notifications.id))
      .limit(limit)
      .all();
  }

  /** When the earliest pending notification is due, if any is pending. */
  nextNotificationDue(): number | undefined {
    return (
      this.#open.db
        .select({ at: sql<number | null>`min(${notifications.nextAttemptAt})` })
        .from(notifications)
        .where(eq(notifications.state, 'pending'))
        .get()?.at ?? undefined
    );
  }

  updateNotification(id: number, change: Partial<Omit<NotificationRow, 'id'>>): void {
    this.#open.db.update(notifications).set(change).where(eq(notifications.id, id)).run();
  }

  notificationsOf(alertId: string): NotificationRow[] {
    return this.#open.db
      .select()
      .from(notifications)
      .where(eq(notifications.alertId, alertId))
      .orderBy(asc(notifications.id))
      .all();
  }

  countNotifications(state: 'pending' | 'failed'): number {
    return (
      this.#open.db
        .select({ n: sql<number>`count(*)` })
        .from(notifications)
        .where(eq(notifications.state, state))
        .get()?.n ?? 0
    );
  }

  // --- what conditions are judged on ---

  saveDefinition(taskId: string, at: number, eventId: string, task: SchedulerTask | undefined): void {
    this.#statement(
      `INSERT INTO task_definitions (task_id, at, event_id, task) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ).run(taskId, at, eventId, task === undefined ? null : JSON.stringify(task));
  }

  definitionsOf(taskId: string): { at: number; task: SchedulerTask | undefined }[] {
    return this.#open.db
      .select({ at: taskDefinitions.at, task: taskDefinitions.task })
      .from(taskDefinitions)
      .where(eq(taskDefinitions.taskId, taskId))
      .orderBy(asc(taskDefinitions.at))
      .all()
      .map((row) => ({ at: row.at, task: row.task === null ? undefined : parseTask(row.task) }));
  }

  /** Tasks whose latest definition exists (not deleted). */
  definedTaskIds(): string[] {
    return this.#open.sqlite
      .prepare<[], { task_id: string }>(
        `SELECT d.task_id FROM task_definitions d
          WHERE d.task IS NOT NULL
            AND d.at = (SELECT max(at) FROM task_definitions WHERE task_id = d.task_id)
          GROUP BY d.task_id`,
      )
      .all()
      .map((row) => row.task_id);
  }

  recordSuccess(taskId: string, nominalTime: number): void {
    this.#statement(
      `INSERT INTO succeeded_instants (task_id, nominal_time) VALUES (?, ?) ON CONFLICT DO NOTHING`,
    ).run(taskId, nominalTime);
  }

  succeeded(taskId: string, nominalTime: number): boolean {
    return (
      this.#statement(`SELECT 1 FROM succeeded_instants WHERE task_id = ? AND nominal_time = ?`).get(
        taskId,
        nominalTime,
      ) !== undefined
    );
  }

  /** Adds `delta` to a task's failure streak (or resets it with `reset`); answers the new streak. */
  bumpStreak(taskId: string, reset: boolean): number {
    const row = this.#statement(
      `INSERT INTO task_streaks (task_id, consecutive_failures) VALUES (?, ?)
       ON CONFLICT (task_id) DO UPDATE SET consecutive_failures = ${reset ? '0' : 'consecutive_failures + 1'}
       RETURNING consecutive_failures AS streak`,
    ).get(taskId, reset ? 0 : 1) as { streak: number };
    return row.streak;
  }

  deadManMark(ruleId: string, taskId: string): number | undefined {
    const row = this.#statement(
      `SELECT checked_until AS at FROM dead_man_marks WHERE rule_id = ? AND task_id = ?`,
    ).get(ruleId, taskId) as { at: number } | undefined;
    return row?.at;
  }

  saveDeadManMark(ruleId: string, taskId: string, checkedUntil: number): void {
    this.#statement(
      `INSERT INTO dead_man_marks (rule_id, task_id, checked_until) VALUES (?, ?, ?)
       ON CONFLICT (rule_id, task_id) DO UPDATE SET checked_until = excluded.checked_until`,
    ).run(ruleId, taskId, checkedUntil);
  }

  recordOutcome(taskId: string, at: number, executionId: string, succeeded: boolean): void {
    this.#statement(
      `INSERT INTO task_outcomes (task_id, at, execution_id, succeeded) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ).run(taskId, at, executionId, succeeded ? 1 : 0);
  }

  /** The task's final outcomes in [from, to]. */
  outcomes(taskId: string, from: number, to: number): { succeeded: number; total: number } {
    const row = this.#statement(
      `SELECT count(*) AS total, coalesce(sum(succeeded), 0) AS succeeded
         FROM task_outcomes WHERE task_id = ? AND at >= ? AND at <= ?`,
    ).get(taskId, from, to) as { total: number; succeeded: number };
    return { succeeded: row.succeeded, total: row.total };
  }

  members(): Map<string, Member> {
    return new Map(
      this.#open.db
        .select()
        .from(schedulerMembers)
        .all()
        .map((row) => [row.schedulerId, { live: row.live, changedAt: row.changedAt }]),
    );
  }

  saveMember(schedulerId: string, member: Member): void {
    this.#statement(
      `INSERT INTO scheduler_members (scheduler_id, live, changed_at) VALUES (?, ?, ?)
       ON CONFLICT (scheduler_id) DO UPDATE SET live = excluded.live, changed_at = excluded.changed_at`,
    ).run(schedulerId, member.live ? 1 : 0, member.changedAt);
  }

  clusterMark(name: string): number | undefined {
    const row = this.#statement(`SELECT at FROM cluster_marks WHERE name = ?`).get(name) as
      { at: number } | undefined;
    return row?.at;
  }

  saveClusterMark(name: string, at: number | undefined): void {
    if (at === undefined) this.#statement(`DELETE FROM cluster_marks WHERE name = ?`).run(name);
    else
      this.#statement(
        `INSERT INTO cluster_marks (name, at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at`,
      ).run(name, at);
  }

  // --- the consumer's position ---

  /** Records an event id; false when it was already recorded (the same fact published twice). */
  markProcessed(eventId: string, at: number): boolean {
    return this.#bookkeeping.markProcessed(eventId, at);
  }

  /** `markProcessed` for an execution fact, keyed by its nominal instant (factKey). */
  markFactProcessed(eventId: string, nominalTime: number, at: number): boolean {
    return this.#bookkeeping.markFactProcessed(eventId, nominalTime, at);
  }

  /**
   * Housekeeping: event ids seen more than `dedupeMs` ago (a fact republished later than
   * that would count twice), succeeded instants and final outcomes older than `successMs`
   * (longer than any dead-man grace or success-rate window, so no check still needs them), and delivered notifications older than
   * `deliveredMs`.
   */
  forgetOld(now: number, keep: { dedupeMs: number; successMs: number; deliveredMs: number }): void {
    this.transaction(() => {
      this.#bookkeeping.forgetProcessedBefore(now - keep.dedupeMs);
      this.#open.db
        .delete(succeededInstants)
        .where(lt(succeededInstants.nominalTime, now - keep.successMs))
        .run();
      this.#open.db
        .delete(taskOutcomes)
        .where(lt(taskOutcomes.at, now - keep.successMs))
        .run();
      this.#open.db
        .delete(notifications)
        .where(and(eq(notifications.state, 'sent'), lt(notifications.createdAt, now - keep.deliveredMs)))
        .run();
    });
  }

  nextOffset(topic: string, partition: number): number | undefined {
    return this.#bookkeeping.nextOffset(topic, partition);
  }

  saveOffset(topic: string, partition: number, nextOffset: number): void {
    this.#bookkeeping.saveOffset(topic, partition, nextOffset);
  }

  deadLetter(entry: DeadLetter): void {
    this.#bookkeeping.deadLetter(entry);
  }
}

function parseRule(json: string): AlertRule {
  const parsed = parseStoredAlertRule(JSON.parse(json));
  if (!parsed.ok) throw new Error(`stored rule does not match its schema: ${JSON.stringify(parsed.issues)}`);
  return parsed.value;
}

function parseTask(json: string): SchedulerTask {
  const parsed = parseStoredTask(JSON.parse(json));
  if (!parsed.ok)
    throw new Error(`stored definition does not match its schema: ${JSON.stringify(parsed.issues)}`);
  return parsed.value;
}

/** An alerts row as SQLite returns it (snake_case columns). */
type AlertRecord = Record<string, unknown>;

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (name: string): string => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The column names and values of (part of) an alert, for the raw statements. */
function recordOf(row: Partial<AlertRow>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [snake(key), value]));
}

function alertOf(record: AlertRecord): AlertRow {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [camel(key), value])) as AlertRow;
}
