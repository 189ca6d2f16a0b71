import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type NonoEvent } from '@nono/domain';
import { encodeEvent } from '@nono/events';
import { BatchProjector } from '../projector/batch-projector.js';
import { ProjectionStore } from '../projector/projection-store.js';
import { type SourceRecord } from '../projector/source-record.js';
import { generateStream } from '../testing/event-stream.js';
import { PROJECTED_TABLES, dumpTables } from '../testing/table-dump.js';
import { eventKey } from '@nono/projection';
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

describe('migration 0002 (execution facts keyed by nominal instant and id)', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const recordsOf = (events: readonly NonoEvent[], firstOffset: number): SourceRecord[] =>
    events.map((event, i) => ({
      offset: firstOffset + i,
      key: event.subject,
      value: Buffer.from(String(encodeEvent(event).value)),
    }));
  const isFact = (event: NonoEvent): boolean => event.type.startsWith('nono.execution.');

  /** Journal time of migration 0002 (drizzle/meta/_journal.json): it and every later migration are undone. */
  const MIGRATION_0002_AT = 1796151325596;

  it('still recognises the facts a 0001 database recorded under their bare ids, and keys new ones by instant', () => {
    dir = mkdtempSync(join(tmpdir(), 'nono-history-migrations-'));
    const file = join(dir, 'history.sqlite');
    const events = generateStream({ executions: 300, tasks: 4, seed: 3 });
    const clock = new ManualClock(Date.parse('2026-11-22T00:00:00Z'));

    // A database as 0001 left it: the same rows, every id recorded bare, no 0002.
    const first = openDatabase(file);
    new BatchProjector(new ProjectionStore(first.db), clock).project({
      topic: 't',
      partition: 0,
      records: recordsOf(events, 0),
    });
    first.sqlite.exec(`
      update processed_events set event_id = substr(event_id, 7) where length(event_id) = 22;
      drop table projection_meta;
      drop table owner_actions;
      drop table alert_rule_audit;
      drop table calendar_audit;
      alter table processed_events drop column at;
      alter table execution_attempts drop column output;
      alter table execution_attempts drop column cancel_call;
      drop index execution_attempts_member_started;
      alter table execution_attempts drop column member_group;
      alter table execution_attempts drop column member_url;
      alter table executions drop column parameters;
      delete from __drizzle_migrations where created_at >= ${MIGRATION_0002_AT};
    `);
    // Migrations 0003, 0004 and 0010 start their tables empty (they are not derived from the other tables).
    const tables = PROJECTED_TABLES.filter(
      (table) => table !== 'owner_actions' && table !== 'alert_rule_audit' && table !== 'calendar_audit',
    );
    const before = dumpTables(first.sqlite, tables);
    // 0006 adds nullable columns, null for these plain executions: dropped after the dump, they come back as they were.
    first.sqlite.exec(`
      alter table executions drop column instant_id;
      alter table executions drop column shard_index;
      alter table executions drop column shard_count;
      alter table executions drop column member_url;
    `);
    first.close();

    const migrated = openDatabase(file);
    try {
      const newest = migrated.sqlite.prepare('select max(nominal_time) as n from executions').get() as {
        n: number;
      };
      expect(
        migrated.sqlite.prepare("select value from projection_meta where key = 'bare_fact_keys_until'").get(),
      ).toEqual({ value: newest.n });
      const projector = new BatchProjector(new ProjectionStore(migrated.db), clock);
      // Every fact published again at new offsets: all recognised, nothing changes.
      const again = projector.project({
        topic: 't',
        partition: 0,
        records: recordsOf(events, events.length),
      });
      expect(again).toMatchObject({ projected: 0, duplicates: events.length });
      // Columns added after 0002 start empty in rows projected before them.
      expect(dumpTables(migrated.sqlite, tables)).toEqual({
        ...before,
        executions: (before['executions'] ?? []).map((row) => ({ ...(row as object), parameters: null })),
        execution_attempts: (before['execution_attempts'] ?? []).map((row) => ({
          ...(row as object),
          output: null,
          cancel_call: null,
          member_group: null,
          member_url: null,
        })),
      });

      // Later executions: projected, their facts keyed by instant (22 bytes), and recognised in turn.
      const later = generateStream({ executions: 50, tasks: 4, seed: 4, start: newest.n + 60_000 }).filter(
        isFact,
      );
      const offset = 2 * events.length;
      expect(
        projector.project({ topic: 't', partition: 0, records: recordsOf(later, offset) }),
      ).toMatchObject({
        projected: later.length,
      });
      expect(
        projector.project({ topic: 't', partition: 0, records: recordsOf(later, offset + later.length) }),
      ).toMatchObject({ projected: 0, duplicates: later.length });
      const prefixed = migrated.sqlite
        .prepare('select count(*) as n from processed_events where length(event_id) = 22')
        .get() as { n: number };
      expect(prefixed.n).toBe(later.length);
    } finally {
      migrated.close();
    }
  });

  it('records no cutoff in a database that had projected nothing', () => {
    dir = mkdtempSync(join(tmpdir(), 'nono-history-migrations-'));
    const fresh = openDatabase(join(dir, 'history.sqlite'));
    try {
      expect(fresh.sqlite.prepare('select count(*) as n from projection_meta').get()).toEqual({ n: 0 });
    } finally {
      fresh.close();
    }
  });
});
