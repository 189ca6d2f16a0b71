import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, type NonoEvent, SystemClock } from '@nono/domain';
import { EventPublisher, createKafka, encodeEvent } from '@nono/events';
import { EnvReader, createLogger } from '@nono/runtime';
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
import { rebuildDatabase } from '../cli/rebuild.js';
import { replayEvents } from '../cli/replay.js';
import { type HistoryConfig, loadHistoryConfig } from '../config.js';
import { writeFileSync } from 'node:fs';
import { type RunningHistory, startHistory } from '../history-service.js';
import { openMemoryDatabase } from '../testing/memory-store.js';
import { generateStream } from '../testing/event-stream.js';
import { PROJECTED_TABLES, dumpTables } from '../testing/table-dump.js';
import { BatchProjector } from './batch-projector.js';
import { ProjectionStore } from './projection-store.js';

/**
 * The projector against a real Kafka: mixed events with republished duplicates,
 * out-of-order pairs and malformed records must give the same tables as projecting the
 * clean stream in order, and a restart must neither lose nor double-count anything.
 */
const MALFORMED = [
  '{not json',
  JSON.stringify({ type: 'nono.execution.fired.v9', id: 'future-version' }),
  JSON.stringify({ type: 'nono.execution.fired.v1', id: 'schema-failure', data: {} }),
  JSON.stringify({ hello: 'world' }),
];

let isolation: Isolation;
let dir: string;
let clean: NonoEvent[];
let expected: Record<string, unknown[]>;
let published: NonoEvent[];

/** Swaps some adjacent facts of the same execution, so a partition sees e.g. `succeeded` before `fired`. */
function shuffleSomePairs(events: readonly NonoEvent[]): NonoEvent[] {
  const out = [...events];
  for (let i = 0; i + 1 < out.length; i += 5) {
    const a = out[i];
    const b = out[i + 1];
    if (
      a !== undefined &&
      b !== undefined &&
      'executionId' in a.data &&
      'executionId' in b.data &&
      a.data.executionId === b.data.executionId
    ) {
      out[i] = b;
      out[i + 1] = a;
    }
  }
  return out;
}

function configFor(dbFile: string, groupId: string): HistoryConfig {
  return loadHistoryConfig(
    new EnvReader({
      NONO_KAFKA_BROKERS: isolation.kafkaBrokers.join(','),
      NONO_TOPIC_PREFIX: isolation.topicPrefix,
      NONO_HISTORY_DB: dbFile,
      NONO_HISTORY_PORT: '0',
      NONO_HISTORY_GROUP_ID: groupId,
      NONO_HISTORY_READY_LAG: '0',
    }),
  );
}

function startIn(dbFile: string, groupId: string): Promise<RunningHistory> {
  return startHistory(configFor(dbFile, groupId), {
    clock: new SystemClock(),
    log: createLogger('history-test', 'warn'),
  });
}

async function waitUntilCaughtUp(history: RunningHistory): Promise<void> {
  await eventually(
    async () => ((await history.app.inject({ url: '/readyz' })).statusCode === 200 ? true : undefined),
    60_000,
    'lag 0',
  );
}

function dumpFile(file: string): Record<string, unknown[]> {
  const sqlite = new Database(file, { readonly: true });
  try {
    return dumpTables(sqlite);
  } finally {
    sqlite.close();
  }
}

beforeAll(async () => {
  isolation = await isolate('history-projector');
  await createIsolatedTopics(isolation);
  dir = mkdtempSync(join(tmpdir(), 'nono-history-'));
  clean = generateStream({ executions: 1500, tasks: 12, seed: 3 });

  const reference = openMemoryDatabase();
  new BatchProjector(new ProjectionStore(reference.db), new ManualClock(0)).project({
    topic: 'reference',
    partition: 0,
    records: clean.map((event, offset) => ({
      offset,
      key: event.subject,
      value: Buffer.from(String(encodeEvent(event).value)),
    })),
  });
  expected = dumpTables(reference.sqlite, PROJECTED_TABLES);
  reference.close();

  const kafka = createKafka({ brokers: isolation.kafkaBrokers, clientId: `${isolation.name}-producer` });
  const publisher = new EventPublisher(kafka, isolation.topics);
  const shuffled = shuffleSomePairs(clean);
  for (let i = 0; i < shuffled.length; i += 1000) await publisher.publish(shuffled.slice(i, i + 1000));
  // The same facts again (a scheduler republishing its spool after a crash): same ids, new offsets.
  const republished = clean.filter((_, i) => i % 10 === 0);
  await publisher.publish(republished);
  published = [...shuffled, ...republished];
  await publisher.disconnect();
  const raw = kafka.producer();
  await raw.connect();
  await raw.send({
    topic: isolation.topics.executions,
    messages: MALFORMED.map((value, i) => ({ key: `bad-${i}`, value, partition: i % 3 })),
  });
  await raw.disconnect();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('KafkaProjector', () => {
  it('converges to the in-order projection despite duplicates, out-of-order facts and malformed records, and survives a restart', async () => {
    const file = join(dir, 'a.sqlite');
    const first = await startIn(file, `${isolation.name}-a`);
    await waitUntilCaughtUp(first);
    const metrics = (await first.app.inject({ url: '/metrics' })).body;
    await first.stop();

    const { dead_letters: deadLetters, ...tables } = dumpFile(file);
    expect(tables).toEqual(expected);
    expect(deadLetters).toHaveLength(MALFORMED.length);
    expect(metrics).toMatch(/nono_history_dead_letters_total\{topic="[^"]+executions",service="history"\} 4/);
    expect(metrics).toMatch(
      /nono_history_duplicate_events_total\{topic="[^"]+executions",service="history"\} [1-9]/,
    );

    // Same database, same group: resumes from the stored offsets, nothing projected twice.
    const again = await startIn(file, `${isolation.name}-a`);
    await waitUntilCaughtUp(again);
    await again.stop();
    expect(dumpFile(file)).toEqual({ ...expected, dead_letters: deadLetters });
  });

  it('rebuilds a fresh database from the beginning even when the group has offsets in Kafka', async () => {
    // The group of the previous test already went through the topics; a new file must not start where it stopped.
    const file = join(dir, 'b.sqlite');
    const history = await startIn(file, `${isolation.name}-a`);
    await waitUntilCaughtUp(history);
    await history.stop();
    const { dead_letters: deadLetters, ...tables } = dumpFile(file);
    expect(tables).toEqual(expected);
    expect(deadLetters).toHaveLength(MALFORMED.length);
  });

  it('rebuilds into a new file and swaps it over the old one, and replays a time window', async () => {
    const file = join(dir, 'c.sqlite');
    writeFileSync(file, 'not a database: the rebuild must replace it, not open it');
    const progress: string[] = [];
    const config = configFor(file, `${isolation.name}-c`);
    const log = createLogger('history-test', 'warn');
    const result = await rebuildDatabase(config, {
      clock: new SystemClock(),
      log,
      progress: (line) => progress.push(line),
    });
    expect(result.records).toBe(published.length + MALFORMED.length);
    expect(progress.at(-1)).toMatch(/remaining/);
    const { dead_letters: deadLetters, ...tables } = dumpFile(file);
    expect(tables).toEqual(expected);
    expect(deadLetters).toHaveLength(MALFORMED.length);

    const from = Date.parse('2026-11-20T00:00:00Z');
    const to = Date.parse('2026-11-20T01:00:00Z');
    const lines: string[] = [];
    const replay = await replayEvents(config, { from, to }, { log, write: (line) => lines.push(line) });
    const inWindow = published.filter(
      (event) => Date.parse(event.time) >= from && Date.parse(event.time) < to,
    );
    expect(replay.printed).toBe(inWindow.length);
    expect(lines.map((line) => (JSON.parse(line) as NonoEvent).id).sort()).toEqual(
      inWindow.map((event) => event.id).sort(),
    );
  });
});
