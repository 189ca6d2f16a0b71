import { type AlertRule, type SchedulerTask, parseStoredAlertRule, parseStoredTask } from '@nono/domain';
import { and, asc, desc, eq, lt, lte, sql } from 'drizzle-orm';
import { type OpenDatabase } from './open-database.js';
import {
  type AlertState,
  alerts,
  consumerOffsets,
  deadLetters,
  deadManMarks,
  eventOutbox,
  notifications,
  processedEvents,
  rules,
  succeededInstants,
  taskDefinitions,
  taskStreaks,
} from './schema.js';

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

  constructor(open: OpenDatabase) {
    this.#open = open;
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
    return this.#open.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.ruleId, ruleId), eq(alerts.taskId, taskId), eq(alerts.state, 'open')))
      .get();
  }

  openAlertsOf(filter: { taskId?: string; ruleId?: string }): AlertRow[] {
    return this.#open.db
      .select()
      .from(alerts)
      .where(
        and(
          eq(alerts.state, 'open'),
          filter.taskId === undefined ? undefined : eq(alerts.taskId, filter.taskId),
          filter.ruleId === undefined ? undefined : eq(alerts.ruleId, filter.ruleId),
        ),
      )
      .all();
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
    this.#open.db.insert(alerts).values(row).run();
  }

  updateAlert(id: string, change: Partial<Omit<AlertRow, 'id'>>): void {
    this.#open.db.update(alerts).set(change).where(eq(alerts.id, id)).run();
  }

  // --- outboxes ---

  enqueueEvent(eventId: string, json: string): void {
    this.#open.db.insert(eventOutbox).values({ eventId, json }).onConflictDoNothing().run();
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
    this.#open.db.insert(notifications).values(row).onConflictDoNothing().run();
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
    this.#open.db
      .insert(taskDefinitions)
      .values({ taskId, at, eventId, task: task === undefined ? null : JSON.stringify(task) })
      .onConflictDoNothing()
      .run();
  }

  /** The definition in force now (the latest event's), undefined when deleted or never defined. */
  currentDefinition(taskId: string): SchedulerTask | undefined {
    const row = this.#open.db
      .select({ task: taskDefinitions.task })
      .from(taskDefinitions)
      .where(eq(taskDefinitions.taskId, taskId))
      .orderBy(desc(taskDefinitions.at), desc(taskDefinitions.eventId))
      .limit(1)
      .get();
    return row?.task == null ? undefined : parseTask(row.task);
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
    this.#open.db.insert(succeededInstants).values({ taskId, nominalTime }).onConflictDoNothing().run();
  }

  succeeded(taskId: string, nominalTime: number): boolean {
    return (
      this.#open.db
        .select({ n: succeededInstants.nominalTime })
        .from(succeededInstants)
        .where(and(eq(succeededInstants.taskId, taskId), eq(succeededInstants.nominalTime, nominalTime)))
        .get() !== undefined
    );
  }

  /** Adds `delta` to a task's failure streak (or resets it with `reset`); answers the new streak. */
  bumpStreak(taskId: string, reset: boolean): number {
    const current =
      this.#open.db.select().from(taskStreaks).where(eq(taskStreaks.taskId, taskId)).get()
        ?.consecutiveFailures ?? 0;
    const next = reset ? 0 : current + 1;
    this.#open.db
      .insert(taskStreaks)
      .values({ taskId, consecutiveFailures: next })
      .onConflictDoUpdate({ target: taskStreaks.taskId, set: { consecutiveFailures: next } })
      .run();
    return next;
  }

  deadManMark(ruleId: string, taskId: string): number | undefined {
    return this.#open.db
      .select()
      .from(deadManMarks)
      .where(and(eq(deadManMarks.ruleId, ruleId), eq(deadManMarks.taskId, taskId)))
      .get()?.checkedUntil;
  }

  saveDeadManMark(ruleId: string, taskId: string, checkedUntil: number): void {
    this.#open.db
      .insert(deadManMarks)
      .values({ ruleId, taskId, checkedUntil })
      .onConflictDoUpdate({ target: [deadManMarks.ruleId, deadManMarks.taskId], set: { checkedUntil } })
      .run();
  }

  // --- the consumer's position ---

  /** Records an event id; false when it was already recorded (the same fact published twice). */
  markProcessed(eventId: string, at: number): boolean {
    return (
      this.#open.db.insert(processedEvents).values({ eventId, at }).onConflictDoNothing().run().changes > 0
    );
  }

  /**
   * Housekeeping: event ids seen more than `dedupeMs` ago (a fact republished later than
   * that would count twice), succeeded instants older than `successMs` (longer than any
   * dead-man grace, so no check still needs them), and delivered notifications older than
   * `deliveredMs`.
   */
  forgetOld(now: number, keep: { dedupeMs: number; successMs: number; deliveredMs: number }): void {
    this.transaction(() => {
      this.#open.db
        .delete(processedEvents)
        .where(lt(processedEvents.at, now - keep.dedupeMs))
        .run();
      this.#open.db
        .delete(succeededInstants)
        .where(lt(succeededInstants.nominalTime, now - keep.successMs))
        .run();
      this.#open.db
        .delete(notifications)
        .where(and(eq(notifications.state, 'sent'), lt(notifications.createdAt, now - keep.deliveredMs)))
        .run();
    });
  }

  nextOffset(topic: string, partition: number): number | undefined {
    return this.#open.db
      .select()
      .from(consumerOffsets)
      .where(and(eq(consumerOffsets.topic, topic), eq(consumerOffsets.partition, partition)))
      .get()?.nextOffset;
  }

  saveOffset(topic: string, partition: number, nextOffset: number): void {
    this.#open.db
      .insert(consumerOffsets)
      .values({ topic, partition, nextOffset })
      .onConflictDoUpdate({
        target: [consumerOffsets.topic, consumerOffsets.partition],
        set: { nextOffset },
      })
      .run();
  }

  deadLetter(entry: { topic: string; partition: number; offset: number; issues: unknown; at: number }): void {
    this.#open.db
      .insert(deadLetters)
      .values({ ...entry, issues: JSON.stringify(entry.issues) })
      .onConflictDoNothing()
      .run();
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
