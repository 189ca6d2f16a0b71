import { ManualClock, type NonoEvent, createEvent, formatInstant, parseInstant } from '@nono/domain';
import Database from 'better-sqlite3';
import { encodeEvent } from '@nono/events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventKey, factKey } from '@nono/projection';
import { type OpenDatabase } from '../store/open-database.js';
import { openMemoryDatabase } from '../testing/memory-store.js';
import { executionMeta, generateStream, seededRandom as random } from '../testing/event-stream.js';
import { dumpTables } from '../testing/table-dump.js';
import { BatchProjector, type EventProjection } from './batch-projector.js';
import { projectEvent } from './event-projection.js';
import { ProjectionStore } from './projection-store.js';
import { type SourceRecord } from './source-record.js';

const records = (events: readonly NonoEvent[], firstOffset = 0): SourceRecord[] =>
  events.map((event, i) => ({
    offset: firstOffset + i,
    key: event.subject,
    value: Buffer.from(String(encodeEvent(event).value)),
  }));

/** The processed_events key an event is recorded under. */
const keyOf = (event: NonoEvent): Buffer | string =>
  event.type.startsWith('nono.execution.')
    ? factKey(event.id, parseInstant((event.data as { nominalTime: string }).nominalTime) ?? 0)
    : eventKey(event.id);

const count = (open: OpenDatabase, table: string): number =>
  (open.sqlite.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;

describe('BatchProjector', () => {
  let open: OpenDatabase;
  let projector: BatchProjector;
  let store: ProjectionStore;

  beforeEach(() => {
    open = openMemoryDatabase();
    store = new ProjectionStore(open.db);
    projector = new BatchProjector(store, new ManualClock(Date.parse('2026-11-22T00:00:00Z')));
  });
  afterEach(() => open.close());

  it('projects a batch and stores the next offset with it', () => {
    const events = generateStream({ executions: 200, tasks: 5 });
    const outcome = projector.project({ topic: 't', partition: 0, records: records(events) });
    expect(outcome).toMatchObject({
      projected: events.length,
      duplicates: 0,
      deadLettered: 0,
      nextOffset: events.length,
    });
    expect(store.nextOffset('t', 0)).toBe(events.length);
    expect(count(open, 'executions')).toBe(200);
    expect(count(open, 'task_audit')).toBe(5);
    expect(count(open, 'scheduler_events')).toBe(1);
  });

  it('keeps nothing of an alert transition found on a topic it reads: no row, no dead letter', () => {
    const alert = createEvent(
      'nono.alert.opened.v1',
      {
        alertId: 'a1',
        ruleId: 'r1',
        ruleRevision: 1,
        taskId: 'nightly',
        condition: 'failed',
        summary: 'nightly failed',
        openedAt: '2026-11-22T00:00:00.000Z',
      },
      {
        id: 'alert-event-1',
        source: 'nono://alerts/test',
        subject: 'a1',
        time: Date.parse('2026-11-22T00:00:00Z'),
      },
    );
    const outcome = projector.project({ topic: 't', partition: 0, records: records([alert]) });
    expect(outcome).toMatchObject({ projected: 0, ignored: 1, deadLettered: 0, nextOffset: 1 });
    for (const table of ['executions', 'task_audit', 'scheduler_events', 'dead_letters', 'processed_events'])
      expect(count(open, table)).toBe(0);
  });

  it('drops records below the stored offset and repeats of an event id at a new offset', () => {
    const events = generateStream({ executions: 50, tasks: 5 });
    projector.project({ topic: 't', partition: 0, records: records(events) });
    const before = open.sqlite.prepare('select * from executions order by execution_id').all();
    const redelivered = projector.project({ topic: 't', partition: 0, records: records(events) });
    expect(redelivered).toMatchObject({ projected: 0, skipped: events.length });
    const republished = projector.project({
      topic: 't',
      partition: 0,
      records: records(events, events.length),
    });
    expect(republished).toMatchObject({ projected: 0, duplicates: events.length });
    expect(open.sqlite.prepare('select * from executions order by execution_id').all()).toEqual(before);
    const stats = open.sqlite
      .prepare('select sum(runs) + sum(skipped) + sum(misfired) as n from task_daily_stats')
      .get() as { n: number };
    expect(stats.n).toBe(50);
  });

  describe('merging the facts of an execution within a batch', () => {
    const stream = generateStream({ executions: 400, tasks: 6, seed: 9 });
    // An answer that arrives after its call was declared lost for good: terminal too, but
    // outranked by the loss. It still counts in the day's duration_max_ms (a max defined on
    // the facts), whichever of the two arrives first and whichever batch each lands in.
    const lateAnswers = stream
      .filter((event) => event.type === 'nono.execution.lost.v1')
      .map((event) => {
        const { taskId, executionId, nominalTime, schedulerId, fencingToken, reason } = event.data;
        const ref = { taskId, executionId, nominalTime, schedulerId, fencingToken, reason };
        const at = Date.parse(nominalTime) + 45_000;
        return createEvent(
          'nono.execution.succeeded.v1',
          { ...ref, attempt: 1, finishedAt: formatInstant(at), durationMs: 44_000, httpStatus: 200 },
          executionMeta('nono.execution.succeeded.v1', ref, 1, at),
        );
      });
    const events = [...stream, ...lateAnswers];

    const projectInBatches = (
      ordered: readonly NonoEvent[],
      batchSize: (i: number) => number,
      freshFile = false,
    ): unknown => {
      const target = openMemoryDatabase();
      try {
        const store = new ProjectionStore(target.db, { freshFile });
        const batches = new BatchProjector(store, new ManualClock(0));
        const all = records(ordered);
        for (let from = 0, i = 0; from < all.length; i += 1) {
          const size = batchSize(i);
          batches.project({ topic: 't', partition: 0, records: all.slice(from, from + size) });
          from += size;
        }
        // A rebuild's store writes the processed event ids it kept in memory at the end.
        if (freshFile) store.writeDeferred();
        return dumpTables(target.sqlite);
      } finally {
        target.close();
      }
    };

    it('gives the same tables whatever the batch boundaries, the arrival order and the repeats', () => {
      expect(lateAnswers.length).toBeGreaterThan(0);
      const oneByOne = projectInBatches(events, () => 1);
      expect(projectInBatches(events, () => events.length)).toEqual(oneByOne);
      for (const seed of [1, 2, 3]) {
        const rand = random(seed);
        const shuffled = [...events];
        for (let i = shuffled.length - 1; i > 0; i -= 1) {
          const j = Math.floor(rand() * (i + 1));
          [shuffled[i], shuffled[j]] = [shuffled[j] as NonoEvent, shuffled[i] as NonoEvent];
        }
        // Some facts published twice (a spool replayed after a crash), in other batches.
        const repeated = [...shuffled, ...shuffled.filter(() => rand() < 0.1)];
        expect(projectInBatches(repeated, () => 1 + Math.floor(rand() * 300))).toEqual(oneByOne);
        // A rebuild's store skips reading the rows it never inserted and defers the event ids: same tables.
        expect(projectInBatches(repeated, () => 1 + Math.floor(rand() * 300), true)).toEqual(oneByOne);
      }
      const stats = oneByOne as { task_daily_stats: { duration_max_ms: number }[] };
      expect(Math.max(...stats.task_daily_stats.map((row) => row.duration_max_ms))).toBe(44_000);
    });
  });

  it.each([
    ['malformed JSON', Buffer.from('{not json'), /not JSON/],
    [
      'an unknown version',
      Buffer.from(JSON.stringify({ type: 'nono.execution.fired.v9', id: 'x' })),
      /unknown event type/,
    ],
    ['a schema failure', Buffer.from(JSON.stringify({ type: 'nono.execution.fired.v1', id: 'x' })), /./],
    ['a tombstone', null, /tombstone/],
  ])('dead-letters %s with its offset and carries on', (_name, value, message) => {
    const [good] = generateStream({ executions: 1, tasks: 1 });
    const outcome = projector.project({
      topic: 't',
      partition: 2,
      records: [{ offset: 7, key: 'k', value }, ...records(good === undefined ? [] : [good], 8)],
    });
    expect(outcome).toMatchObject({ projected: 1, deadLettered: 1, nextOffset: 9 });
    const row = open.sqlite.prepare('select topic, partition, offset, issues from dead_letters').get() as {
      offset: number;
      issues: string;
    };
    expect(row).toMatchObject({ topic: 't', partition: 2, offset: 7 });
    expect(row.issues).toMatch(message);
  });

  describe('a record that validates but throws while projected', () => {
    const events = generateStream({ executions: 40, tasks: 4 });
    const poisoned = events.find((event) => event.type === 'nono.execution.succeeded.v1');
    if (poisoned === undefined) throw new Error('the stream has no succeeded event');
    const poisonedOffset = events.indexOf(poisoned);
    const reference = (): unknown[] => {
      const other = openMemoryDatabase();
      try {
        new BatchProjector(new ProjectionStore(other.db), new ManualClock(0)).project({
          topic: 't',
          partition: 0,
          records: records(events.filter((event) => event !== poisoned)),
        });
        return other.sqlite.prepare('select * from executions order by execution_id').all();
      } finally {
        other.close();
      }
    };

    // Regression: one such record used to fail the whole batch, which kafkajs then redelivered forever.
    it.each<[string, EventProjection]>([
      [
        'before writing anything',
        (target, event) => {
          if (event.id === poisoned.id) throw new TypeError('boom');
          projectEvent(target, event);
        },
      ],
      [
        'after writing part of its rows',
        (target, event) => {
          projectEvent(target, event);
          if (event.id === poisoned.id) throw new RangeError('boom after writes');
        },
      ],
    ])(
      'is dead-lettered with the error when it throws %s; its writes are rolled back and the rest is projected',
      (_when, projection) => {
        const isolated = new BatchProjector(store, new ManualClock(0), projection);
        const outcome = isolated.project({ topic: 't', partition: 1, records: records(events) });
        expect(outcome).toMatchObject({
          projected: events.length - 1,
          deadLettered: 1,
          nextOffset: events.length,
          deadLetters: [{ offset: poisonedOffset, issues: [{ field: 'projection' }] }],
        });
        expect(store.nextOffset('t', 1)).toBe(events.length);
        const row = open.sqlite.prepare('select offset, value, issues from dead_letters').get() as {
          offset: number;
          value: string;
          issues: string;
        };
        expect(row.offset).toBe(poisonedOffset);
        expect(row.issues).toMatch(/projection failed: (TypeError|RangeError): boom/);
        expect(JSON.parse(row.value)).toMatchObject({ id: poisoned.id });
        // Neither its processed-event mark nor its merged row survived: a fixed projector can replay it.
        expect(
          open.sqlite.prepare('select 1 from processed_events where event_id = ?').get(keyOf(poisoned)),
        ).toBeUndefined();
        expect(open.sqlite.prepare('select * from executions order by execution_id').all()).toEqual(
          reference(),
        );
      },
    );

    it("takes back a rebuild's in-memory event ids with the rows they were projected with", () => {
      const fresh = openMemoryDatabase();
      try {
        const freshStore = new ProjectionStore(fresh.db, { freshFile: true });
        const failing = new BatchProjector(freshStore, new ManualClock(0), (target, event) => {
          if (event.id === poisoned.id)
            throw new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_WRITE');
          projectEvent(target, event);
        });
        expect(() => failing.project({ topic: 't', partition: 1, records: records(events) })).toThrow(
          Database.SqliteError,
        );
        // The failed transaction's ids were taken back: the retry is not taken for duplicates.
        const isolated = new BatchProjector(freshStore, new ManualClock(0), (target, event) => {
          projectEvent(target, event);
          if (event.id === poisoned.id) throw new RangeError('boom after writes');
        });
        expect(isolated.project({ topic: 't', partition: 1, records: records(events) })).toMatchObject({
          projected: events.length - 1,
          duplicates: 0,
          deadLettered: 1,
        });
        // The dead-lettered record's id was taken back with its savepoint: a fixed projector can replay it.
        const fixed = new BatchProjector(freshStore, new ManualClock(0));
        const replayed = records(events).filter((record) => record.offset === poisonedOffset);
        expect(
          fixed.project({
            topic: 't',
            partition: 1,
            records: replayed.map((r) => ({ ...r, offset: events.length })),
          }),
        ).toMatchObject({ projected: 1, duplicates: 0 });
        // Facts are keyed by instant and written at once; only the other events' ids wait in memory.
        const facts = events.filter((event) => event.type.startsWith('nono.execution.')).length;
        expect(facts).toBeLessThan(events.length);
        expect(count(fresh, 'processed_events')).toBe(facts);
        freshStore.writeDeferred();
        expect(count(fresh, 'processed_events')).toBe(events.length);
        const keys = fresh.sqlite.prepare('select 1 from processed_events where event_id = ?');
        for (const event of events) expect(keys.get(keyOf(event))).toBeDefined();
      } finally {
        fresh.close();
      }
    });

    it('fails the whole batch, storing nothing, when SQLite itself fails (the record is not at fault)', () => {
      const failing = new BatchProjector(store, new ManualClock(0), (target, event) => {
        if (event.id === poisoned.id) throw new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_WRITE');
        projectEvent(target, event);
      });
      expect(() => failing.project({ topic: 't', partition: 1, records: records(events) })).toThrow(
        Database.SqliteError,
      );
      expect(store.nextOffset('t', 1)).toBeUndefined();
      expect(count(open, 'executions')).toBe(0);
      expect(count(open, 'dead_letters')).toBe(0);
    });
  });
});
