import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OpenDatabase as Opened, openDatabase as openSqlite } from '@nono/projection';
import * as schema from './schema.js';

export type OpenDatabase = Opened<typeof schema>;
export type HistoryDb = OpenDatabase['db'];

/** src/store and dist/store are both two levels below the package, where drizzle/ lives. */
export const MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/**
 * Opens (creating if needed) the history database and brings its schema up to date.
 *
 * The WAL is checkpointed every 10,000 pages (~40 MiB) instead of SQLite's 1,000: with
 * synchronous=NORMAL each checkpoint fsyncs the WAL and the database file, and the
 * projector's random keys dirty pages all over the file: commits (checkpoints included)
 * were a quarter of the projector's CPU profile at 1,000 pages. Fewer checkpoints mean
 * fewer fsyncs, and a page rewritten by several batches is copied once. The WAL file
 * grows to ~40 MiB, and the commit that checkpoints takes longer (docs/BENCHMARKS.md).
 */
export function openDatabase(file: string): OpenDatabase {
  return openSqlite(file, { schema, migrationsFolder: MIGRATIONS_FOLDER, walAutocheckpointPages: 10_000 });
}
