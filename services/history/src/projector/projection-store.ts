import { Bookkeeping, type DeadLetter, type StoredOffset, TableCodec } from '@nono/projection';
import type Database from 'better-sqlite3';
import { AbsenceFilter } from '../store/absence-filter.js';
import { DeferredEventIds } from '../store/deferred-event-ids.js';
import { type HistoryDb } from '../store/open-database.js';
import {
  alertRuleAudit,
  calendarAudit,
  executionAttempts,
  executions,
  ownerActions,
  schedulerEvents,
  taskAudit,
  taskDailyStats,
} from '../store/schema.js';
import { type DailyContribution } from './daily-contribution.js';
import { type AttemptRow, type ExecutionRow } from './execution-merge.js';
import { type ExecutionFact } from './execution-fact.js';
import { ownerActionOf } from './owner-action.js';

export type AuditRow = typeof taskAudit.$inferInsert;
export type RuleAuditRow = typeof alertRuleAudit.$inferInsert;
export type CalendarAuditRow = typeof calendarAudit.$inferInsert;
export type SchedulerEventRow = typeof schedulerEvents.$inferInsert;

const executionCodec = new TableCodec(executions);
const attemptCodec = new TableCodec(executionAttempts);
const dailyCodec = new TableCodec(taskDailyStats);
const auditCodec = new TableCodec(taskAudit);
const ruleAuditCodec = new TableCodec(alertRuleAudit);
const calendarAuditCodec = new TableCodec(calendarAudit);
const schedulerEventCodec = new TableCodec(schedulerEvents);
const actionCodec = new TableCodec(ownerActions);

/** What a fact can change in an existing execution: everything but its identity (id, task, nominal instant). */
const EXECUTION_MUTABLE = executionCodec.keys.filter(
  (key) => key !== 'executionId' && key !== 'taskId' && key !== 'nominalTime',
);
const ATTEMPT_MUTABLE = attemptCodec.keys.filter((key) => key !== 'executionId' && key !== 'attempt');
const DAILY_SUMS = dailyCodec.keys.filter(
  (key) => key !== 'taskId' && key !== 'day' && key !== 'durationMaxMs',
);

/**
 * The projector's writes, as raw better-sqlite3 statements prepared once (drizzle's
 * placeholder filling cost as much as the statements themselves; drizzle keeps the schema,
 * the migrations and the queries). Every method must run inside the batch transaction (see
 * BatchProjector): rows and offsets commit together or not at all.
 */
export class ProjectionStore {
  readonly db: HistoryDb;
  readonly #sqlite: Database.Database;
  /** Set for a fresh file only this store writes (a rebuild): executions and attempts it never inserted are not read. */
  readonly #inserted: { executions: AbsenceFilter; attempts: AbsenceFilter } | undefined;
  /** Set for a fresh file: processed event ids kept in memory, written in key order by `writeDeferred`. */
  readonly #deferredIds: DeferredEventIds | undefined;
  /** Nesting of `transaction` / `savepoint` calls (the deferred ids' journal is settled at 0). */
  #depth = 0;
  /** Offsets, processed event ids and dead letters (libs/projection). */
  readonly #bookkeeping: Bookkeeping;
  readonly #selectExecution: Database.Statement<[string], unknown>;
  readonly #insertExecution: Database.Statement<unknown[]>;
  readonly #updateExecution: Database.Statement<unknown[]>;
  readonly #selectAttempt: Database.Statement<[string, number], unknown>;
  readonly #insertAttempt: Database.Statement<unknown[]>;
  readonly #updateAttempt: Database.Statement<unknown[]>;
  readonly #addDailyStats: Database.Statement<unknown[]>;
  readonly #insertAudit: Database.Statement<unknown[]>;
  readonly #insertRuleAudit: Database.Statement<unknown[]>;
  readonly #insertCalendarAudit: Database.Statement<unknown[]>;
  readonly #insertSchedulerEvent: Database.Statement<unknown[]>;
  readonly #insertAction: Database.Statement<unknown[]>;

  /**
   * `freshFile`: the database was created empty for this store, which alone writes it until
   * it is closed (BulkLoad). Reads of rows it never inserted are then skipped, and the
   * processed event ids are kept in memory until `writeDeferred`, which must run before
   * the file is used by anything else.
   */
  constructor(db: HistoryDb, options: { freshFile?: boolean } = {}) {
    this.db = db;
    const sqlite = db.$client;
    this.#sqlite = sqlite;
    this.#inserted =
      options.freshFile === true
        ? { executions: new AbsenceFilter(), attempts: new AbsenceFilter() }
        : undefined;
    this.#deferredIds = options.freshFile === true ? new DeferredEventIds() : undefined;
    this.#bookkeeping = new Bookkeeping(sqlite);
    this.#selectExecution = sqlite.prepare(
      `select ${executionCodec.selectList()} from executions where ${executionCodec.whereSql(['executionId'])}`,
    );
    this.#insertExecution = sqlite.prepare(executionCodec.insertSql());
    // Only mutable columns are assigned, so the indexes led by task and nominal instant are never rewritten.
    this.#updateExecution = sqlite.prepare(executionCodec.updateSql(EXECUTION_MUTABLE, ['executionId']));
    this.#selectAttempt = sqlite.prepare(
      `select ${attemptCodec.selectList()} from execution_attempts where ${attemptCodec.whereSql(['executionId', 'attempt'])}`,
    );
    this.#insertAttempt = sqlite.prepare(attemptCodec.insertSql());
    this.#updateAttempt = sqlite.prepare(attemptCodec.updateSql(ATTEMPT_MUTABLE, ['executionId', 'attempt']));
    // The inserted values are deltas: a new day starts at them, an existing one adds them.
    this.#addDailyStats = sqlite.prepare(
      dailyCodec.insertSql(
        `on conflict (task_id, day) do update set ${DAILY_SUMS.map((key) => {
          const column = dailyCodec.column(key);
          return `${column} = task_daily_stats.${column} + excluded.${column}`;
        }).join(', ')}, duration_max_ms = max(task_daily_stats.duration_max_ms, excluded.duration_max_ms)`,
      ),
    );
    this.#insertAudit = sqlite.prepare(auditCodec.insertSql('on conflict do nothing'));
    this.#insertRuleAudit = sqlite.prepare(ruleAuditCodec.insertSql('on conflict do nothing'));
    this.#insertCalendarAudit = sqlite.prepare(calendarAuditCodec.insertSql('on conflict do nothing'));
    this.#insertSchedulerEvent = sqlite.prepare(schedulerEventCodec.insertSql('on conflict do nothing'));
    // The earliest event time wins, so the row does not depend on which copy arrived first.
    this.#insertAction = sqlite.prepare(
      actionCodec.insertSql('on conflict do update set at = min(owner_actions.at, excluded.at)'),
    );
  }

  /** Runs `work` in one SQLite transaction (better-sqlite3 transactions are synchronous). */
  transaction<T>(work: () => T): T {
    return this.#undoable(this.#sqlite.transaction(work));
  }

  /**
   * Runs `work` in a savepoint inside the current transaction (better-sqlite3 nests
   * transactions as savepoints): if it throws, only its own writes are rolled back.
   */
  savepoint<T>(work: () => T): T {
    return this.#undoable(this.#sqlite.transaction(work));
  }

  /** Runs a better-sqlite3 transaction function; if it throws (rolled back), so are the deferred ids it added. */
  #undoable<T>(run: () => T): T {
    const deferred = this.#deferredIds;
    if (deferred === undefined) return run();
    const mark = deferred.mark();
    this.#depth += 1;
    try {
      return run();
    } catch (error) {
      deferred.undoTo(mark);
      throw error;
    } finally {
      this.#depth -= 1;
      if (this.#depth === 0) deferred.settle();
    }
  }

  /**
   * Fresh file only: inserts the processed event ids kept in memory, in key order (a fill
   * of an empty B-tree instead of a random-key insert per event). Run once the projection
   * is done, before the file is closed and used.
   */
  writeDeferred(): void {
    const deferred = this.#deferredIds?.drain();
    if (deferred === undefined) return;
    const { uuids, others } = deferred;
    this.#sqlite.transaction(() => this.#bookkeeping.recordProcessedIds(uuids, others))();
  }

  nextOffset(topic: string, partition: number): number | undefined {
    return this.#bookkeeping.nextOffset(topic, partition);
  }

  storedOffsets(): StoredOffset[] {
    return this.#bookkeeping.storedOffsets();
  }

  saveOffset(topic: string, partition: number, nextOffset: number): void {
    this.#bookkeeping.saveOffset(topic, partition, nextOffset);
  }

  /** Records the event id; false when it was already projected (a republished duplicate). */
  markProcessed(eventId: string): boolean {
    if (this.#deferredIds !== undefined) return this.#deferredIds.add(eventId);
    return this.#bookkeeping.markProcessed(eventId);
  }

  /**
   * `markProcessed` for an execution fact, keyed by its execution's nominal instant and its
   * id (factKey). Also in a fresh file: those inserts are cheap, so only other events' ids
   * are deferred.
   */
  markFactProcessed(eventId: string, nominalTime: number): boolean {
    return this.#bookkeeping.markFactProcessed(eventId, nominalTime);
  }

  deadLetter(entry: DeadLetter): void {
    this.#bookkeeping.deadLetter(entry);
  }

  execution(executionId: string): ExecutionRow | undefined {
    if (this.#inserted?.executions.certainlyAbsent(executionId) === true) return undefined;
    const row = this.#selectExecution.get(executionId);
    return row === undefined ? undefined : executionCodec.decode(row);
  }

  /** A new execution (the caller read that it was absent in this same transaction). */
  insertExecution(row: ExecutionRow): void {
    this.#inserted?.executions.add(row.executionId);
    this.#insertExecution.run(executionCodec.values(row));
  }

  updateExecution(row: ExecutionRow): void {
    this.#updateExecution.run([
      ...executionCodec.values(row, EXECUTION_MUTABLE),
      ...executionCodec.values(row, ['executionId']),
    ]);
  }

  attempt(executionId: string, attempt: number): AttemptRow | undefined {
    if (this.#inserted?.attempts.certainlyAbsent(executionId, attempt) === true) return undefined;
    const row = this.#selectAttempt.get(executionId, attempt);
    return row === undefined ? undefined : attemptCodec.decode(row);
  }

  insertAttempt(row: AttemptRow): void {
    this.#inserted?.attempts.add(row.executionId, row.attempt);
    this.#insertAttempt.run(attemptCodec.values(row));
  }

  updateAttempt(row: AttemptRow): void {
    this.#updateAttempt.run([
      ...attemptCodec.values(row, ATTEMPT_MUTABLE),
      ...attemptCodec.values(row, ['executionId', 'attempt']),
    ]);
  }

  addDailyStats(taskId: string, day: string, delta: DailyContribution): void {
    this.#addDailyStats.run(
      dailyCodec.values({ taskId, day, ...delta, durationMaxMs: Math.max(0, delta.durationMaxMs) }),
    );
  }

  saveAudit(row: AuditRow): void {
    // JSON columns are encoded by the codec.
    this.#insertAudit.run(auditCodec.values(row));
  }

  saveRuleAudit(row: RuleAuditRow): void {
    this.#insertRuleAudit.run(ruleAuditCodec.values(row));
  }

  saveCalendarAudit(row: CalendarAuditRow): void {
    this.#insertCalendarAudit.run(calendarAuditCodec.values(row));
  }

  /**
   * Records the owner action a fact states, if it states one (an outcome does not), also
   * when the fact's event id was already projected: a second `fired` of the same attempt
   * from another scheduler or fence has the same event id, and is exactly what the ledger
   * must see. Copies of one action collapse on the key.
   */
  recordOwnerAction(fact: ExecutionFact): void {
    const action = ownerActionOf(fact);
    if (action !== undefined) this.#insertAction.run(actionCodec.values(action));
  }

  saveSchedulerEvent(row: SchedulerEventRow): void {
    this.#insertSchedulerEvent.run(schedulerEventCodec.values(row));
  }
}
