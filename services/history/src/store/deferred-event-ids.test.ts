import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProjectionStore } from '../projector/projection-store.js';
import { openMemoryDatabase } from '../testing/memory-store.js';
import { DeferredEventIds } from './deferred-event-ids.js';
import { eventKey } from '@nono/projection';

describe('DeferredEventIds', () => {
  it('drains canonical UUIDs in key order, other ids apart', () => {
    const ids = new DeferredEventIds();
    const uuids = Array.from({ length: 5_000 }, () => randomUUID());
    // Ids sharing their leading hex digits (sorted as strings within the packed order).
    const shared = Array.from(
      { length: 50 },
      (_, i) => `0000ffff-0000-4000-8000-${String(999 - i).padStart(12, '0')}`,
    );
    const others = [
      'not-a-uuid',
      'ABCDEF00-0000-4000-8000-000000000000',
      'ffffffff-0000-4000-8000-00000000000',
    ];
    for (const id of [...uuids, ...others, ...shared, ...uuids]) ids.add(id);
    const drained = ids.drain();
    expect(drained.uuids).toEqual([...new Set([...uuids, ...shared])].sort());
    expect(drained.others.sort()).toEqual([...others].sort());
    const keys = drained.uuids.map((id) => eventKey(id) as Buffer);
    for (let i = 1; i < keys.length; i += 1)
      expect(Buffer.compare(keys[i - 1] as Buffer, keys[i] as Buffer)).toBe(-1);
    expect(ids.drain()).toEqual({ uuids: [], others: [] });
  });

  it('takes back the adds since a mark', () => {
    const ids = new DeferredEventIds();
    expect(ids.add('a')).toBe(true);
    const mark = ids.mark();
    expect(ids.add('b')).toBe(true);
    expect(ids.add('a')).toBe(false);
    ids.undoTo(mark);
    expect(ids.add('b')).toBe(true);
    expect(ids.drain().others.sort()).toEqual(['a', 'b']);
  });

  it('is written by a fresh store as the same keys markProcessed writes (eventKey)', () => {
    const ids = [
      ...Array.from({ length: 1_000 }, () => randomUUID()),
      'not-a-uuid',
      'ABCDEF00-0000-4000-8000-000000000000',
      '',
    ];
    const dump = (freshFile: boolean): unknown[] => {
      const open = openMemoryDatabase();
      try {
        const store = new ProjectionStore(open.db, { freshFile });
        store.transaction(() => {
          for (const id of ids) expect(store.markProcessed(id)).toBe(true);
          for (const id of ids) expect(store.markProcessed(id)).toBe(false);
        });
        store.writeDeferred();
        return open.sqlite.prepare('select event_id from processed_events order by event_id').all();
      } finally {
        open.close();
      }
    };
    expect(dump(true)).toEqual(dump(false));
    expect(dump(true)).toHaveLength(ids.length);
  });
});
