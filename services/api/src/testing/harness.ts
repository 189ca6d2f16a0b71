import { type Server, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { ZkClient, ZkOutbox, ZnodeLayout, outboxRoot } from '@nono/coordination';
import { type Clock, type NonoEvent, SystemClock } from '@nono/domain';
import { EventPublisher, createKafka, decodeEvent } from '@nono/events';
import { EnvReader, createLogger, createMetricsRegistry, loadTargetPolicy } from '@nono/runtime';
import { type FastifyInstance } from 'fastify';
import { ZkBackfills } from '../backfills/zk-backfills.js';
import { ZkCalendars } from '../calendars/zk-calendars.js';
// Brings in the ProvidedContext declaration that types inject('zkConnect').
import type {} from '../../../../tests/support/global-setup.js';
import {
  type Isolation,
  createIsolatedTopics,
  eventually,
  isolate,
} from '../../../../tests/support/fixtures.js';
import { buildApp } from '../app.js';
import { OutboxRelay } from '../audit/outbox-relay.js';
import { hashToken } from '../auth/token-registry.js';
import { ZkApiTokens } from '../auth/zk-api-tokens.js';
import { ZkClusterView } from '../cluster/cluster-view.js';
import { ZkWorkerGroupStore } from '../groups/worker-group-store.js';
import { UndiciHistoryClient } from '../history/history-client.js';
import { HistoryReplicas } from '../history/history-replicas.js';
import { ZkTaskStore } from '../tasks/zk-task-store.js';

/**
 * One API wired to the real ZooKeeper and Kafka of the test run, isolated per test file
 * (its own chroot and topic prefix), plus a fake history service and a Kafka reader.
 */
export const TOKENS = {
  viewer: 'viewer-secret-token',
  operator: 'operator-secret-token',
  admin: 'admin-secret-token',
} as const;
export const auth = (role: keyof typeof TOKENS): Record<string, string> => ({
  authorization: `Bearer ${TOKENS[role]}`,
});

export interface Harness {
  readonly iso: Isolation;
  readonly app: FastifyInstance;
  readonly zk: ZkClient;
  readonly layout: ZnodeLayout;
  readonly relay: OutboxRelay;
  readonly apiTokens: ZkApiTokens;
  readonly outbox: ZkOutbox;
  readonly history: FakeHistory;
  /** Every audit event read back from the tasks topic so far. */
  readonly audit: NonoEvent[];
  close(): Promise<void>;
}

export interface FakeHistory {
  readonly url: string;
  readonly requests: string[];
  respond: (url: string) => { status: number; body: unknown };
  /** Stops the fake, to test an unreachable history service. */
  close(): Promise<void>;
}

export async function startHarness(
  label: string,
  options: {
    clock?: Clock;
    orphanAfterMs?: number;
    rateLimitPerMinute?: number;
    trustProxy?: readonly string[];
    /** Forward history routes to this service instead of the fake (which still runs, unused). */
    historyUrl?: string;
    /** The API's token for history's query routes. */
    historyReadToken?: string;
    /** NONO_ZK_AUTH for the API's ZooKeeper client. */
    zkAuth?: string;
    /** An isolation made beforehand (to start other processes on it first). */
    iso?: Isolation;
  } = {},
): Promise<Harness> {
  const iso = options.iso ?? (await isolate(label));
  await createIsolatedTopics(iso, 1);
  const clock = options.clock ?? new SystemClock();
  const log = createLogger('api-test', 'silent');
  const layout = new ZnodeLayout('/nono');
  const zk = await ZkClient.connect({
    connect: iso.zkConnect,
    sessionTimeoutMs: 10_000,
    auth: options.zkAuth,
  });
  for (const path of [...layout.parents, outboxRoot(layout.root)]) await zk.ensurePath(path);

  const kafka = createKafka({ brokers: iso.kafkaBrokers, clientId: `api-${iso.name}` });
  const publisher = new EventPublisher(kafka, iso.topics);
  const outbox = new ZkOutbox({ zk, zkRoot: layout.root, clock, log });
  const relay = new OutboxRelay({
    zk,
    layout,
    publisher,
    clock,
    log,
    orphanAfterMs: options.orphanAfterMs ?? 30_000,
    retryMs: 500,
  });
  outbox.onCommitted(() => void relay.drain());
  const history = await startFakeHistory();
  const apiTokens = new ZkApiTokens({ zk, layout, log });
  await apiTokens.start();
  const historyUrl = options.historyUrl ?? history.url;

  const app = await buildApp({
    store: new ZkTaskStore({ zk, layout, outbox, log }),
    groups: new ZkWorkerGroupStore({ zk, layout, outbox, log }),
    cluster: new ZkClusterView(zk, layout),
    history: new HistoryReplicas({
      replicas: [
        new UndiciHistoryClient({ baseUrl: historyUrl, timeoutMs: 2_000, token: options.historyReadToken }),
      ],
      clock,
      log,
      maxLag: 1_000,
      probeIntervalMs: 2_000,
      probeTimeoutMs: 2_000,
    }),
    clock,
    tokens: (['viewer', 'operator', 'admin'] as const).map((role) => ({
      role,
      sha256: Buffer.from(hashToken(TOKENS[role]), 'hex'),
    })),
    apiTokens,
    calendars: new ZkCalendars({ zk, layout, outbox }),
    backfills: new ZkBackfills({ zk, layout, outbox }),
    // The policy main.ts would build from these variables: the run's ZooKeeper, Kafka and
    // history are the cluster's own endpoints, as is the API's default port.
    targetPolicy: loadTargetPolicy(
      new EnvReader({
        NONO_ALLOWED_TARGET_HOSTS: '127.0.0.1,localhost,*.example.com',
        NONO_ZK_CONNECT: iso.zkConnect,
        NONO_KAFKA_BROKERS: iso.kafkaBrokers.join(','),
        NONO_HISTORY_URL: historyUrl,
      }),
    ),
    log,
    metrics: createMetricsRegistry('api-test'),
    readiness: () => ({ ready: zk.state === 'connected', detail: { zookeeper: zk.state } }),
    eventSource: 'nono://api/test',
    rateLimitPerMinute: options.rateLimitPerMinute ?? 10_000,
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
  });
  await app.ready();

  const audit: NonoEvent[] = [];
  const consumer = kafka.consumer({ groupId: `${iso.topicPrefix}audit-reader` });
  await consumer.connect();
  // A topic created a moment ago may not be served by its leader yet: retry the subscription.
  await eventually(
    async () => {
      await consumer.subscribe({ topic: iso.topics.tasks, fromBeginning: true });
      return true;
    },
    20_000,
    'the audit topic to be served',
  );
  await consumer.run({
    eachMessage: ({ message }) => {
      const decoded = decodeEvent(message.value);
      if (decoded.ok) audit.push(decoded.value);
      return Promise.resolve();
    },
  });

  return {
    iso,
    app,
    zk,
    layout,
    relay,
    apiTokens,
    outbox,
    history,
    audit,
    async close() {
      await app.close();
      await relay.stop();
      apiTokens.stop();
      await consumer.disconnect();
      await publisher.disconnect();
      await history.close();
      zk.close();
    },
  };
}

async function startFakeHistory(): Promise<FakeHistory> {
  const requests: string[] = [];
  const fake = {
    url: '',
    requests,
    respond: (_url: string): { status: number; body: unknown } => ({ status: 200, body: { items: [] } }),
  };
  const server: Server = createServer((request, response) => {
    const url = request.url ?? '';
    requests.push(url);
    const { status, body } = fake.respond(url);
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(fake, {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** Waits until the audit stream has an event matching `match`. */
export function auditEvent(
  h: Harness,
  match: (event: NonoEvent) => boolean,
  what: string,
): Promise<NonoEvent> {
  return eventually(() => h.audit.find(match), 30_000, what);
}

/** A valid spec with a cron schedule; override what a test is about. */
export function sampleTask(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: `task ${id}`,
    schedule: { kind: 'cron', expression: '*/5 * * * *', timeZone: 'Europe/Paris' },
    target: { url: 'http://127.0.0.1:9999/hook' },
    labels: { team: 'data' },
    ...overrides,
  };
}

export { eventually };
