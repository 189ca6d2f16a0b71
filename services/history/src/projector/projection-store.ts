import { type FieldIssue } from '@nono/domain';
import { type Placeholder, type SQL, and, eq, getTableColumns, sql } from 'drizzle-orm';
import { type SQLiteTable } from 'drizzle-orm/sqlite-core';
import { type HistoryDb } from '../store/open-database.js';
import {
  consumerOffsets,
  deadLetters,
  executionAttempts,
  executions,
  processedEvents,
  schedulerEvents,
  taskAudit,
  taskDailyStats,
} from '../store/schema.js';
import { type DailyContribution } from './daily-contribution.js';
import { type AttemptRow, type ExecutionRow } from './execution-merge.js';

export type AuditRow = typeof taskAudit.$inferInsert;
export type SchedulerEventRow = typeof schedulerEvents.$inferInsert;

/** `SET col = excluded.col` for every column but the conflict target: an upsert that writes the whole row. */
function excludedSet(table: SQLiteTable, keep: readonly string[]): Record<string, SQL> {
  return Object.fromEntries(
    Object.entries(getTableColumns(table))
      .filter(([key]) => !keep.includes(key))
      .map(([key, column]) => [key, sql.raw(`excluded."${column.name}"`)]),
  );
}

/** Placeholders named after the row's keys, for a prepared insert of a whole row. */
function placeholders<T extends SQLiteTable>(table: T): { [K in keyof T['$inferInsert']]-?: Placeholder } {
  return Object.fromEntries(
    Object.keys(getTableColumns(table)).map((key) => [key, sql.placeholder(key)]),
  ) as {
    [K in keyof T['$inferInsert']]-?: Placeholder;
  };
}

/**
 * The projector's writes, as statements prepared once (building a drizzle query costs
 * more than running it, and this is the hot path). Every method must run inside
 * the batch transaction (see BatchProjector): rows and offsets commit together or not at all.
 */
export class ProjectionStore {
  readonly db: HistoryDb;
  readonly #selectOffset;
  readonly #upsertOffset;
  readonly #insertProcessed;
  readonly #selectExecution;
  readonly #upsertExecution;
  readonly #selectAttempt;
  readonly #upsertAttempt;
  readonly #addDailyStats;
  readonly #insertAudit;
  readonly #insertSchedulerEvent;

  constructor(db: HistoryDb) {
    this.db = db;
    this.#selectOffset = db
      .select({ nextOffset: consumerOffsets.nextOffset })
      .from(consumerOffsets)
      .where(
        and(
          eq(consumerOffsets.topic, sql.placeholder('topic')),
          eq(consumerOffsets.partition, sql.placeholder('partition')),
        ),
      )
      .prepare();
    this.#upsertOffset = db
      .insert(consumerOffsets)
      .values(placeholders(consumerOffsets))
      .onConflictDoUpdate({
        target: [consumerOffsets.topic, consumerOffsets.partition],
        set: excludedSet(consumerOffsets, ['topic', 'partition']),
      })
      .prepare();
    this.#insertProcessed = db
      .insert(processedEvents)
      .values(placeholders(processedEvents))
      .onConflictDoNothing()
      .prepare();
    this.#selectExecution = db
      .select()
      .from(executions)
      .where(eq(executions.executionId, sql.placeholder('id')))
      .prepare();
    this.#upsertExecution = db
      .insert(executions)
      .values(placeholders(executions))
      .onConflictDoUpdate({ target: executions.executionId, set: excludedSet(executions, ['executionId']) })
      .prepare();
    this.#selectAttempt = db
      .select()
      .from(executionAttempts)
      .where(
        and(
          eq(executionAttempts.executionId, sql.placeholder('id')),
          eq(executionAttempts.attempt, sql.placeholder('attempt')),
        ),
      )
      .prepare();
    this.#upsertAttempt = db
      .insert(executionAttempts)
      .values(placeholders(executionAttempts))
      .onConflictDoUpdate({
        target: [executionAttempts.executionId, executionAttempts.attempt],
        set: excludedSet(executionAttempts, ['executionId', 'attempt']),
      })
      .prepare();
    // The inserted values are deltas: a new day starts at them, an existing one adds them.
    const sum = (key: keyof typeof taskDailyStats.$inferSelect): SQL => {
      const column = getTableColumns(taskDailyStats)[key];
      return sql.raw(`"task_daily_stats"."${column.name}" + excluded."${column.name}"`);
    };
    this.#addDailyStats = db
      .insert(taskDailyStats)
      .values(placeholders(taskDailyStats))
      .onConflictDoUpdate({
        target: [taskDailyStats.taskId, taskDailyStats.day],
        set: {
          runs: sum('runs'),
          succeeded: sum('succeeded'),
          failed: sum('failed'),
          timedOut: sum('timedOut'),
          skipped: sum('skipped'),
          misfired: sum('misfired'),
          lost: sum('lost'),
          durationCount: sum('durationCount'),
          durationSumMs: sum('durationSumMs'),
          durationMaxMs: sql.raw('max("task_daily_stats"."duration_max_ms", excluded."duration_max_ms")'),
        },
      })
      .prepare();
    this.#insertAudit = db.insert(taskAudit).values(placeholders(taskAudit)).onConflictDoNothing().prepare();
    this.#insertSchedulerEvent = db
      .insert(schedulerEvents)
      .values(placeholders(schedulerEvents))
      .onConflictDoNothing()
      .prepare();
  }

  /** Runs `work` in one SQLite transaction (better-sqlite3 transactions are synchronous). */
  transaction<T>(work: () => T): T {
    return this.db.transaction(() => work());
  }

  /**
   * Runs `work` in a savepoint inside the current transaction (better-sqlite3 nests
   * transactions as savepoints): if it throws, only its own writes are rolled back.
   */
  savepoint<T>(work: () => T): T {
    return this.db.$client.transaction(work)();
  }

  nextOffset(topic: string, partition: number): number | undefined {
    return this.#selectOffset.get({ topic, partition })?.nextOffset;
  }

  storedOffsets(): { topic: string; partition: number; nextOffset: number }[] {
    return this.db.select().from(consumerOffsets).all();
  }

  saveOffset(topic: string, partition: number, nextOffset: number): void {
    this.#upsertOffset.run({ topic, partition, nextOffset });
  }

  /** Records the event id; false when it was already projected (a republished duplicate). */
  markProcessed(eventId: string, projectedAt: number): boolean {
    return this.#insertProcessed.run({ eventId, projectedAt }).changes === 1;
  }

  deadLetter(entry: {
    topic: string;
    partition: number;
    offset: number;
    key: string | null;
    value: string | null;
    issues: readonly FieldIssue[];
    at: number;
  }): void {
    this.db.insert(deadLetters).values(entry).onConflictDoNothing().run();
  }

  execution(executionId: string): ExecutionRow | undefined {
    return this.#selectExecution.get({ id: executionId });
  }

  saveExecution(row: ExecutionRow): void {
    this.#upsertExecution.run(row);
  }

  attempt(executionId: string, attempt: number): AttemptRow | undefined {
    return this.#selectAttempt.get({ id: executionId, attempt });
  }

  saveAttempt(row: AttemptRow): void {
    this.#upsertAttempt.run(row);
  }

  addDailyStats(taskId: string, day: string, delta: DailyContribution): void {
    this.#addDailyStats.run({ taskId, day, ...delta, durationMaxMs: Math.max(0, delta.durationMaxMs) });
  }

  saveAudit(row: AuditRow): void {
    this.#insertAudit.run({
      ...row,
      revision: row.revision ?? null,
      before: row.before ?? null,
      after: row.after ?? null,
      detail: row.detail ?? null,
    });
  }

  saveSchedulerEvent(row: SchedulerEventRow): void {
    this.#insertSchedulerEvent.run(row);
  }
}
