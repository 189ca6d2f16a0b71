import { DAY_MS, type Clock, type TimerHandle } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { sql } from 'drizzle-orm';
import { type HistoryDb } from './open-database.js';

export interface RetentionOptions {
  readonly retainSuccessDays: number;
  readonly retainFailureDays: number;
  readonly intervalMs: number;
  readonly batchSize?: number;
}

/**
 * Deletes finished executions (and their attempts) older than the retention, in small
 * batches so a sweep never holds the write lock long enough to stall the projector.
 * Daily aggregates are kept: they are maintained by deltas and do not depend on the rows.
 * Running executions are never deleted, whatever their age.
 */
export class RetentionSweeper {
  /** A getter: the database can be swapped by a rebuild between two sweeps. */
  readonly #db: () => HistoryDb;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #options: RetentionOptions;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(db: () => HistoryDb, clock: Clock, log: Logger, options: RetentionOptions) {
    this.#db = db;
    this.#clock = clock;
    this.#log = log;
    this.#options = options;
  }

  start(): void {
    if (this.#options.retainSuccessDays === 0 && this.#options.retainFailureDays === 0) return;
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimer(() => {
      try {
        const deleted = this.sweep();
        if (deleted > 0) this.#log.info({ deleted }, 'retention: deleted old executions');
      } catch (error) {
        this.#log.error({ err: error }, 'retention sweep failed');
      }
      this.#schedule();
    }, this.#options.intervalMs);
  }

  /** One sweep: deletes batch after batch until nothing is due. Returns the number of executions deleted. */
  sweep(): number {
    const now = this.#clock.now();
    let total = 0;
    for (const [days, statuses] of [
      [this.#options.retainSuccessDays, ['succeeded']],
      [this.#options.retainFailureDays, ['failed', 'timed-out', 'lost', 'skipped', 'misfired']],
    ] as const) {
      if (days === 0) continue;
      const cutoff = now - days * DAY_MS;
      for (;;) {
        const deleted = this.#deleteBatch(cutoff, statuses);
        total += deleted;
        if (deleted < (this.#options.batchSize ?? 500)) break;
      }
    }
    return total;
  }

  #deleteBatch(cutoff: number, statuses: readonly string[]): number {
    const limit = this.#options.batchSize ?? 500;
    const list = sql.join(
      statuses.map((status) => sql`${status}`),
      sql`, `,
    );
    return this.#db().transaction((tx) => {
      const ids = tx.all<{ id: string }>(
        sql`select execution_id as id from executions where terminal = 1 and nominal_time < ${cutoff} and status in (${list}) limit ${limit}`,
      );
      if (ids.length === 0) return 0;
      const idList = sql.join(
        ids.map((row) => sql`${row.id}`),
        sql`, `,
      );
      tx.run(sql`delete from execution_attempts where execution_id in (${idList})`);
      tx.run(sql`delete from executions where execution_id in (${idList})`);
      return ids.length;
    });
  }
}
