import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ManualClock } from '@nono/domain';
import { encodeEvent } from '@nono/events';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchProjector } from '../projector/batch-projector.js';
import { ProjectionStore } from '../projector/projection-store.js';
import { generateStream } from '../testing/event-stream.js';
import { PROJECTED_TABLES, dumpTables } from '../testing/table-dump.js';
import { HistoryQueries } from './history-queries.js';
import { openDatabase } from './open-database.js';

/** Written by the main branch at ba7fec9 (scripts/make-database-fixtures.mjs), before the bookkeeping moved to libs/projection. */
const FIXTURE = new URL('./fixtures/history-ba7fec9.sqlite.gz', import.meta.url);

describe('a database written by the main branch at ba7fec9', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('opens with its rows, offsets and dead letter, and recognises every event it had projected', () => {
    dir = mkdtempSync(join(tmpdir(), 'nono-history-earlier-'));
    const file = join(dir, 'history.sqlite');
    writeFileSync(file, gunzipSync(readFileSync(FIXTURE)));
    const open = openDatabase(file);
    try {
      const store = new ProjectionStore(open.db);
      const events = generateStream({ executions: 60, tasks: 3, seed: 7 });
      expect(store.storedOffsets()).toEqual([
        { topic: 'executions', partition: 0, nextOffset: events.length + 1 },
      ]);
      expect(open.sqlite.prepare('select offset, key from dead_letters').all()).toEqual([
        { offset: events.length, key: 'bad' },
      ]);
      const queries = new HistoryQueries(open.db);
      expect(queries.listAudit({ limit: 10 }).rows).toHaveLength(3);
      expect(queries.listExecutions({ taskId: 'task-001', limit: 100 }).rows).toHaveLength(20);

      const before = dumpTables(open.sqlite, PROJECTED_TABLES);
      const again = new BatchProjector(store, new ManualClock(0)).project({
        topic: 'executions',
        partition: 0,
        records: events.map((event, i) => ({
          offset: events.length + 1 + i,
          key: null,
          value: Buffer.from(String(encodeEvent(event).value)),
        })),
      });
      expect(again).toMatchObject({ projected: 0, duplicates: events.length });
      expect(dumpTables(open.sqlite, PROJECTED_TABLES)).toEqual(before);
    } finally {
      open.close();
    }
  });
});
