import { ManualClock, type NonoEvent } from '@nono/domain';
import { encodeEvent } from '@nono/events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OpenDatabase } from '../store/open-database.js';
import { openMemoryDatabase } from '../testing/memory-store.js';
import { generateStream } from '../testing/event-stream.js';
import { BatchProjector } from './batch-projector.js';
import { ProjectionStore } from './projection-store.js';
import { type SourceRecord } from './source-record.js';

const records = (events: readonly NonoEvent[], firstOffset = 0): SourceRecord[] =>
  events.map((event, i) => ({
    offset: firstOffset + i,
    key: event.subject,
    value: Buffer.from(String(encodeEvent(event).value)),
  }));

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
});
