/**
 * The cluster at scale: 6 schedulers and 50,000 tasks on the HA infra (3 ZooKeeper servers,
 * 3 Kafka nodes), then one scheduler SIGKILLed.
 *
 *   NONO_INFRA_HA=1 npm run infra:up && npm run build
 *   eval "$(NONO_INFRA_HA=1 node infra/bin/nono-infra.mjs env)"   # NONO_ZK_CONNECT, NONO_KAFKA_BROKERS
 *   npx tsx bench/scheduler/scale.ts --tasks 50000 --schedulers 6 --period-s 10 --seconds 30
 *
 * Workload: half the tasks are crons firing every `--period-s` seconds in real time zones
 * (Europe/Paris, America/New_York, Asia/Kolkata, Australia/Adelaide, America/Sao_Paulo,
 * Asia/Tokyo; their second of the period spread by task), half are intervals of the same period
 * with their phases spread evenly: `tasks / period` fires a second when every instant fires.
 * Each instant is an HTTP call to one local test worker (recording off).
 *
 * Measured over the window (after every task is owned and a warm-up):
 * - fenced fires/s: first-attempt `execution.fired` events of the window's instants, read back
 *   from Kafka (each one follows a fence compare-and-set in ZooKeeper); doubled instants too;
 * - `lateMs` p50/p99 (the scheduler's fired minus nominal instant) and the worker's arrival
 *   lateness p50/p99;
 * - ZooKeeper writes/s (the leader's transaction counter), CPU in cores of the ZooKeeper
 *   leader, of all ZooKeeper servers, of the Kafka nodes, of the schedulers and of the worker,
 *   and the machine's busy share of its cores (/proc/stat: neighbours' work included);
 * - then one scheduler is SIGKILLed: the time until the survivors own all tasks again, and for
 *   each of the victim's tasks the time from the kill to its first fire by a survivor.
 * The load average is printed before and after.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { type Schedule, nextFireTimes, parseSchedule } from '@nono/domain';
import { createKafka, decodeEvent } from '@nono/events';
import {
  buildTask,
  connectZk,
  putTask,
  readAssignmentOwners,
  startScheduler,
  type SchedulerProcess,
} from '../../tests/support/cluster.js';
import { createIsolatedTopics, dropIsolation, isolateOn } from '../../tests/support/isolation.js';
import { startTestWorker } from '../../tests/support/processes.js';
import {
  cpuSecondsOfKind,
  metricSum,
  metricValue,
  percentile,
  processCpuSeconds,
  storeCpuSeconds,
  storeServers,
  zooKeeperLeader,
} from '../support/stores.js';

// Ctrl-C exits through 'exit', where tests/support/processes.ts kills the workers and schedulers.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '50000' },
    schedulers: { type: 'string', default: '6' },
    'period-s': { type: 'string', default: '10' },
    seconds: { type: 'string', default: '30' },
    // After every task is owned: the first instants of 50,000 tasks are a burst of fence reads.
    'warmup-s': { type: 'string', default: '20' },
    'session-ms': { type: 'string', default: '4000' },
    // Skip the SIGKILL (measures only the steady state).
    'no-kill': { type: 'boolean', default: false },
    'scheduler-env': { type: 'string', multiple: true, default: [] },
    'infra-dir': { type: 'string', default: process.env.NONO_INFRA_DIR ?? 'infra/.run-ha' },
  },
});
const taskCount = Number(values.tasks);
const schedulerCount = Number(values.schedulers);
const periodS = Number(values['period-s']);
const seconds = Number(values.seconds);
const warmupMs = Number(values['warmup-s']) * 1000;
const sessionMs = Number(values['session-ms']);
if (
  !Number.isInteger(periodS) ||
  periodS < 1 ||
  (periodS > 60 && periodS !== 120) ||
  60 % Math.min(periodS, 60) !== 0
)
  throw new Error('--period-s: a whole number of seconds dividing 60, or 60 or 120, so a cron can name it');

/** The scheduler's default `NONO_CLAIM_LEAD_MS`: instants this close to a kill may be the victim's. */
const CLAIM_LEAD_MS = 300;
const ZONES = [
  'Europe/Paris',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Adelaide',
  'America/Sao_Paulo',
  'Asia/Tokyo',
] as const;
const loadBefore = loadavg();
const createdAt = Date.now();
const ids = Array.from({ length: taskCount }, (_, i) => `s${String(i).padStart(5, '0')}`);
const scheduleOf = (i: number): Record<string, unknown> =>
  i % 2 === 0
    ? {
        kind: 'cron',
        // At its second every period (once a minute at 60; every other minute at 120).
        expression:
          periodS === 120
            ? `${Math.floor(i / 2) % 60} ${Math.floor(i / 120) % 2}/2 * * * *`
            : `${Math.floor(i / 2) % periodS}${periodS === 60 ? '' : `/${periodS}`} * * * * *`,
        timeZone: ZONES[Math.floor(i / 2) % ZONES.length],
      }
    : {
        kind: 'interval',
        everyMs: periodS * 1000,
        anchorAt: new Date(createdAt + Math.floor((i * periodS * 1000) / taskCount)).toISOString(),
      };
const schedules: Schedule[] = ids.map((_, i) => {
  const parsed = parseSchedule(scheduleOf(i));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
});

const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`);
const iso = await isolateOn(
  'bench-scale',
  process.env.NONO_ZK_CONNECT ?? '127.0.0.1:2281,127.0.0.1:2282,127.0.0.1:2283',
  process.env.NONO_KAFKA_BROKERS ?? '127.0.0.1:9192,127.0.0.1:9193,127.0.0.1:9194',
);
await createIsolatedTopics(iso, 6);
const zk = await connectZk(iso);
const worker = await startTestWorker({ record: false });
const workerPid = worker.process.child.pid;

// Tasks first, then the schedulers: a cluster starting on a full task tree (the tasks' watch
// fires once per child otherwise, 50,000 times, which is not what this measures).
const putStarted = Date.now();
for (let i = 0; i < ids.length; i += 500) {
  await Promise.all(
    ids
      .slice(i, i + 500)
      .map((id, j) =>
        putTask(
          zk,
          buildTask(
            id,
            { schedule: scheduleOf(i + j), target: { url: `${worker.url}/ok/${id}` } },
            createdAt,
          ),
        ),
      ),
  );
}
const putMs = Date.now() - putStarted;
log(`${taskCount} tasks written to ZooKeeper in ${putMs} ms`);

const schedulers: SchedulerProcess[] = [];
const schedulerEnv = {
  NONO_LOG_LEVEL: 'warn',
  NONO_ZK_SESSION_TIMEOUT_MS: String(sessionMs),
  ...Object.fromEntries(values['scheduler-env'].map((pair) => pair.split('=', 2) as [string, string])),
};
const schedulersStarted = Date.now();
/** A failed start leaves no 50,000 tasks behind in the ensemble (three runs of them filled its heap). */
const orDrop = async <T>(step: Promise<T>): Promise<T> => {
  try {
    return await step;
  } catch (error) {
    log(`failed: ${String(error)}; dropping the isolation`);
    await Promise.all(schedulers.map((s) => s.kill('SIGKILL')));
    zk.close();
    await dropIsolation(iso);
    throw error;
  }
};
// All at once: the first member alone would be assigned every task, and its first reads of
// 50,000 definitions at once time out in the ZooKeeper client (measured: see docs/BENCHMARKS.md).
schedulers.push(
  ...(await orDrop(
    Promise.all(
      Array.from({ length: schedulerCount }, (_, i) => startScheduler(iso, `scale${i}`, schedulerEnv)),
    ),
  )),
);

/**
 * A scheduler's /metrics, asked again once: on a starved machine a kept-alive connection the
 * scheduler is closing meets the next request (ECONNRESET), which lost a whole 50,000-task run.
 */
const scrape = async (s: SchedulerProcess): Promise<string> => {
  try {
    return await (await fetch(`${s.opsUrl}/metrics`)).text();
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 500));
    return (await fetch(`${s.opsUrl}/metrics`)).text();
  }
};
/** Tasks owned by the given schedulers, by their own gauges. */
const owned = async (among: readonly SchedulerProcess[]): Promise<number> =>
  (await Promise.all(among.map(async (s) => metricSum(await scrape(s), 'nono_owned_tasks')))).reduce(
    (a, b) => a + b,
    0,
  );
const waitUntil = async (check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};
await orDrop(
  waitUntil(async () => (await owned(schedulers)) >= taskCount, 300_000, 'every task to be owned'),
);
const acquiredMs = Date.now() - schedulersStarted;
log(`${schedulerCount} schedulers own all ${taskCount} tasks ${acquiredMs} ms after the first started`);

const stores = storeServers(values['infra-dir']);
/** The machine's busy and total jiffies (all cores), from the first line of /proc/stat. */
const machineJiffies = (): { busy: number; total: number } => {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
};
const schedulerCpu = async (): Promise<number[]> =>
  Promise.all(schedulers.map(async (s) => metricValue(await scrape(s), 'process_cpu_seconds_total')));

const windowStart = Math.ceil((Date.now() + warmupMs) / 1000) * 1000;
const windowEnd = windowStart + seconds * 1000;
log(`measuring ${seconds} s from ${new Date(windowStart).toISOString()} (load ${loadavg()[0]?.toFixed(2)})`);
await new Promise((resolve) => setTimeout(resolve, windowStart - Date.now()));
const leader = await zooKeeperLeader(stores);
const at = {
  schedulers: await schedulerCpu(),
  stores: storeCpuSeconds(stores),
  worker: workerPid === undefined ? undefined : processCpuSeconds(workerPid),
  machine: machineJiffies(),
  time: Date.now(),
};
await new Promise((resolve) => setTimeout(resolve, windowEnd - Date.now()));
const leaderAfter = leader === undefined ? undefined : await zooKeeperLeader(stores);
const end = {
  schedulers: await schedulerCpu(),
  stores: storeCpuSeconds(stores),
  worker: workerPid === undefined ? undefined : processCpuSeconds(workerPid),
  machine: machineJiffies(),
  time: Date.now(),
};
const elapsedS = (end.time - at.time) / 1000;
const scrapes = await Promise.all(schedulers.map(scrape));
const loadAfterWindow = loadavg();

// The SIGKILL: the victim's tasks (as the assignment names them), the time until the survivors
// own every task, and (from the events below) until each of its tasks fires on a survivor.
let kill:
  { victim: string; victimTasks: Set<string>; killedAt: number; ownedAgainMs: number | null } | undefined;
if (!values['no-kill']) {
  // The scheduler the assignment gives the most tasks (one that just lost its ZooKeeper session
  // may own none at this moment, which would measure nothing).
  const owners = await readAssignmentOwners(zk);
  const victim = schedulers.reduce((most, s) =>
    (owners[s.id]?.length ?? 0) > (owners[most.id]?.length ?? 0) ? s : most,
  );
  const victimTasks = new Set(owners[victim.id] ?? []);
  const killedAt = Date.now();
  await victim.kill('SIGKILL');
  const survivors = schedulers.filter((s) => s !== victim);
  // Not fatal: a starved cluster may not settle in 2 minutes; the kill → fire times still tell.
  const settled = await waitUntil(
    async () => (await owned(survivors)) >= taskCount,
    120_000,
    'the survivors to own every task',
  ).then(
    () => true,
    () => false,
  );
  const ownedAgainMs = settled ? Date.now() - killedAt : null;
  log(`SIGKILL ${victim.id} (${victimTasks.size} tasks): survivors own all tasks after ${ownedAgainMs} ms`);
  // Every victim task's next instant falls within a period of the takeover.
  await new Promise((resolve) => setTimeout(resolve, periodS * 1000 + 5_000));
  kill = { victim: victim.id, victimTasks, killedAt, ownedAgainMs };
}
// The schedulers stop before the read-back: the topic's end is then the run's last event, and
// their CPU does not compete with the collector's.
await Promise.all(schedulers.map((s) => s.kill('SIGTERM')));

/**
 * The executions topic read back after the run, keeping only the first attempts' `fired` facts
 * (what the measures need, a few fields each: a full decoded event per fire for a million events
 * would not fit a bench's heap; tests/support's collectEvents keeps whole events).
 */
interface Fire {
  readonly taskId: string;
  readonly nominal: number;
  readonly lateMs: number;
  readonly schedulerId: string;
}
const fires: Fire[] = [];
const kafka = createKafka({ brokers: iso.kafkaBrokers, clientId: `collector-${iso.name}` });
const admin = kafka.admin();
await admin.connect();
const endOffsets = new Map(
  (await admin.fetchTopicOffsets(iso.topics.executions)).map((p) => [p.partition, Number(p.high)]),
);
await admin.disconnect();
const readTo = new Map<number, number>();
const consumer = kafka.consumer({ groupId: `collector-${iso.name}`, sessionTimeout: 30_000 });
await consumer.connect();
await consumer.subscribe({ topic: iso.topics.executions, fromBeginning: true });
await consumer.run({
  eachBatch: async ({ batch }) => {
    for (const message of batch.messages) {
      readTo.set(batch.partition, Number(message.offset) + 1);
      const decoded = decodeEvent(message.value);
      if (!decoded.ok) throw new Error(`undecodable event: ${JSON.stringify(decoded.issues)}`);
      const event = decoded.value;
      if (event.type !== 'nono.execution.fired.v1' || event.data.attempt !== 1) continue;
      fires.push({
        taskId: event.data.taskId,
        nominal: Date.parse(event.data.nominalTime),
        lateMs: event.data.lateMs,
        schedulerId: event.data.schedulerId,
      });
    }
  },
});
await waitUntil(
  async () => [...endOffsets].every(([partition, high]) => (readTo.get(partition) ?? 0) >= high),
  600_000,
  'the executions topic to be read back',
);
await consumer.disconnect();

const inWindow = fires.filter((f) => f.nominal >= windowStart && f.nominal < windowEnd);
const expected = schedules.reduce(
  (sum, schedule) =>
    sum + nextFireTimes(schedule, windowStart - 1, 1_000).filter((t) => t < windowEnd).length,
  0,
);
const perInstant = new Map<string, number>();
for (const f of fires)
  perInstant.set(`${f.taskId}|${f.nominal}`, (perInstant.get(`${f.taskId}|${f.nominal}`) ?? 0) + 1);
const doubled = [...perInstant.values()].filter((n) => n > 1).length;
const lateness = inWindow.map((f) => f.lateMs).sort((a, b) => a - b);
const workerLateness = (await (
  await fetch(`${worker.url}/lateness?from=${windowStart}&to=${windowEnd}`)
).json()) as { count: number; p50: number | null; p99: number | null; max: number | null };

const cores = (seconds: number | undefined): number | null =>
  seconds === undefined ? null : Number((seconds / elapsedS).toFixed(2));
const schedulersCpuS = end.schedulers.reduce((sum, e, i) => sum + e - (at.schedulers[i] ?? NaN), 0);
const zkCpuS = cpuSecondsOfKind(stores, 'zookeeper', at.stores, end.stores);
const kafkaCpuS = cpuSecondsOfKind(stores, 'kafka', at.stores, end.stores);
const leaderCpuS =
  leader === undefined
    ? undefined
    : (end.stores[leader.server.name] ?? NaN) - (at.stores[leader.server.name] ?? NaN);
const workerCpuS = at.worker === undefined || end.worker === undefined ? undefined : end.worker - at.worker;
const machineBusy = (end.machine.busy - at.machine.busy) / Math.max(1, end.machine.total - at.machine.total);

let rebalance: Record<string, unknown> | undefined;
if (kill !== undefined) {
  const { victim, victimTasks, killedAt, ownedAgainMs } = kill;
  const firstElsewhere = new Map<string, number>();
  for (const f of fires) {
    if (!victimTasks.has(f.taskId) || f.schedulerId === victim || f.nominal <= killedAt + CLAIM_LEAD_MS)
      continue;
    const firedAt = f.nominal + f.lateMs;
    firstElsewhere.set(f.taskId, Math.min(firstElsewhere.get(f.taskId) ?? Infinity, firedAt));
  }
  const delays = [...firstElsewhere.values()].map((t) => t - killedAt).sort((a, b) => a - b);
  rebalance = {
    victim,
    victimTasks: victimTasks.size,
    sessionTimeoutMs: sessionMs,
    ownedAgainMs,
    firedElsewhere: firstElsewhere.size,
    killToFirstFireMs: {
      p50: percentile(delays, 50),
      p99: percentile(delays, 99),
      max: delays.at(-1) ?? NaN,
    },
  };
}

const result = {
  tasks: taskCount,
  schedulers: schedulerCount,
  periodS,
  seconds,
  setup: { putTasksMs: putMs, allOwnedMs: acquiredMs },
  expectedFires: expected,
  observedFires: inWindow.length,
  doubled,
  firesPerSecond: Math.round(inWindow.length / seconds),
  firesPerSecondPerScheduler: schedulers.map((s) =>
    Math.round(inWindow.filter((f) => f.schedulerId === s.id).length / seconds),
  ),
  latenessMs: { p50: percentile(lateness, 50), p99: percentile(lateness, 99), max: lateness.at(-1) ?? NaN },
  workerLatenessMs: workerLateness,
  fenceConflicts: scrapes.reduce((sum, text) => sum + metricSum(text, 'nono_fence_conflicts_total'), 0),
  eventLoopDelayP99Ms: scrapes.map((text) =>
    Math.round(metricValue(text, 'nodejs_eventloop_lag_p99_seconds') * 1000),
  ),
  zooKeeper: {
    leader: leader?.server.name ?? null,
    // Transactions the leader applied over the window (an election in it voids the figure).
    writesPerSecond:
      leader !== undefined && leaderAfter !== undefined && leaderAfter.state.epoch === leader.state.epoch
        ? Math.round((leaderAfter.state.counter - leader.state.counter) / elapsedS)
        : null,
    leaderCores: cores(leaderCpuS),
    allServersCores: cores(zkCpuS),
  },
  kafkaCores: cores(kafkaCpuS),
  schedulersCores: cores(schedulersCpuS),
  workerCores: cores(workerCpuS),
  machine: {
    cores: cpus().length,
    busyCores: Number((machineBusy * cpus().length).toFixed(2)),
  },
  cpuMsPerFire: {
    schedulers: Number(((schedulersCpuS * 1000) / inWindow.length).toFixed(3)),
    zooKeeper: zkCpuS === undefined ? null : Number(((zkCpuS * 1000) / inWindow.length).toFixed(3)),
    kafka: kafkaCpuS === undefined ? null : Number(((kafkaCpuS * 1000) / inWindow.length).toFixed(3)),
    worker: workerCpuS === undefined ? null : Number(((workerCpuS * 1000) / inWindow.length).toFixed(3)),
  },
  rebalance,
  loadAverage: {
    before: loadBefore.map((l) => Number(l.toFixed(2))),
    afterWindow: loadAfterWindow.map((l) => Number(l.toFixed(2))),
  },
};
process.stdout.write(`${JSON.stringify(result)}\n`);

await worker.process.kill();
zk.close();
await dropIsolation(iso);
process.exit(0);
