import { closeSync, fsyncSync, openSync } from 'node:fs';
import type Database from 'better-sqlite3';

/** Records per commit while bulk loading: a commit writes every page touched since the last one. */
export const BULK_COMMIT_RECORDS = 100_000;

/**
 * Settings for filling a FRESH database file that nobody else reads (a rebuild): the file
 * is thrown away if anything fails, so it trades durability for speed.
 *
 * - `journal_mode=MEMORY` (not OFF: per-record isolation rolls savepoints back, which
 *   needs a journal), `synchronous=OFF`, `locking_mode=EXCLUSIVE`, a large page cache.
 * - Transactions of ~100,000 records instead of the live path's chunks: the projection's
 *   keys are random (UUIDs), so a commit writes nearly every leaf page it touched, and
 *   fewer commits write each page fewer times. The chunks run as savepoints inside them.
 * - Secondary indexes (not the unique ones, which the upserts rely on) are dropped and
 *   created once at the end, sorted in one pass instead of updated row by row.
 *
 * `finish` commits and creates the indexes; after closing, `fsyncFile` makes the file
 * durable before it is renamed into place (the next open puts it back in WAL mode).
 */
export class BulkLoad {
  readonly #sqlite: Database.Database;
  readonly #deferredIndexes: readonly string[];
  #uncommitted = 0;

  constructor(sqlite: Database.Database, cacheMiB = 512) {
    this.#sqlite = sqlite;
    sqlite.pragma('journal_mode = MEMORY');
    sqlite.pragma('synchronous = OFF');
    sqlite.pragma('locking_mode = EXCLUSIVE');
    sqlite.pragma(`cache_size = ${-cacheMiB * 1024}`);
    const indexes = sqlite
      .prepare<[], { name: string; sql: string }>(
        "select name, sql from sqlite_master where type = 'index' and sql is not null and sql not like 'CREATE UNIQUE%'",
      )
      .all();
    for (const { name } of indexes) sqlite.exec(`drop index "${name}"`);
    this.#deferredIndexes = indexes.map((index) => index.sql);
    sqlite.exec('begin');
  }

  /** Called after each projected chunk: commits once enough records are in the open transaction. */
  projected(records: number): void {
    this.#uncommitted += records;
    if (this.#uncommitted < BULK_COMMIT_RECORDS) return;
    this.#sqlite.exec('commit; begin');
    this.#uncommitted = 0;
  }

  finish(): void {
    const sqlite = this.#sqlite;
    if (sqlite.inTransaction) sqlite.exec('commit');
    for (const sql of this.#deferredIndexes) sqlite.exec(sql);
  }
}

/** Flushes a closed database file to disk (the bulk load ran with synchronous=OFF). */
export function fsyncFile(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
