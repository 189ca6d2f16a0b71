import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
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
import { requestServiceRebuild } from '../cli/rebuild.js';
import { loadHistoryConfig } from '../config.js';
import { hashToken } from '../http/admin-auth.js';
import { type RunningHistory, startHistory } from '../history-service.js';
import { BatchProjector } from '../projector/batch-projector.js';
import { ProjectionStore } from '../projector/projection-store.js';
import { generateStream } from '../testing/event-stream.js';
import { openMemoryDatabase } from '../testing/memory-store.js';
import { PROJECTED_TABLES, dumpTables } from '../testing/table-dump.js';
import { type RebuildStatus } from './live-rebuilder.js';

/**
 * `POST /admin/rebuild` on a running service: while the topics are rebuilt into a new file
 * and swapped in, and while more events are published, queries hammered over HTTP must
 * all succeed; afterwards the database at the configured path must equal a projection of
 * every published event, table by table.
 */
const QUERIES = [
  '/tasks/task-003/executions?limit=50',
  '/executions?status=failed&limit=20',
  '/reports/tasks/task-001',
  '/reports/daily?day=2026-11-20',
  '/audit?limit=10',
  '/schedulers/history',
];

let isolation: Isolation;
let dir: string;
let history: RunningHistory | undefined;
const log = createLogger('history-test', 'warn');

function referenceDump(events: readonly NonoEvent[]): Record<string, unknown[]> {
  const reference = openMemoryDatabase();
  try {
    new BatchProjector(new ProjectionStore(reference.db), new ManualClock(0)).project({
      topic: 'reference',
      partition: 0,
      records: events.map((event, offset) => ({
        offset,
        key: event.subject,
        value: Buffer.from(String(encodeEvent(event).value)),
      })),
    });
    return dumpTables(reference.sqlite, PROJECTED_TABLES);
  } finally {
    reference.close();
  }
}

/** Loops over the query endpoints until stopped; any non-200 answer or network error is a failure. */
function hammer(
  url: string,
  loops: number,
): { stop: () => Promise<{ ok: number; failures: string[]; slowestMs: number }> } {
  let running = true;
  let ok = 0;
  let slowestMs = 0;
  const failures: string[] = [];
  const workers = Array.from({ length: loops }, async (_, worker) => {
    for (let i = worker; running; i += 1) {
      const path = QUERIES[i % QUERIES.length] ?? '/executions';
      const sent = performance.now();
      try {
        const response = await fetch(`${url}${path}`, { headers: admin });
        await response.arrayBuffer();
        slowestMs = Math.max(slowestMs, performance.now() - sent);
        if (response.status === 200) ok += 1;
        else failures.push(`${path}: ${response.status}`);
      } catch (error) {
        failures.push(`${path}: ${String(error)}`);
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return { ok, failures, slowestMs };
    },
  };
}

beforeAll(async () => {
  isolation = await isolate('history-live-rebuild');
  await createIsolatedTopics(isolation);
  dir = mkdtempSync(join(tmpdir(), 'nono-history-live-rebuild-'));
});

afterAll(async () => {
  await history?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ADMIN_TOKEN = 'live-rebuild-admin-token';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('POST /admin/rebuild', () => {
  it('rebuilds and swaps the database while every query keeps succeeding and events keep arriving', async () => {
    const before = generateStream({ executions: 2_000, tasks: 12, seed: 21 });
    const during = generateStream({
      executions: 600,
      tasks: 12,
      seed: 22,
      start: Date.parse('2026-11-21T00:00:00Z'),
    });
    const kafka = createKafka({ brokers: isolation.kafkaBrokers, clientId: `${isolation.name}-producer` });
    const publisher = new EventPublisher(kafka, isolation.topics);
    for (let i = 0; i < before.length; i += 1000) await publisher.publish(before.slice(i, i + 1000));

    const file = join(dir, 'history.sqlite');
    history = await startHistory(
      loadHistoryConfig(
        new EnvReader({
          NONO_KAFKA_BROKERS: isolation.kafkaBrokers.join(','),
          NONO_TOPIC_PREFIX: isolation.topicPrefix,
          NONO_HISTORY_DB: file,
          NONO_HISTORY_PORT: '0',
          NONO_HISTORY_GROUP_ID: `${isolation.name}-live`,
          NONO_HISTORY_READY_LAG: '0',
          NONO_HISTORY_ADMIN_TOKENS: hashToken(ADMIN_TOKEN),
        }),
      ),
      { clock: new SystemClock(), log },
    );
    const { url } = history;
    const caughtUp = (): Promise<true> =>
      eventually(
        async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined),
        60_000,
        'lag 0',
      );
    await caughtUp();
    expect((await fetch(`${url}/admin/rebuild`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${url}/admin/rebuild`, { headers: admin })).status).toBe(404);
    const generationBefore = history.database.current;

    const load = hammer(url, 4);
    const started = await fetch(`${url}/admin/rebuild`, { method: 'POST', headers: admin });
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe('/admin/rebuild');
    const { id } = (await started.json()) as RebuildStatus;
    const again = await fetch(`${url}/admin/rebuild`, { method: 'POST', headers: admin });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 'NONO_HISTORY_REBUILD_IN_PROGRESS' });

    // Published while the rebuild reads: part lands before its captured end offsets, part after.
    for (let i = 0; i < during.length; i += 500) await publisher.publish(during.slice(i, i + 500));
    await publisher.disconnect();

    const phases = new Set<string>();
    const finished = await eventually(
      async () => {
        const status = (await (
          await fetch(`${url}/admin/rebuild`, { headers: admin })
        ).json()) as RebuildStatus;
        phases.add(status.phase);
        return status.phase === 'done' || status.phase === 'failed' ? status : undefined;
      },
      90_000,
      'rebuild finished',
    );
    await caughtUp();
    const { ok, failures, slowestMs } = await load.stop();
    log.info({ ok, slowestMs, phases: [...phases], finished }, 'queries served during the rebuild');

    expect(finished).toMatchObject({ id, phase: 'done', error: null });
    expect(finished.records).toBeGreaterThanOrEqual(before.length);
    expect(typeof finished.eventsPerSecond).toBe('number');
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(50);
    expect(history.database.current).not.toBe(generationBefore);
    expect(readdirSync(dir).filter((name) => name.includes('.rebuild-'))).toEqual([]);

    // `history rebuild` with the service running delegates to it and follows its progress,
    // with its token (NONO_HISTORY_ADMIN_TOKEN); without one it says what to set.
    await expect(requestServiceRebuild(url, { progress: () => undefined })).rejects.toThrow(
      /401.*NONO_HISTORY_ADMIN_TOKEN/,
    );
    const lines: string[] = [];
    const viaCli = await requestServiceRebuild(url, {
      progress: (line) => lines.push(line),
      pollMs: 200,
      token: ADMIN_TOKEN,
    });
    expect(viaCli).toMatchObject({ kind: 'finished', status: { phase: 'done' } });
    expect(lines.at(-1)).toMatch(/^rebuild: done, \d+ records, \d+ events\/s, 0 remaining lag/);
    await caughtUp();

    await history.stop();
    history = undefined;
    const sqlite = new Database(file, { readonly: true });
    try {
      expect(dumpTables(sqlite, PROJECTED_TABLES)).toEqual(referenceDump([...before, ...during]));
    } finally {
      sqlite.close();
    }
  });

  it('is not attempted by the CLI when no service answers: it then rebuilds offline', async () => {
    const server = createServer();
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise((closed) => server.close(closed));
    expect(await requestServiceRebuild(`http://127.0.0.1:${port}`, { progress: () => undefined })).toEqual({
      kind: 'not-running',
    });
  });
});
