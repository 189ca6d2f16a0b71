import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@nono/domain';
import { EventPublisher, createKafka, encodeEvent } from '@nono/events';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Isolation,
  createIsolatedTopics,
  eventually,
  isolate,
} from '../../../../tests/support/fixtures.js';
// Brings the `inject('kafkaBrokers')` typing of the global setup into this program (type-only, erased).
import type {} from '../../../../tests/support/global-setup.js';
import { generateStream } from '../testing/event-stream.js';
import { type HistoryProcess, spawnHistory } from '../testing/history-process.js';
import { openMemoryDatabase } from '../testing/memory-store.js';
import { type TableDigest, tableDigests } from '../testing/table-dump.js';
import { BatchProjector } from './batch-projector.js';
import { ProjectionStore } from './projection-store.js';

/**
 * Exactly-once under a crash: ~100,000 events, the projector process SIGKILLed part way
 * (mid-transaction, most likely), restarted on the same database; the final tables must
 * equal an uninterrupted projection of the same events, row for row.
 */

let isolation: Isolation;
let dir: string;
let expected: Record<string, TableDigest>;
let eventCount = 0;
const children = new Set<ChildProcess>();

function countProcessed(file: string): number {
  try {
    const sqlite = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return (sqlite.prepare('select count(*) as n from processed_events').get() as { n: number }).n;
    } finally {
      sqlite.close();
    }
  } catch {
    return 0; // not created or not migrated yet
  }
}

beforeAll(async () => {
  isolation = await isolate('history-crash');
  await createIsolatedTopics(isolation);
  dir = mkdtempSync(join(tmpdir(), 'nono-history-crash-'));
  const events = generateStream({ executions: 45_000, tasks: 50, seed: 11 });
  eventCount = events.length;

  const reference = openMemoryDatabase();
  const projector = new BatchProjector(new ProjectionStore(reference.db), new ManualClock(0));
  const records = events.map((event, offset) => ({
    offset,
    key: event.subject,
    value: Buffer.from(String(encodeEvent(event).value)),
  }));
  for (let i = 0; i < records.length; i += 5000)
    projector.project({ topic: 'reference', partition: 0, records: records.slice(i, i + 5000) });
  expected = tableDigests(reference.sqlite);
  reference.close();

  const publisher = new EventPublisher(
    createKafka({ brokers: isolation.kafkaBrokers, clientId: `${isolation.name}-producer` }),
    isolation.topics,
  );
  for (let i = 0; i < events.length; i += 1000) await publisher.publish(events.slice(i, i + 1000));
  await publisher.disconnect();
}, 180_000);

afterAll(() => {
  // A timed-out test never reaches its finally: no service process may outlive the file.
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('history process killed mid-way', () => {
  it('converges after SIGKILL and restart to the same tables as an uninterrupted projection', async () => {
    expect(eventCount).toBeGreaterThan(95_000);
    const file = join(dir, 'history.sqlite');
    const env = {
      NONO_KAFKA_BROKERS: isolation.kafkaBrokers.join(','),
      NONO_TOPIC_PREFIX: isolation.topicPrefix,
      NONO_HISTORY_DB: file,
      NONO_HISTORY_PORT: '0',
      NONO_HISTORY_GROUP_ID: `${isolation.name}-history`,
      NONO_HISTORY_READY_LAG: '0',
      // info: the restarted process announces its URL in an info line.
      NONO_LOG_LEVEL: 'info',
    };
    let run: HistoryProcess = spawnHistory(env);
    children.add(run.child);
    try {
      const killedAt = await eventually(
        () => {
          const n = countProcessed(file);
          return n >= eventCount * 0.3 ? n : undefined;
        },
        120_000,
        '30% projected',
      );
      run.child.kill('SIGKILL');
      await run.exited;
      expect(killedAt).toBeLessThan(eventCount);

      run = spawnHistory(env);
      children.add(run.child);
      const url = await run.url;
      await eventually(
        async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined),
        120_000,
        'caught up after restart',
      );
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }

    const sqlite = new Database(file, { readonly: true });
    try {
      expect(tableDigests(sqlite)).toEqual(expected);
      expect((sqlite.prepare('select count(*) as n from dead_letters').get() as { n: number }).n).toBe(0);
    } finally {
      sqlite.close();
    }
  }, 170_000);
});
