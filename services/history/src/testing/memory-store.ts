import { type OpenDatabase, openDatabase } from '../store/open-database.js';

/** A migrated in-memory database, for unit tests of the projection and the queries. */
export function openMemoryDatabase(): OpenDatabase {
  return openDatabase(':memory:');
}
