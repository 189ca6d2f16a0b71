import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OpenDatabase as Opened, openDatabase as openSqlite } from '@nono/projection';
import * as schema from './schema.js';

export type OpenDatabase = Opened<typeof schema>;
export type AlertsDb = OpenDatabase['db'];

/** src/store and dist/store are both two levels below the package, where drizzle/ lives. */
export const MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/** Opens (creating if needed) the alerts database and brings its schema up to date. */
export function openDatabase(file: string): OpenDatabase {
  return openSqlite(file, { schema, migrationsFolder: MIGRATIONS_FOLDER });
}
