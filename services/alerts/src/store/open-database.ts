import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';

export type AlertsDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface OpenDatabase {
  readonly db: AlertsDb;
  readonly sqlite: Database.Database;
  close(): void;
}

/** src/store and dist/store are both two levels below the package, where drizzle/ lives. */
export const MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/**
 * Opens (creating if needed) the alerts database and brings its schema up to date. WAL lets
 * the HTTP API read while the consumer writes; synchronous=NORMAL survives a process crash
 * (the case the outbox is for); a power cut can lose the last transactions, whose records
 * are then evaluated again from Kafka because their offsets were lost with them.
 */
export function openDatabase(file: string): OpenDatabase {
  if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return { db, sqlite, close: () => sqlite.close() };
}
