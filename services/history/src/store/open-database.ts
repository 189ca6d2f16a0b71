import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';

export type HistoryDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface OpenDatabase {
  readonly db: HistoryDb;
  readonly sqlite: Database.Database;
  close(): void;
}

/** src/store and dist/store are both two levels below the package, where drizzle/ lives. */
export const MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/**
 * Opens (creating if needed) the history database and brings its schema up to date.
 * WAL lets the HTTP queries read while the projector writes; synchronous=NORMAL is
 * durable across process crashes (a power cut can lose the last transactions, which
 * are then re-projected from Kafka because their offsets were lost with them).
 *
 * The WAL is checkpointed every 10,000 pages (~40 MiB) instead of SQLite's 1,000: with
 * synchronous=NORMAL each checkpoint fsyncs the WAL and the database file, and the
 * projector's random keys dirty pages all over the file: commits (checkpoints included)
 * were a quarter of the projector's CPU profile at 1,000 pages. Fewer checkpoints mean
 * fewer fsyncs, and a page rewritten by several batches is copied once. The WAL file
 * grows to ~40 MiB, and the commit that checkpoints takes longer (docs/BENCHMARKS.md).
 */
export function openDatabase(file: string): OpenDatabase {
  if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('wal_autocheckpoint = 10000');
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return { db, sqlite, close: () => sqlite.close() };
}
