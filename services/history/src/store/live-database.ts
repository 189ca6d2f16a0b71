import { existsSync, renameSync, rmSync } from 'node:fs';
import { type Clock } from '@nono/domain';
import { BatchProjector } from '../projector/batch-projector.js';
import { ProjectionStore } from '../projector/projection-store.js';
import { HistoryQueries } from './history-queries.js';
import { type OpenDatabase, openDatabase } from './open-database.js';

/** Everything that reads or writes one database file, created together so a swap replaces all of it. */
export interface DatabaseGeneration {
  readonly open: OpenDatabase;
  readonly store: ProjectionStore;
  readonly projector: BatchProjector;
  readonly queries: HistoryQueries;
}

function generationOf(open: OpenDatabase, clock: Clock): DatabaseGeneration {
  const store = new ProjectionStore(open.db);
  return { open, store, projector: new BatchProjector(store, clock), queries: new HistoryQueries(open.db) };
}

/** Removes a database file and its WAL companions (a stale WAL beside a new file would be replayed into it). */
export function removeDatabaseFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(`${file}${suffix}`)) rmSync(`${file}${suffix}`);
}

/**
 * The service's one reference to its current database. The HTTP routes, the live
 * projector, the lag tracker and retention read `current` at every use and never keep
 * it across an `await`, so replacing it is a single assignment between two event-loop
 * turns: a query runs entirely on the old database or entirely on the new one.
 */
export class LiveDatabase {
  readonly file: string;
  readonly #clock: Clock;
  #current: DatabaseGeneration;

  constructor(file: string, clock: Clock) {
    this.file = file;
    this.#clock = clock;
    this.#current = generationOf(openDatabase(file), clock);
  }

  get current(): DatabaseGeneration {
    return this.#current;
  }

  /**
   * Puts the (closed, fully written) database `built` at the configured path and makes it
   * current. Synchronous on purpose: no query and no batch can run between closing the
   * old file and opening the new one. The old connection is closed BEFORE the new file
   * is opened at the same path, because both would otherwise share `<file>-wal`/`-shm`;
   * closing checkpoints and removes the WAL, so the rename moves a self-contained file.
   * If the rename fails the old file is reopened and the error rethrown.
   */
  swapIn(built: string): void {
    const previous = this.#current;
    previous.open.close();
    try {
      for (const suffix of ['-wal', '-shm']) rmSync(`${built}${suffix}`, { force: true });
      renameSync(built, this.file);
      for (const suffix of ['-wal', '-shm']) rmSync(`${this.file}${suffix}`, { force: true });
    } catch (error) {
      this.#current = generationOf(openDatabase(this.file), this.#clock);
      throw error;
    }
    this.#current = generationOf(openDatabase(this.file), this.#clock);
  }

  close(): void {
    this.#current.open.close();
  }
}
