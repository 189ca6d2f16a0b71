import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZkClient, ZnodeLayout, assignmentDocument } from '@nono/coordination';
import {
  type NonoEvent,
  type SchedulerTask,
  createEvent,
  createTask,
  parseInstant,
  parseTaskSpec,
  reviseTask,
  taskSpecOf,
  uuidV5,
} from '@nono/domain';
import { createKafka, decodeEvent, encodeEvent } from '@nono/events';
import { type Isolation, createIsolatedTopics, eventually } from './isolation.js';
import {
  type RunningProcess,
  type TestWorker,
  freePort,
  readyTimeoutMs,
  startProcess,
  startTestWorker,
} from './processes.js';

/** Scheduler processes, task znodes and the event log of one isolated test cluster. */
export const layout = new ZnodeLayout('/nono');

export interface SchedulerProcess extends RunningProcess {
  readonly id: string;
  readonly opsUrl: string;
  readonly spoolDir: string;
}

export async function startScheduler(
  iso: Isolation,
  id: string,
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
  cwd?: string,
  /**
   * Where it runs when not beside the test: `launcher` before node (`ip netns exec <ns>`) and the
   * address its ops port listens on there (NONO_SCHEDULER_HOST), which the test reaches it at.
   */
  placement: { readonly launcher: readonly string[]; readonly host: string } = {
    launcher: [],
    host: '127.0.0.1',
  },
): Promise<SchedulerProcess> {
  const port = await freePort();
  const spoolDir = env.NONO_SCHEDULER_SPOOL_DIR ?? mkdtempSync(join(tmpdir(), `nono-spool-${id}-`));
  const proc = startProcess(
    `scheduler-${id}`,
    'services/scheduler/dist/main.js',
    {
      NONO_ZK_CONNECT: iso.zkConnect,
      NONO_ZK_ROOT: '/nono',
      NONO_KAFKA_BROKERS: iso.kafkaBrokers.join(','),
      NONO_TOPIC_PREFIX: iso.topicPrefix,
      NONO_SCHEDULER_ID: id,
      NONO_SCHEDULER_PORT: String(port),
      NONO_SCHEDULER_SPOOL_DIR: spoolDir,
      NONO_ZK_SESSION_TIMEOUT_MS: '4000',
      NONO_SCHEDULER_HOST: placement.host,
      NONO_LOG_LEVEL: 'info',
      ...env,
    },
    nodeArgs,
    cwd,
    placement.launcher,
  );
  const opsUrl = `http://${placement.host}:${port}`;
  await eventually(
    async () => ((await fetch(`${opsUrl}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined),
    readyTimeoutMs(),
    `scheduler ${id} to be ready (log: ${proc.logFile})`,
  );
  return Object.assign(proc, { id, opsUrl, spoolDir });
}

/** `auth`: NONO_ZK_AUTH's user:password, when the cluster under test runs with it. */
export async function connectZk(iso: Isolation, auth?: string): Promise<ZkClient> {
  const zk = await ZkClient.connect({ connect: iso.zkConnect, sessionTimeoutMs: 10_000, auth });
  for (const parent of layout.parents) await zk.ensurePath(parent);
  return zk;
}

export function buildTask(id: string, input: Record<string, unknown>, now = Date.now()): SchedulerTask {
  const spec = parseTaskSpec({ name: id, ...input }, now);
  if (!spec.ok) throw new Error(`bad test task ${id}: ${JSON.stringify(spec.issues)}`);
  return createTask(id, spec.value, now);
}

export async function putTask(zk: ZkClient, task: SchedulerTask): Promise<void> {
  await zk.create(layout.task(task.id), JSON.stringify(task));
}

export async function updateTask(
  zk: ZkClient,
  taskId: string,
  change: (task: SchedulerTask) => Partial<SchedulerTask>,
): Promise<SchedulerTask> {
  const { data, stat } = await zk.get(layout.task(taskId));
  const current = JSON.parse(data.toString('utf8')) as SchedulerTask;
  const next = reviseTask(current, { ...taskSpecOf(current), ...change(current) }, Date.now());
  await zk.set(layout.task(taskId), JSON.stringify(next), stat.version);
  return next;
}

/**
 * Publishes the `task.defined` events the API's outbox would for tasks a test wrote straight
 * into ZooKeeper (same type, id derivation and time: the task's creation), so history knows
 * their definitions and can compute their ledgers.
 */
export async function publishDefinitions(iso: Isolation, tasks: readonly SchedulerTask[]): Promise<void> {
  const producer = createKafka({ brokers: iso.kafkaBrokers, clientId: `definitions-${iso.name}` }).producer();
  await producer.connect();
  try {
    const messages = tasks.map((task) =>
      encodeEvent(
        createEvent(
          'nono.task.defined.v1',
          { taskId: task.id, actor: { id: 'test', kind: 'system' }, revision: task.revision, after: task },
          {
            id: uuidV5(`audit|nono.task.defined.v1|${task.id}|${task.createdAt}|${task.revision}`),
            source: 'nono://api/test',
            subject: task.id,
            time: parseInstant(task.createdAt) ?? 0,
          },
        ),
      ),
    );
    await producer.send({ topic: iso.topics.tasks, messages });
  } finally {
    await producer.disconnect();
  }
}

/**
 * `count` tasks (`<prefix>000`…) calling the worker every second, each instant it misses caught
 * up (misfire `fire-all`) and never skipped for overlap: stalls, failovers and elections then
 * show as late calls, never as missing ones, so "accounted for" means fired and "called once"
 * is the fence's doing alone. `timeoutMs` (the call's budget) shortens the ledger's pending rule.
 */
export function catchUpTasks(
  prefix: string,
  count: number,
  workerUrl: string,
  options: { createdAt?: number; timeoutMs?: number } = {},
): SchedulerTask[] {
  const createdAt = options.createdAt ?? Date.now();
  const width = String(count - 1).length;
  return Array.from({ length: count }, (_, i) => {
    const id = `${prefix}${String(i).padStart(width, '0')}`;
    return buildTask(
      id,
      {
        schedule: { kind: 'interval', everyMs: 1000 },
        target: {
          url: `${workerUrl}/ok/${id}`,
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        },
        misfire: { policy: 'fire-all' },
        overlap: 'allow',
      },
      createdAt,
    );
  });
}

/** Writes the tasks into ZooKeeper and, as the API would, their definitions on the tasks topic (the ledger's due instants). */
export async function defineTasks(
  iso: Isolation,
  zk: ZkClient,
  tasks: readonly SchedulerTask[],
): Promise<void> {
  for (const task of tasks) await putTask(zk, task);
  await publishDefinitions(iso, tasks);
}

/** Resolves once the worker has had a call of every task (cold processes on two cores need a moment). */
export async function untilEveryTaskFires(
  worker: TestWorker,
  tasks: readonly SchedulerTask[],
  timeoutMs: number,
): Promise<void> {
  await eventually(
    async () =>
      new Set((await worker.calls()).map((c) => c.taskId)).size === tasks.length ? true : undefined,
    timeoutMs,
    'every task to fire once',
  );
}

/** The token the test history services take on their query routes, as the API's would be. */
export const HISTORY_READ_TOKEN = 'test-history-read-token';

/**
 * A history service (built dist) projecting this isolation's topics into a fresh database.
 * Its query routes need a token: send `readHeaders` with each query. Replicas of one
 * isolation share the consumer group's base name; `replica` (NONO_HISTORY_REPLICA) is what
 * must make their groups their own.
 */
export async function startHistoryProcess(
  iso: Isolation,
  options: { dbFile?: string; port?: number; replica?: string } = {},
): Promise<
  RunningProcess & {
    readonly url: string;
    readonly port: number;
    readonly dbFile: string;
    readonly readHeaders: Record<string, string>;
    /** The token its query routes take: an API in front of it sends it (NONO_HISTORY_READ_TOKEN). */
    readonly readToken: string;
  }
> {
  const port = options.port ?? (await freePort());
  const dbFile = options.dbFile ?? join(mkdtempSync(join(tmpdir(), 'nono-history-')), 'history.sqlite');
  const proc = startProcess(
    options.replica === undefined ? 'history' : `history-${options.replica}`,
    'services/history/dist/main.js',
    {
      NONO_KAFKA_BROKERS: iso.kafkaBrokers.join(','),
      NONO_TOPIC_PREFIX: iso.topicPrefix,
      NONO_HISTORY_DB: dbFile,
      NONO_HISTORY_PORT: String(port),
      NONO_HISTORY_GROUP_ID: `history-${iso.name}`,
      NONO_HISTORY_READ_TOKENS: createHash('sha256').update(HISTORY_READ_TOKEN).digest('hex'),
      NONO_LOG_LEVEL: 'info',
      ...(options.replica === undefined ? {} : { NONO_HISTORY_REPLICA: options.replica }),
    },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await eventually(
      async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined),
      readyTimeoutMs(),
      `history to be ready (log: ${proc.logFile})`,
    );
  } catch (error) {
    // The caller never gets the process to stop: it must not outlive the failed test.
    await proc.kill('SIGKILL');
    throw error;
  }
  return Object.assign(proc, {
    url,
    port,
    dbFile,
    readHeaders: { authorization: `Bearer ${HISTORY_READ_TOKEN}` },
    readToken: HISTORY_READ_TOKEN,
  });
}

export async function readAssignmentOwners(
  zk: ZkClient,
): Promise<Readonly<Record<string, readonly string[]>>> {
  const { data } = await zk.get(layout.assignment);
  const parsed = assignmentDocument.parse(data);
  if (!parsed.ok) throw new Error(`assignment malformed: ${JSON.stringify(parsed.issues)}`);
  return parsed.value.owners;
}

/** Reads a topic from the beginning into memory, for assertions over the event log. */
export async function collectEvents(
  iso: Isolation,
  topic: string,
): Promise<{ events: NonoEvent[]; stop(): Promise<void> }> {
  const kafka = createKafka({ brokers: iso.kafkaBrokers, clientId: `collector-${iso.name}` });
  const consumer = kafka.consumer({
    groupId: `collector-${iso.name}-${Math.random().toString(16).slice(2)}`,
    sessionTimeout: 10_000,
  });
  const events: NonoEvent[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = decodeEvent(message.value);
      if (!decoded.ok) throw new Error(`undecodable event: ${JSON.stringify(decoded.issues)}`);
      events.push(decoded.value);
    },
  });
  return { events, stop: () => consumer.disconnect() };
}

/** The processes and clients one scheduler test file works with; `stop` ends them all. */
export interface TestCluster {
  readonly iso: Isolation;
  readonly zk: ZkClient;
  readonly worker: TestWorker;
  readonly schedulers: SchedulerProcess[];
  stop(): Promise<void>;
}

export async function startTestCluster(
  iso: Isolation,
  options: {
    schedulers: readonly string[];
    partitions?: number;
    env?: Record<string, string>;
    /** The test's own ZooKeeper client authenticates with this (pass NONO_ZK_AUTH in env too). */
    zkAuth?: string;
  },
): Promise<TestCluster> {
  await createIsolatedTopics(iso, options.partitions ?? 3);
  const zk = await connectZk(iso, options.zkAuth);
  const worker = await startTestWorker();
  const schedulers: SchedulerProcess[] = [];
  for (const id of options.schedulers) schedulers.push(await startScheduler(iso, id, options.env ?? {}));
  return {
    iso,
    zk,
    worker,
    schedulers,
    async stop() {
      for (const scheduler of schedulers) scheduler.child.kill('SIGCONT'); // a frozen process ignores SIGTERM
      await Promise.all(schedulers.map((scheduler) => scheduler.kill('SIGTERM')));
      await worker.process.kill();
      zk.close();
    },
  };
}

/**
 * A test cluster and its executions topic read from the beginning: what a file that checks the
 * facts of one scheduler's runs sets up. Call it in beforeAll and `stop` in afterAll.
 */
export async function startClusterWithFacts(
  iso: Isolation,
  schedulers: readonly string[],
): Promise<{ cluster: TestCluster; facts: NonoEvent[]; stop: () => Promise<void> }> {
  const cluster = await startTestCluster(iso, { schedulers });
  const collected = await collectEvents(cluster.iso, cluster.iso.topics.executions);
  return {
    cluster,
    facts: collected.events,
    stop: async () => {
      await collected.stop();
      await cluster.stop();
    },
  };
}
