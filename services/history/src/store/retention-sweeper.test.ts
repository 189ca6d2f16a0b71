import { DAY_MS, ManualClock } from '@nono/domain';
import { encodeEvent } from '@nono/events';
import { createLogger } from '@nono/runtime';
import { describe, expect, it } from 'vitest';
import { BatchProjector } from '../projector/batch-projector.js';
import { ProjectionStore } from '../projector/projection-store.js';
import { generateStream } from '../testing/event-stream.js';
import { openMemoryDatabase } from '../testing/memory-store.js';
import { RetentionSweeper } from './retention-sweeper.js';

describe('RetentionSweeper', () => {
  it('deletes old succeeded executions in small batches and keeps the daily aggregates', () => {
    const start = Date.parse('2026-11-20T00:00:00Z');
    const open = openMemoryDatabase();
    const clock = new ManualClock(start);
    new BatchProjector(new ProjectionStore(open.db), clock).project({
      topic: 't',
      partition: 0,
      records: generateStream({ executions: 400, tasks: 4, start }).map((event, offset) => ({
        offset,
        key: null,
        value: Buffer.from(String(encodeEvent(event).value)),
      })),
    });
    const count = (sql: string): number => (open.sqlite.prepare(sql).get() as { n: number }).n;
    const stats = open.sqlite.prepare('select * from task_daily_stats order by task_id, day').all();
    const succeeded = count("select count(*) as n from executions where status = 'succeeded'");
    const others = count("select count(*) as n from executions where status <> 'succeeded'");

    clock.advanceTo(start + 10 * DAY_MS);
    const sweeper = new RetentionSweeper(() => open.db, clock, createLogger('test', 'silent'), {
      retainSuccessDays: 7,
      retainFailureDays: 30,
      intervalMs: 60_000,
      batchSize: 50,
    });
    expect(sweeper.sweep()).toBe(succeeded);
    expect(count("select count(*) as n from executions where status = 'succeeded'")).toBe(0);
    expect(count('select count(*) as n from executions')).toBe(others);
    expect(
      count(
        'select count(*) as n from execution_attempts a where not exists (select 1 from executions e where e.execution_id = a.execution_id)',
      ),
    ).toBe(0);
    expect(open.sqlite.prepare('select * from task_daily_stats order by task_id, day').all()).toEqual(stats);
    open.close();
  });
});
