import { type AlertRule, type SchedulerTask, parseStoredAlertRule, parseStoredTask } from '@nono/domain';
import { Bookkeeping, type DeadLetter, TableCodec } from '@nono/projection';
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
  taskOutcomes,
} from './schema.js';
import { type Member } from '../rules/membership.js';

export type AlertRow = typeof alerts.$inferSelect;
/** What decides whether an occurrence on an open alert notifies again, and where its row is. */
export type OpenAlertCounters = Pick<
  AlertRow,
  'id' | 'occurrences' | 'notifications' | 'lastNotifiedAt' | 'acknowledgedAt' | 'silencedUntil'
> & { readonly rowid: number };
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
    return this.#statement(SELECT_OPEN_ALERT).get(ruleId, taskId) as AlertRow | undefined;
  }

  /** The open alert of a rule and task, only what decides whether an occurrence notifies again. */
  openAlertCounters(ruleId: string, taskId: string): OpenAlertCounters | undefined {
    return this.#statement(
      `SELECT rowid AS rowid, id, occurrences, notifications, last_notified_at AS lastNotifiedAt,
              acknowledged_at AS acknowledgedAt, silenced_until AS silencedUntil
         FROM alerts WHERE rule_id = ? AND task_id = ? AND state = 'open'`,
    ).get(ruleId, taskId) as OpenAlertCounters | undefined;
  }

  /**
   * An occurrence that counts on an open alert without notifying. By the row's rowid, read
   * in the same transaction: no descent of the index of random alert ids.
   */
  countOccurrence(alert: OpenAlertCounters, occurrences: number, at: number): void {
    this.#statement(`UPDATE alerts SET occurrences = ?, updated_at = ? WHERE rowid = ?`).run(
      occurrences,
      at,
      alert.rowid,
    );
  }

  openAlertsOf(filter: { taskId: string } | { ruleId: string }): AlertRow[] {
    return (
      'taskId' in filter
        ? this.#statement(SELECT_OPEN_ALERTS_OF_TASK).all(filter.taskId)
        : this.#statement(SELECT_OPEN_ALERTS_OF_RULE).all(filter.ruleId)
    ) as AlertRow[];
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
    this.#statement(INSERT_ALERT).run(ALERT.values(row));
  }

  /** Sets the fields of `change` (one statement per set of fields, prepared once). */
  updateAlert(id: string, change: Partial<Omit<AlertRow, 'id'>>): void {
    const keys = Object.keys(change);
    this.#statement(ALERT.updateSql(keys, ['id'])).run([...ALERT.values(change, keys), id]);
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
    return this.#statement(SELECT_DUE_NOTIFICATIONS)
      .all(now, limit)
      .map((row) => NOTIFICATION.decode(row));
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

  /** Sets the fields of `change`: after every delivery attempt (one statement per set of fields, prepared once). */
  updateNotification(id: number, change: Partial<Omit<NotificationRow, 'id'>>): void {
    const keys = Object.keys(change);
    this.#statement(NOTIFICATION.updateSql(keys, ['id'])).run([...NOTIFICATION.values(change, keys), id]);
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

  /** A task's definition history, oldest first: read once per task by the engine (a first event of each). */
  definitionsOf(taskId: string): { at: number; task: SchedulerTask | undefined }[] {
    return (
      this.#statement(`SELECT at, task FROM task_definitions WHERE task_id = ? ORDER BY at`).all(taskId) as {
        at: number;
        task: string | null;
      }[]
    ).map((row) => ({ at: row.at, task: row.task === null ? undefined : parseTask(row.task) }));
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

  /** Counts one more final failure in a task's streak, or resets it (`reset`); answers the streak. */
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

/** The SQL of the hot statements on these tables, derived from their drizzle definitions. */
const ALERT = new TableCodec(alerts);
const NOTIFICATION = new TableCodec(notifications);
// Built once: #statement finds a prepared statement by its text, which a template literal would build again on every call.
const SELECT_OPEN_ALERT = `SELECT ${ALERT.selectList()} FROM alerts WHERE rule_id = ? AND task_id = ? AND state = 'open'`;
const SELECT_OPEN_ALERTS_OF_TASK = `SELECT ${ALERT.selectList()} FROM alerts WHERE task_id = ? AND state = 'open'`;
const SELECT_OPEN_ALERTS_OF_RULE = `SELECT ${ALERT.selectList()} FROM alerts WHERE rule_id = ? AND state = 'open'`;
const SELECT_DUE_NOTIFICATIONS = `SELECT ${NOTIFICATION.selectList()} FROM notifications
  WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`;
const INSERT_ALERT = ALERT.insertSql();
