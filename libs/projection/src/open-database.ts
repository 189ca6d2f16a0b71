import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';

/** A service's drizzle handle over its schema, with the better-sqlite3 connection beneath it. */
export type SqliteDb<S extends Record<string, unknown>> = BetterSQLite3Database<S> & {
  $client: Database.Database;
};

export interface OpenDatabase<S extends Record<string, unknown>> {
  readonly db: SqliteDb<S>;
  readonly sqlite: Database.Database;
  close(): void;
}

export interface DatabaseOptions<S extends Record<string, unknown>> {
  /** The service's drizzle schema (its own tables and the bookkeeping tables it re-exports). */
  readonly schema: S;
  /** The service's migrations (drizzle-kit's folder, with meta/_journal.json). */
  readonly migrationsFolder: string;
  /** WAL pages between automatic checkpoints (SQLite's default: 1,000). */
  readonly walAutocheckpointPages?: number;
}

/**
 * Opens (creating if needed) a service's database and brings its schema up to date with the
 * service's migrations. WAL lets the HTTP routes read while the consumer writes;
 * synchronous=NORMAL survives a process crash (a power cut can lose the last transactions,
 * whose records are then read again from Kafka because their offsets were lost with them);
 * a writer waits up to 5 s for a lock instead of failing at once.
 */
export function openDatabase<S extends Record<string, unknown>>(
  file: string,
  options: DatabaseOptions<S>,
): OpenDatabase<S> {
  if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  if (options.walAutocheckpointPages !== undefined)
    sqlite.pragma(`wal_autocheckpoint = ${options.walAutocheckpointPages}`);
  const db = drizzle(sqlite, { schema: options.schema });
  migrate(db, { migrationsFolder: options.migrationsFolder });
  return { db, sqlite, close: () => sqlite.close() };
}
