import { type NonoEvent } from '@nono/domain';
import { EventPublisher, createKafka } from '@nono/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The history service's test helper, as bench/history uses it: a stream of events.
import { generateStream } from '../../services/history/src/testing/event-stream.js';
import { type ApiProcess, startApiProcess } from '../support/api.js';
import { HISTORY_READ_TOKEN, startHistoryProcess } from '../support/cluster.js';
import { type Isolation, createIsolatedTopics, eventually, isolate } from '../support/fixtures.js';
import { tablesEqualOnceCaughtUp } from '../support/ledger.js';
// Brings the `inject('kafkaBrokers')` typing of the global setup into this program (type-only, erased).
import type {} from '../support/global-setup.js';

/**
 * History replicas on real processes (built dist): two history services projecting the same
 * topics of the shared Kafka, each in its own consumer group and database, behind one API
 * process. Their tables must be equal row for row; SIGKILLing the replica the API reads from
 * must cost no read (every request answered by the other, none 5xx); the killed replica,
 * restarted on its database, must catch up until the tables are equal again.
 */
type History = Awaited<ReturnType<typeof startHistoryProcess>>;

const VIEWER = 'replicas-viewer-token';
const START = Date.parse('2026-11-20T00:00:00Z');
const TASKS = 20;
const BACKLOG_EXECUTIONS = 4_000;
const LIVE_EXECUTIONS = 2_000;

let iso: Isolation;
let publisher: EventPublisher;
let backlogEvents = 0;
const replicas: { a?: History; b?: History } = {};
let api: ApiProcess | undefined;

beforeAll(async () => {
  iso = await isolate('history-replicas');
  await createIsolatedTopics(iso);
  publisher = new EventPublisher(
    createKafka({ brokers: iso.kafkaBrokers, clientId: `${iso.name}-producer` }),
    iso.topics,
  );
  const backlog = generateStream({ executions: BACKLOG_EXECUTIONS, tasks: TASKS, seed: 7, start: START });
  backlogEvents = backlog.length;
  await publishInBatches(backlog, 1_000);
}, 120_000);

afterAll(async () => {
  await api?.kill('SIGTERM');
  await Promise.all([replicas.a?.kill('SIGKILL'), replicas.b?.kill('SIGKILL')]);
  await publisher?.disconnect();
});

describe('history replicas behind the API', () => {
  it('two replicas, named alike but for NONO_HISTORY_REPLICA, project the stream into equal tables', async () => {
    // Both get the same NONO_HISTORY_GROUP_ID: only the replica name keeps their groups apart.
    replicas.a = await startHistoryProcess(iso, { replica: 'a' });
    replicas.b = await startHistoryProcess(iso, { replica: 'b' });
    const digests = await tablesEqualOnceCaughtUp([replicas.a, replicas.b]);
    expect(digests['processed_events']?.rows).toBe(backlogEvents);
    expect(digests['executions']?.rows).toBe(BACKLOG_EXECUTIONS);
  });

  it('answers every read while the replica it reads from is SIGKILLed, and the replica catches up after its restart', async () => {
    const { a, b } = replicas;
    if (a === undefined || b === undefined) throw new Error('the replicas of the first test');
    api = await startApiProcess(
      iso,
      { viewer: VIEWER },
      {
        NONO_HISTORY_URLS: `${a.url},${b.url}`,
        // A deployment that had one history keeps its NONO_HISTORY_URL; NONO_HISTORY_URLS wins.
        NONO_HISTORY_URL: a.url,
        NONO_HISTORY_READ_TOKEN: HISTORY_READ_TOKEN,
        NONO_HISTORY_PROBE_INTERVAL_MS: '500',
        NONO_API_RATE_LIMIT_PER_MINUTE: '1000000',
      },
    );
    const apiUrl = api.url;
    const status = await eventually(
      async () => {
        const report = await statusOf(apiUrl);
        return report.historyReplicas.every((replica) => replica.state === 'current') ? report : undefined;
      },
      20_000,
      'both replicas current in /status',
    );
    expect(status.historyReplicas.map(({ replica, name }) => ({ replica, name }))).toEqual([
      { replica: 1, name: 'a' },
      { replica: 2, name: 'b' },
    ]);

    const reads = startReading(apiUrl, 3);
    try {
      await eventually(() => (reads.results.length >= 30 ? true : undefined), 20_000, '30 reads');
      // Reads stick to one replica: the first current one.
      expect(new Set(reads.results.map((read) => read.replica))).toEqual(new Set(['1']));

      // New facts keep arriving while replica 1 dies.
      const live = generateStream({
        executions: LIVE_EXECUTIONS,
        tasks: TASKS,
        seed: 8,
        start: START + (BACKLOG_EXECUTIONS / TASKS + 10) * 60_000,
      });
      const publishing = publishInBatches(live, 200);
      await a.kill('SIGKILL');
      const killedAt = reads.results.length;
      await eventually(
        () =>
          reads.results.slice(killedAt).filter((read) => read.replica === '2').length >= 30
            ? true
            : undefined,
        30_000,
        '30 reads answered by replica 2 after the kill',
      );
      const whileDown = await eventually(
        async () => {
          const report = await statusOf(apiUrl);
          return report.historyReplicas[0]?.state === 'down' ? report : undefined;
        },
        10_000,
        '/status to show replica 1 down',
      );
      expect(whileDown.historyReplicas.map(({ state, readsHere }) => ({ state, readsHere }))).toEqual([
        { state: 'down', readsHere: false },
        { state: expect.stringMatching(/^(current|behind)$/), readsHere: true },
      ]);
      expect(whileDown.history.reachable).toBe(true);
      await publishing;

      // Restarted on its database and port: it resumes from the offsets stored in it.
      replicas.a = await startHistoryProcess(iso, { replica: 'a', dbFile: a.dbFile, port: a.port });
      await eventually(
        async () => {
          const report = await statusOf(apiUrl);
          return report.historyReplicas.every((replica) => replica.state === 'current') ? true : undefined;
        },
        60_000,
        'both replicas current again in /status',
      );
      const before = reads.results.length;
      await eventually(
        () => (reads.results.length >= before + 30 ? true : undefined),
        20_000,
        '30 more reads',
      );
    } finally {
      await reads.stop();
    }

    const failed = reads.results.filter((read) => read.status !== 200);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    expect(reads.results.length).toBeGreaterThan(90);
    // After the kill reads stayed on replica 2, also once replica 1 was back (they stick while it is current).
    const lastRead = reads.results.at(-1);
    expect(lastRead?.replica).toBe('2');

    const restarted = replicas.a;
    if (restarted === undefined) throw new Error('replica a restarted');
    const digests = await tablesEqualOnceCaughtUp([restarted, b]);
    expect(digests['executions']?.rows).toBe(BACKLOG_EXECUTIONS + LIVE_EXECUTIONS);
  }, 240_000);
});

async function publishInBatches(events: readonly NonoEvent[], size: number): Promise<void> {
  for (let i = 0; i < events.length; i += size) await publisher.publish(events.slice(i, i + size));
}

interface StatusReport {
  readonly history: { readonly reachable: boolean; readonly detail: string };
  readonly historyReplicas: ReadonlyArray<{
    readonly replica: number;
    readonly name?: string;
    readonly state: string;
    readonly readsHere: boolean;
  }>;
}

async function statusOf(apiUrl: string): Promise<StatusReport> {
  const response = await fetch(`${apiUrl}/api/v1/status`, { headers: { authorization: `Bearer ${VIEWER}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as StatusReport;
}

interface Read {
  readonly path: string;
  readonly status: number | 'no answer';
  readonly replica: string | null;
}

/** `loops` readers asking the API for history views, one request after another, until stopped. */
function startReading(apiUrl: string, loops: number): { results: Read[]; stop(): Promise<void> } {
  const paths = [
    '/executions?limit=20',
    '/tasks/task-003/executions?limit=10',
    '/audit?limit=5',
    '/reports/daily?day=2026-11-20',
    '/schedulers/history',
  ];
  const results: Read[] = [];
  let stopped = false;
  const loop = async (offset: number): Promise<void> => {
    for (let n = offset; !stopped; n += 1) {
      const path = paths[n % paths.length] ?? '/executions';
      try {
        const response = await fetch(`${apiUrl}/api/v1${path}`, {
          headers: { authorization: `Bearer ${VIEWER}` },
          signal: AbortSignal.timeout(15_000),
        });
        await response.arrayBuffer();
        results.push({
          path,
          status: response.status,
          replica: response.headers.get('nono-history-replica'),
        });
      } catch {
        results.push({ path, status: 'no answer', replica: null });
      }
    }
  };
  const running = Array.from({ length: loops }, (_, i) => loop(i));
  return {
    results,
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
  };
}
