import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, describe, expect, it } from 'vitest';
import { eventKey } from './event-key.js';
import { MIGRATIONS_FOLDER, openDatabase } from './open-database.js';

describe('migration 0001 (processed event ids as 16-byte keys)', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('converts the ids a 0000 database recorded, so their events are still recognised as projected', () => {
    dir = mkdtempSync(join(tmpdir(), 'nono-history-migrations-'));
    // The migrations folder as it was before 0001: the journal's first entry only.
    const before = join(dir, 'drizzle-0000');
    cpSync(MIGRATIONS_FOLDER, before, { recursive: true });
    const journalFile = join(before, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: unknown[] };
    writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, 1) }));

    const file = join(dir, 'history.sqlite');
    const old = new Database(file);
    migrate(drizzle(old), { migrationsFolder: before });
    const ids = [
      '0b3a8e40-bd6b-513d-8cba-d7210136d543',
      '0B3A8E40-BD6B-513D-8CBA-D7210136D543',
      'not-a-uuid',
    ];
    const insert = old.prepare('insert into processed_events (event_id, projected_at) values (?, 0)');
    for (const id of ids) insert.run(id);
    old.close();

    const migrated = openDatabase(file);
    try {
      const keys = migrated.sqlite
        .prepare<[], { key: Buffer | string }>(
          'select event_id as key from processed_events order by event_id',
        )
        .all()
        .map((row) => row.key);
      expect(keys).toHaveLength(3);
      for (const id of ids) expect(keys).toContainEqual(eventKey(id));
      expect(keys.filter((key) => Buffer.isBuffer(key) && key.length === 16)).toHaveLength(1);
    } finally {
      migrated.close();
    }
  });
});
