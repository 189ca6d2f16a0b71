import { appendFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { type SchedulerTask } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from '../support/api.js';
import {
  HISTORY_READ_TOKEN,
  type SchedulerProcess,
  type TestCluster,
  catchUpTasks,
  defineTasks,
  readAssignmentOwners,
  startHistoryProcess,
  startScheduler,
  startTestCluster,
  untilEveryTaskFires,
} from '../support/cluster.js';
import { type Isolation, eventually, isolateOn } from '../support/fixtures.js';
import { type HaInfra, startHaInfra } from '../support/ha-infra.js';
import {
  type LedgerWindow,
  doubledOccurrences,
  kafkaFiredFacts,
  ledgerTotals,
  otherOutcomes,
  settledLedgers,
  tablesEqualOnceCaughtUp,
} from '../support/ledger.js';
import { isolatedNamespace } from '../support/netns.js';
import { REPO_ROOT } from '../support/processes.js';

/**
 * Faults under load on the HA infra (three ZooKeeper servers, three KRaft Kafka nodes, started
 * here in a run dir of its own): three schedulers fire NONO_FAULTS_TASKS (default 200)
 * per-second catch-up tasks, two history replicas project the facts, and after each fault the
 * exactly-once ledger is checked over the fault's window: every due instant fired once or
 * recorded with a reason (none pending or unaccounted), none doubled or stale, no occurrence
 * called twice at the worker, every fired fact on Kafka (and no occurrence with two owners'
 * facts there), both replicas' ledgers alike and their tables equal row for row.
 *
 * Each test prints what it measured on one `[faults] …` line and appends it as JSON to
 * test-results/faults-results.jsonl; docs/BENCHMARKS.md ("Faults") quotes the latest.
 */
const TASKS = Number(process.env['NONO_FAULTS_TASKS'] ?? '200');
/** The production ZooKeeper session timeout (the integration tests' 4 s is for fast takeovers). */
const ZK_SESSION_TIMEOUT_MS = 10_000;
const SCHEDULER_ENV = { NONO_ZK_SESSION_TIMEOUT_MS: String(ZK_SESSION_TIMEOUT_MS) };

// Services started here wait for their readiness up to 2 minutes (a history service took 28 s
// to listen beside six JVMs at load 35): slow is not what these tests judge.
process.env['NONO_TEST_READY_TIMEOUT_MS'] ??= '120000';

const RESULTS = join(REPO_ROOT, 'test-results', 'faults-results.jsonl');
const say = (line: string): void => void process.stdout.write(`[faults] ${line}\n`);
const record = (fault: string, measured: Record<string, unknown>): void => {
  mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
  appendFileSync(RESULTS, `${JSON.stringify({ fault, at: new Date().toISOString(), ...measured })}\n`);
  say(`${fault}: ${JSON.stringify(measured)}`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const load1 = (): number => Math.round((loadavg()[0] ?? 0) * 10) / 10;

type History = Awaited<ReturnType<typeof startHistoryProcess>>;

/** The cluster under load: schedulers, the worker their tasks call, two history replicas. */
interface Load {
  readonly iso: Isolation;
  readonly cluster: TestCluster;
  readonly replicas: History[];
  readonly tasks: readonly SchedulerTask[];
  /** Loads seen (1-minute load average), sampled every 5 s from the start. */
  readonly loads: number[];
  stop(): Promise<void>;
}

async function startLoad(
  infra: HaInfra,
  label: string,
  schedulers: readonly string[],
  /** Starts what else the test needs before the tasks are defined (a scheduler elsewhere). */
  extra: (cluster: TestCluster, iso: Isolation) => Promise<void> = async () => undefined,
): Promise<Load> {
  const iso = await isolateOn(label, infra.zkConnect, infra.kafkaBrokers);
  const cluster = await startTestCluster(iso, { schedulers, partitions: 6, env: SCHEDULER_ENV });
  const replicas: History[] = [];
  const loads = [load1()];
  const sampler = setInterval(() => loads.push(load1()), 5_000);
  const stop = async (): Promise<void> => {
    clearInterval(sampler);
    await Promise.all(replicas.map((replica) => replica.kill('SIGTERM')));
    await cluster.stop();
  };
  try {
    replicas.push(await startHistoryProcess(iso, { replica: '1' }));
    replicas.push(await startHistoryProcess(iso, { replica: '2' }));
    await extra(cluster, iso);
    // A call's budget of 5 s: a slow worker on a loaded machine times out rather than hangs.
    const tasks = catchUpTasks(`${label.slice(0, 3)}-`, TASKS, cluster.worker.url, { timeoutMs: 5_000 });
    await defineTasks(iso, cluster.zk, tasks);
    await untilEveryTaskFires(cluster.worker, tasks, 180_000);
    return { iso, cluster, replicas, tasks, loads, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A window of whole seconds starting a second or so from now. */
function windowFrom(now: number, lengthMs: number): LedgerWindow {
  const start = Math.ceil((now + 1_000) / 1000) * 1000;
  return { start, end: start + lengthMs };
}
const at = (window: LedgerWindow, offsetMs: number): Promise<void> =>
  sleep(Math.max(0, window.start + offsetMs - Date.now()));

/**
 * The exactly-once check after a fault, reported and asserted: waits (generously: two cores
 * shared with other work) until both replicas' ledgers of the window settle, their tables are
 * equal and Kafka holds every fired fact.
 */
async function checkExactlyOnce(
  load: Load,
  window: LedgerWindow,
  fault: string,
  measured: Record<string, unknown>,
): Promise<void> {
  const { iso, cluster, replicas, tasks } = load;
  const taskIds = new Set(tasks.map((task) => task.id));
  const settled = (ledger: { summary: Record<string, number> }): boolean =>
    ledger.summary['pending'] === 0 && ledger.summary['unaccounted'] === 0 && ledger.summary['running'] === 0;
  const ledgers = await Promise.all(
    replicas.map((replica) => settledLedgers(replica, tasks, window, settled, Date.now() + 240_000)),
  );
  const totals = ledgers.map((ledger) => ledgerTotals(ledger));
  // The load stops before the replicas are compared: while facts keep coming, two replicas are
  // never at the same offset at once. A stopped scheduler has handed its facts to Kafka.
  await Promise.all(cluster.schedulers.map((scheduler) => scheduler.kill('SIGTERM')));
  // Nothing below needs ZooKeeper; the table digests and the topic's facts keep this process
  // busy for seconds at a time, and a ZooKeeper session of its own that expires meanwhile ends
  // the process (seen: the C client shut the vitest worker down).
  cluster.zk.close();
  let digests: Record<string, { rows: number }> = {};
  let tablesDiffer: string | undefined;
  try {
    digests = await tablesEqualOnceCaughtUp(replicas, 180_000);
  } catch (error) {
    tablesDiffer = (error as Error).message;
  }
  const calls = (await cluster.worker.calls()).filter((call) => {
    const nominal = Date.parse(call.nominal);
    return taskIds.has(call.taskId) && nominal >= window.start && nominal < window.end;
  });
  const doubledCalls = doubledOccurrences(calls);
  const first = totals[0] ?? {};
  const kafka = await kafkaFiredFacts(iso, taskIds, window, calls, first['fired'] ?? 0);
  const due = TASKS * ((window.end - window.start) / 1000);
  record(fault, {
    tasks: TASKS,
    windowS: (window.end - window.start) / 1000,
    ...measured,
    ledger: first,
    otherOutcomes: otherOutcomes(ledgers[0] ?? []),
    replicasAlike: totals.every((t) => JSON.stringify(t) === JSON.stringify(first)),
    replicaTablesEqual: tablesDiffer === undefined,
    executionsRows: digests['executions']?.rows,
    calls: calls.length,
    doubledCalls: doubledCalls.length,
    kafka: {
      firedMessages: kafka.messages,
      occurrences: kafka.occurrences,
      doubledFires: kafka.doubledFires.length,
      repeatedMessages: kafka.repeatedMessages,
      callsWithoutFact: kafka.callsWithoutFact.length,
      bySchedulers: kafka.bySchedulers,
    },
    load1: { min: Math.min(...load.loads), max: Math.max(...load.loads), end: load1() },
  });

  expect(tablesDiffer, 'the replicas’ tables').toBeUndefined();
  expect(doubledCalls, 'occurrences called twice at the worker').toEqual([]);
  for (const [i, replicaTotals] of totals.entries())
    expect(replicaTotals, `replica ${i + 1}'s ledger totals`).toEqual(first);
  expect(first['due'], 'due instants in the window').toBe(due);
  expect(first['doubled']).toBe(0);
  expect(first['stale']).toBe(0);
  expect(first['unaccounted']).toBe(0);
  expect(first['pending']).toBe(0);
  // Fired, or recorded with a reason (misfired, lost, skipped by the misfire policy): nothing
  // else ends an instant here. (The summary's `skipped` counts by reason.)
  const skipped = Object.entries(otherOutcomes(ledgers[0] ?? []))
    .filter(([outcome]) => outcome.startsWith('skipped'))
    .reduce((sum, [, count]) => sum + count, 0);
  expect(
    (first['fired'] ?? 0) + (first['misfired'] ?? 0) + (first['lost'] ?? 0) + skipped,
  ).toBeGreaterThanOrEqual(due);
  expect(kafka.doubledFires, 'occurrences with two owners’ fired facts on Kafka').toEqual([]);
  expect(kafka.callsWithoutFact, 'worker calls without a fired fact on Kafka').toEqual([]);
  expect(kafka.occurrences, 'fired occurrences on Kafka').toBe(first['fired']);
}

/** Each scheduler's event spool depth (its /metrics), summed. */
async function spoolDepth(schedulers: readonly SchedulerProcess[]): Promise<number> {
  const depths = await Promise.all(
    schedulers.map(async (scheduler) => {
      const text = await (await fetch(`${scheduler.opsUrl}/metrics`).catch(() => undefined))?.text();
      const match = /^nono_event_spool_depth(?:\{[^}]*\})? (\d+(?:\.\d+)?)/m.exec(text ?? '');
      return Number(match?.[1] ?? 0);
    }),
  );
  return depths.reduce((sum, depth) => sum + depth, 0);
}

const ready = async (url: string): Promise<boolean> =>
  (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200;

describe('faults under load: three schedulers firing a few hundred tasks a second on the HA infra', () => {
  let infra: HaInfra;
  beforeAll(async () => {
    const t0 = Date.now();
    infra = await startHaInfra('under-load');
    say(
      `HA infra up in ${Date.now() - t0} ms: ${infra.zkConnect} / ${infra.kafkaBrokers} (log ${infra.logFile})`,
    );
  });
  afterAll(async () => {
    await infra?.down();
  });

  it('two Kafka brokers stopped for 20 s (min.insync.replicas 2 cannot be met): the schedulers spool the facts and deliver them once the brokers are back; nothing lost, nothing doubled', async () => {
    const load = await startLoad(infra, 'isr', ['i1', 'i2', 'i3']);
    try {
      const { schedulers, worker } = load.cluster;
      const window = windowFrom(Date.now(), 70_000);
      await at(window, 10_000);
      const victims = ['kafka-2', 'kafka-3'];
      const stoppingAt = Date.now();
      await infra.stop(victims);
      const downAt = Date.now();
      const callsBefore = (await worker.calls()).length;
      // While they are down the schedulers keep firing (ZooKeeper fences them); the facts wait in the spools.
      let deepest = 0;
      let unreachableSeen = 0;
      while (Date.now() < downAt + 20_000) {
        deepest = Math.max(deepest, await spoolDepth(schedulers));
        for (const scheduler of schedulers) {
          const body = await (await fetch(`${scheduler.opsUrl}/readyz`).catch(() => undefined))?.text();
          if (body?.includes('unreachable') === true) unreachableSeen += 1;
        }
        await sleep(1_000);
      }
      const callsWhileDown = (await worker.calls()).length - callsBefore;
      const restartingAt = Date.now();
      expect((await infra.restart()).sort()).toEqual(victims);
      const restartMs = Date.now() - restartingAt;
      const drainedAt = await eventually(
        async () => ((await spoolDepth(schedulers)) === 0 ? Date.now() : undefined),
        180_000,
        'the spools to drain',
      );
      await at(window, 70_000 + 3_000);
      await checkExactlyOnce(load, window, 'two Kafka brokers down 20 s', {
        stopMs: downAt - stoppingAt,
        downS: Math.round((restartingAt - downAt) / 1000),
        restartMs,
        callsWhileDown,
        deepestSpool: deepest,
        readyzUnreachableSamples: unreachableSeen,
        spoolDrainedMsAfterRestart: drainedAt - restartingAt,
      });
      expect(callsWhileDown, 'calls while Kafka could not take writes').toBeGreaterThan(0);
      expect(deepest, 'facts held in the spools').toBeGreaterThan(0);
    } finally {
      await load.stop();
    }
  });

  it('rebalance churn: a scheduler joins or leaves every 10 s for 3 minutes (leaves alternate SIGTERM and SIGKILL)', async () => {
    const load = await startLoad(infra, 'churn', ['c1', 'c2', 'c3']);
    try {
      const { iso, cluster } = load;
      const alive = [...cluster.schedulers];
      const WINDOW_MS = 180_000;
      const window = windowFrom(Date.now(), WINDOW_MS);
      const steps: string[] = [];
      let next = 4;
      let leaves = 0;
      for (let step = 1; step < WINDOW_MS / 10_000; step++) {
        await at(window, step * 10_000);
        if (step % 2 === 1) {
          const id = `c${next++}`;
          const t0 = Date.now();
          const joined = await startScheduler(iso, id, SCHEDULER_ENV);
          cluster.schedulers.push(joined);
          alive.push(joined);
          steps.push(`+${id} ${Date.now() - t0}ms`);
        } else {
          const leaving = alive.shift();
          if (leaving === undefined) throw new Error('no scheduler left to stop');
          const signal = leaves++ % 2 === 0 ? 'SIGTERM' : 'SIGKILL';
          const t0 = Date.now();
          await leaving.kill(signal);
          steps.push(`-${leaving.id} ${signal} ${Date.now() - t0}ms`);
        }
      }
      await at(window, WINDOW_MS + 3_000);
      const owners = await readAssignmentOwners(cluster.zk);
      const notReady: string[] = [];
      for (const scheduler of alive) if (!(await ready(scheduler.opsUrl))) notReady.push(scheduler.id);
      // What a scheduler spooled and could not deliver before it stopped reaches Kafka when it
      // starts again on its spool, as deploy/'s unit does on its machine (Restart=on-failure,
      // the spool in its state directory): each that left is started once more and stopped.
      // A machine lost for good loses what its spool held (its instants are recorded lost).
      const departed = cluster.schedulers.filter((scheduler) => !alive.includes(scheduler));
      for (const gone of departed) {
        const again = await startScheduler(iso, gone.id, {
          ...SCHEDULER_ENV,
          NONO_SCHEDULER_SPOOL_DIR: gone.spoolDir,
        });
        await again.kill('SIGTERM');
      }
      steps.push(`restarted on their spools: ${departed.map((scheduler) => scheduler.id).join(', ')}`);
      await checkExactlyOnce(load, window, 'rebalance churn', {
        steps: steps.join(', '),
        aliveAtEnd: alive.map((scheduler) => scheduler.id),
        ownersAtEnd: Object.fromEntries(Object.entries(owners).map(([id, tasks]) => [id, tasks.length])),
      });
      expect(notReady, 'schedulers not ready at the end').toEqual([]);
    } finally {
      await load.stop();
    }
  });

  it('a rolling restart of every service, one at a time, as docs/DEPLOYMENT.md says: history replicas, the API, then each scheduler', async () => {
    let api: ApiProcess | undefined;
    const load = await startLoad(infra, 'rolling', ['r1', 'r2', 'r3']);
    try {
      const { iso, cluster, replicas } = load;
      const apiEnv = (port?: number): Record<string, string> => ({
        NONO_HISTORY_URLS: replicas.map((replica) => replica.url).join(','),
        NONO_HISTORY_READ_TOKEN: HISTORY_READ_TOKEN,
        NONO_HISTORY_PROBE_INTERVAL_MS: '500',
        ...(port === undefined ? {} : { NONO_API_PORT: String(port) }),
      });
      api = await startApiProcess(iso, { viewer: 'rolling-viewer' }, apiEnv());
      const window = windowFrom(Date.now(), 0);
      await at(window, 10_000);
      const steps: string[] = [];
      const step = async (what: string, body: () => Promise<void>): Promise<void> => {
        const t0 = Date.now();
        await body();
        steps.push(`${what} ${Date.now() - t0}ms`);
      };
      // 1. The consumers first: each history replica stopped, started again on its database and port.
      for (const [i, replica] of [...replicas].entries())
        await step(`history-${i + 1}`, async () => {
          expect(await replica.kill('SIGTERM')).toBe(0);
          replicas[i] = await startHistoryProcess(iso, {
            replica: String(i + 1),
            dbFile: replica.dbFile,
            port: replica.port,
          });
        });
      // 2. The API (one here: a deployment with two takes each out of the reverse proxy in turn).
      await step('api', async () => {
        const port = Number(new URL(api?.url ?? '').port);
        expect(await api?.kill('SIGTERM')).toBe(0);
        api = await startApiProcess(iso, { viewer: 'rolling-viewer' }, apiEnv(port));
      });
      // 3. The schedulers, one at a time: stopped, started again with the same id and spool,
      // ready, and given tasks by the assignment before the next.
      for (const [i, scheduler] of [...cluster.schedulers].entries())
        await step(scheduler.id, async () => {
          expect(await scheduler.kill('SIGTERM')).toBe(0);
          const restarted = await startScheduler(iso, scheduler.id, {
            ...SCHEDULER_ENV,
            NONO_SCHEDULER_SPOOL_DIR: scheduler.spoolDir,
          });
          cluster.schedulers[i] = restarted;
          await eventually(
            async () =>
              ((await readAssignmentOwners(cluster.zk))[scheduler.id]?.length ?? 0) > 0 || undefined,
            60_000,
            `${scheduler.id} given tasks again`,
          );
        });
      // Every replica current behind the API again.
      const apiUrl = api.url;
      await eventually(
        async () => {
          const response = await fetch(`${apiUrl}/api/v1/status`, {
            headers: { authorization: 'Bearer rolling-viewer' },
          });
          const status = (await response.json()) as {
            historyReplicas?: ReadonlyArray<{ state: string }>;
          };
          return status.historyReplicas?.length === 2 &&
            status.historyReplicas.every((replica) => replica.state === 'current')
            ? true
            : undefined;
        },
        60_000,
        'both history replicas current in the API’s /status',
      );
      const rolled = { start: window.start, end: Math.ceil((Date.now() + 10_000) / 1000) * 1000 };
      await at(rolled, rolled.end - rolled.start + 3_000);
      await checkExactlyOnce(load, rolled, 'rolling restart', { steps: steps.join(', ') });
    } finally {
      await api?.kill('SIGTERM');
      await load.stop();
    }
  });

  it('a network partition of one scheduler from ZooKeeper (its network namespace’s ZooKeeper veth taken down): it stops firing by the time its ZooKeeper session expires, the others take its tasks over, nothing doubled', async () => {
    const ports = (hosts: string): number[] => hosts.split(',').map((host) => Number(host.split(':')[1]));
    let netns: Awaited<ReturnType<typeof isolatedNamespace>> | undefined;
    let partitioned: SchedulerProcess | undefined;
    const load = await startLoad(infra, 'partition', ['p1', 'p2'], async (cluster, iso) => {
      netns = await isolatedNamespace({
        zooKeeper: ports(infra.zkConnect),
        other: [...ports(infra.kafkaBrokers), Number(new URL(cluster.worker.url).port)],
      });
      partitioned = await startScheduler(
        iso,
        'p3',
        { ...SCHEDULER_ENV, NONO_ZK_CONNECT: netns.zkConnect(iso.zkConnect) },
        [],
        undefined,
        {
          launcher: netns.launcher,
          host: netns.host,
        },
      );
      cluster.schedulers.push(partitioned);
    });
    try {
      if (netns === undefined || partitioned === undefined) throw new Error('the namespaced scheduler');
      const p3 = partitioned;
      const { cluster } = load;
      const ownedBefore = new Set((await readAssignmentOwners(cluster.zk))['p3'] ?? []);
      const window = windowFrom(Date.now(), 70_000);
      await at(window, 10_000);
      const partitionedAt = Date.now();
      await netns.partitionFromZooKeeper();
      const takenOverAt = await eventually(
        async () =>
          ((await readAssignmentOwners(cluster.zk))['p3']?.length ?? 0) === 0 ? Date.now() : undefined,
        60_000,
        'the assignment to take p3’s tasks away',
      );
      await at(window, 40_000);
      const healedAt = Date.now();
      await netns.heal();
      await eventually(async () => (await ready(p3.opsUrl)) || undefined, 90_000, 'p3 ready again');
      const readyAgainAt = Date.now();
      await at(window, 70_000 + 3_000);

      const lines = p3.lines();
      const firstLine = (pattern: RegExp): string | undefined => lines.find((line) => pattern.test(line));
      const timeOf = (line: string | undefined): number | undefined => {
        const match = line === undefined ? null : /"time":"?([^",]+)"?/.exec(line);
        const value = match?.[1];
        if (value === undefined) return undefined;
        return /^\d+$/.test(value) ? Number(value) : Date.parse(value);
      };
      const suspended = firstLine(/ZooKeeper connection suspended/);
      const expired = firstLine(/ZooKeeper session expired/);

      const taskIds = new Set(load.tasks.map((task) => task.id));
      // p3's fired facts after the partition began, from Kafka (it still reaches Kafka and the worker).
      // Read until the topic holds a fact for every call of the window (the schedulers still run).
      const windowCalls = (await cluster.worker.calls()).filter((call) => {
        const nominal = Date.parse(call.nominal);
        return taskIds.has(call.taskId) && nominal >= window.start && nominal < window.end;
      });
      const facts = await kafkaFiredFacts(load.iso, taskIds, window, windowCalls, windowCalls.length);
      const p3Fires = facts.facts
        .filter((event) => (event.data as { schedulerId: string }).schedulerId === 'p3')
        .map((event) => Date.parse((event.data as { firedAt: string }).firedAt));
      const lastP3FireMs = Math.max(...p3Fires.filter((t) => t < healedAt)) - partitionedAt;
      const othersOnP3Tasks = facts.facts.filter((event) => {
        const data = event.data as { schedulerId: string; taskId: string; firedAt: string };
        const firedAt = Date.parse(data.firedAt);
        return (
          data.schedulerId !== 'p3' &&
          ownedBefore.has(data.taskId) &&
          firedAt > partitionedAt &&
          firedAt < healedAt
        );
      });
      const firstTakeoverMs =
        Math.min(...othersOnP3Tasks.map((event) => Date.parse((event.data as { firedAt: string }).firedAt))) -
        partitionedAt;

      await checkExactlyOnce(load, window, 'network partition of one scheduler from ZooKeeper', {
        p3TasksBefore: ownedBefore.size,
        p3SuspendedMs: (timeOf(suspended) ?? Number.NaN) - partitionedAt,
        p3ExpiredMs: (timeOf(expired) ?? Number.NaN) - partitionedAt,
        p3LastFireMsAfterPartition: lastP3FireMs,
        assignmentMovedMs: takenOverAt - partitionedAt,
        firstTakeoverFireMs: firstTakeoverMs,
        p3FiresAfterHeal: p3Fires.filter((t) => t >= healedAt).length,
        readyAgainMsAfterHeal: readyAgainAt - healedAt,
      });
      expect(ownedBefore.size, 'p3 owned tasks before the partition').toBeGreaterThan(0);
      expect(p3Fires.length, 'p3’s fired facts in the window').toBeGreaterThan(0);
      // It stopped firing no later than its ZooKeeper session's expiry, and before anyone else fired its tasks.
      expect(lastP3FireMs).toBeLessThanOrEqual(ZK_SESSION_TIMEOUT_MS);
      expect(othersOnP3Tasks.length, 'p3’s tasks fired by the others during the partition').toBeGreaterThan(
        0,
      );
      expect(firstTakeoverMs).toBeGreaterThan(lastP3FireMs);
      expect(suspended, 'p3 saw its ZooKeeper connection suspended').toBeDefined();
    } finally {
      await load.stop();
      await netns?.close();
    }
  });
});
