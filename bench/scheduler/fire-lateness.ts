/**
 * Fire lateness and throughput of real scheduler processes against a local worker.
 *
 *   npm run infra:up && npm run build
 *   npx tsx bench/scheduler/fire-lateness.ts --tasks 1000 --every-ms 1000 --seconds 30 --schedulers 1
 *   npx tsx bench/scheduler/fire-lateness.ts --schedule cron --cron '* * * * * *' --zone Europe/Paris --tasks 2000
 *
 * `--schedule interval` (default) gives every task `{ kind: 'interval', everyMs }`; `--schedule cron`
 * gives every task the cron `--cron` (default: every `--every-ms / 1000` seconds) in `--zone`.
 * Worker lateness is arrival at the worker minus nominal instant, measured by the worker itself
 * for the first attempts of the window's instants: what a user sees, queueing and HTTP included.
 * Lateness is the product's own measure: `lateMs` of each first-attempt `execution.fired`
 * event (fired instant minus nominal instant), read back from Kafka. Fires per second
 * counts those events per scheduler over the measured window (the first 5 s are warm-up).
 * CPU per fire is each scheduler's (its /metrics) and, when the stores are infra/'s own
 * (`--infra-dir`), ZooKeeper's and Kafka's too (/proc), summed in `allInCpuMsPerFire`.
 * `--group-members N` targets every task at a worker group of N worker processes instead of one
 * URL (`--route`, default round-robin): the routing's cost against a plain URL target.
 * `--member-processes 1` makes those N members N ports of one worker process, so that the
 * comparison is not also one of N processes against one on a small machine.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { workerGroupDocument } from '@nono/coordination';
import {
  type NonoEvent,
  type Schedule,
  createWorkerGroup,
  nextFireTimes,
  parseSchedule,
  parseWorkerGroupSpec,
} from '@nono/domain';
import {
  buildTask,
  collectEvents,
  connectZk,
  layout,
  putTask,
  startScheduler,
  type SchedulerProcess,
} from '../../tests/support/cluster.js';
import { createIsolatedTopics, dropIsolation, isolateOn } from '../../tests/support/isolation.js';
import { startTestWorker } from '../../tests/support/processes.js';
import { cpuSecondsOfKind, metricValue, storeCpuSeconds, storeServers } from '../support/stores.js';

// Ctrl-C exits through 'exit', where tests/support/processes.ts kills the workers and schedulers.
process.on('SIGINT', () => process.exit(130));

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000' },
    'every-ms': { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '30' },
    schedulers: { type: 'string', default: '1' },
    // aligned: every task fires at the same instant (the worst burst); spread: phases evenly offset.
    phase: { type: 'string', default: 'aligned' },
    // Steady state only: thousands of tasks take a while to be acquired (watch, read, fence).
    'warmup-s': { type: 'string' },
    // Prints lateness p50/p99/max for each second of the window (to tell a steady backlog from stalls).
    timeline: { type: 'boolean', default: false },
    // Extra scheduler settings, e.g. --scheduler-env NONO_FINISH_FLUSH_DELAY_MS=10000
    'scheduler-env': { type: 'string', multiple: true, default: [] },
    schedule: { type: 'string', default: 'interval' },
    cron: { type: 'string' },
    zone: { type: 'string', default: 'UTC' },
    // Where infra/ keeps its pid files (NONO_INFRA_DIR): the stores' CPU joins the scheduler's.
    'infra-dir': { type: 'string', default: process.env.NONO_INFRA_DIR ?? 'infra/.run' },
    // 0: every task calls one worker's URL; N: a worker group of N worker processes.
    'group-members': { type: 'string', default: '0' },
    // 1: the members are N ports of one worker process (the routing's cost without N processes
    // competing for the cores); default: one process per member.
    'member-processes': { type: 'string' },
    route: { type: 'string', default: 'round-robin' },
  },
});
const tasks = Number(values.tasks);
const everyMs = Number(values['every-ms']);
const seconds = Number(values.seconds);
const schedulerCount = Number(values.schedulers);
const spread = values.phase === 'spread';
const cronSchedule = values.schedule === 'cron';
if (values.schedule !== 'interval' && !cronSchedule) throw new Error('--schedule is interval or cron');
if (cronSchedule && spread)
  throw new Error('--phase spread is for intervals: a cron names the same instants for every task');
if (cronSchedule && values.cron === undefined && (everyMs % 1000 !== 0 || everyMs >= 60_000)) {
  throw new Error(
    'give --cron for a cron schedule whose spacing is not a whole number of seconds under a minute',
  );
}
const cron = values.cron ?? (everyMs === 1000 ? '* * * * * *' : `*/${everyMs / 1000} * * * * *`);
const scheduleOf = (id: string): Record<string, unknown> =>
  cronSchedule
    ? { kind: 'cron', expression: cron, timeZone: values.zone }
    : {
        kind: 'interval',
        everyMs,
        ...(spread
          ? { anchorAt: new Date(Math.floor((Number(id.slice(1)) * everyMs) / tasks)).toISOString() }
          : {}),
      };
const WARM_UP_MS =
  values['warmup-s'] === undefined ? Math.max(5_000, 2 * everyMs) : Number(values['warmup-s']) * 1000;

const iso = await isolateOn(
  'bench-lateness',
  process.env.NONO_ZK_CONNECT ?? '127.0.0.1:2181',
  process.env.NONO_KAFKA_BROKERS ?? '127.0.0.1:9092',
);
await createIsolatedTopics(iso, 6);
const zk = await connectZk(iso);
const groupMembers = Number(values['group-members']);
const worker = await startTestWorker({ record: false });
const memberProcesses = Number(values['member-processes'] ?? groupMembers);
if (groupMembers > 0 && memberProcesses !== 1 && memberProcesses !== groupMembers)
  throw new Error('--member-processes is 1 or the number of members');
const memberWorkers =
  memberProcesses === 1 && groupMembers > 0
    ? [await startTestWorker({ record: false, extraPorts: groupMembers - 1 })]
    : await Promise.all(Array.from({ length: groupMembers }, () => startTestWorker({ record: false })));
const memberUrls = memberWorkers.flatMap((w) => w.urls);
const schedulers: SchedulerProcess[] = [];
for (let i = 0; i < schedulerCount; i++)
  schedulers.push(
    await startScheduler(
      iso,
      `bench${i}`,
      {
        NONO_LOG_LEVEL: 'warn',
        ...Object.fromEntries(values['scheduler-env'].map((pair) => pair.split('=', 2) as [string, string])),
      },
      process.env.BENCH_NODE_ARGS?.split(' ') ?? [],
    ),
  );

const createdAt = Date.now();
const GROUP = 'bench-group';
if (groupMembers > 0) {
  const spec = parseWorkerGroupSpec({ members: memberUrls.map((url) => ({ url })) });
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  await zk.create(
    layout.workerGroup(GROUP),
    workerGroupDocument.encode(createWorkerGroup(GROUP, spec.value, createdAt)),
  );
}
const targetOf = (id: string): Record<string, unknown> =>
  groupMembers > 0
    ? { group: GROUP, route: values.route, path: `/ok/${id}` }
    : { url: `${worker.url}/ok/${id}` };
const ids = Array.from({ length: tasks }, (_, i) => `b${String(i).padStart(5, '0')}`);
for (let i = 0; i < ids.length; i += 200) {
  await Promise.all(
    ids.slice(i, i + 200).map((id) =>
      putTask(
        zk,
        buildTask(
          id,
          {
            schedule: scheduleOf(id),
            target: targetOf(id),
          },
          createdAt,
        ),
      ),
    ),
  );
}
const setupDoneAt = Date.now();
const windowStart = setupDoneAt + WARM_UP_MS;
const windowEnd = windowStart + seconds * 1000;
process.stderr.write(
  `bench: ${tasks} tasks (${cronSchedule ? `cron "${cron}" in ${values.zone}` : `${spread ? 'spread' : 'aligned'} every ${everyMs} ms`}) on ${schedulerCount} scheduler(s); measuring ${seconds} s after ${WARM_UP_MS / 1000} s warm-up\n`,
);
// CPU seconds of each scheduler over the window: divided by its fires, the cost of one fire.
const cpuSeconds = async (): Promise<number[]> =>
  Promise.all(
    schedulers.map(async (s) =>
      metricValue(await (await fetch(`${s.opsUrl}/metrics`)).text(), 'process_cpu_seconds_total'),
    ),
  );
// ZooKeeper's and Kafka's processes when the stores are infra/'s own (all three of each on the HA infra).
const stores = storeServers(values['infra-dir']);
const STORES = ['zookeeper', 'kafka'] as const;
await new Promise((resolve) => setTimeout(resolve, windowStart - Date.now()));
const cpuAtStart = await cpuSeconds();
const storesAtStart = storeCpuSeconds(stores);
await new Promise((resolve) => setTimeout(resolve, windowEnd - Date.now()));
const cpuAtEnd = await cpuSeconds();
const storesAtEnd = storeCpuSeconds(stores);
await new Promise((resolve) => setTimeout(resolve, 2_000));

const log = await collectEvents(iso, iso.topics.executions);
const parsedCron = cronSchedule ? parseSchedule(scheduleOf('b00000')) : undefined;
if (parsedCron !== undefined && !parsedCron.ok) throw new Error(JSON.stringify(parsedCron.issues));
const cronInstants = (schedule: Schedule): number =>
  nextFireTimes(schedule, windowStart - 1, 1_000_000).filter((t) => t < windowEnd).length;
const expectedFires =
  parsedCron?.ok === true
    ? cronInstants(parsedCron.value) * tasks
    : Math.floor(((windowEnd - windowStart) / everyMs) * tasks);
const deadline = Date.now() + 60_000;
const windowed = (): NonoEvent[] =>
  log.events.filter((e) => {
    if (e.type !== 'nono.execution.fired.v1') return false;
    const nominal = Date.parse(e.data.nominalTime);
    return nominal >= windowStart && nominal < windowEnd && e.data.attempt === 1;
  });
while (windowed().length < expectedFires * 0.999 && Date.now() < deadline)
  await new Promise((resolve) => setTimeout(resolve, 500));
const fired = windowed();
// Instants of the window that were not fired, by why: the overlap or misfire policy decided.
const notFired: Record<string, number> = {};
for (const e of log.events) {
  if (e.type !== 'nono.execution.skipped.v1' && e.type !== 'nono.execution.misfired.v1') continue;
  const nominal = Date.parse(e.data.nominalTime);
  if (nominal < windowStart || nominal >= windowEnd) continue;
  const why =
    e.type === 'nono.execution.skipped.v1' ? `skipped:${e.data.skipReason}` : `misfired:${e.data.action}`;
  notFired[why] = (notFired[why] ?? 0) + 1;
}
await log.stop();

const lateness = fired
  .map((e) => (e.type === 'nono.execution.fired.v1' ? e.data.lateMs : 0))
  .sort((a, b) => a - b);
const pct = (p: number): number =>
  lateness[Math.min(lateness.length - 1, Math.floor((p / 100) * lateness.length))] ?? NaN;
const perScheduler = new Map<string, number>();
for (const e of fired)
  if (e.type === 'nono.execution.fired.v1')
    perScheduler.set(e.data.schedulerId, (perScheduler.get(e.data.schedulerId) ?? 0) + 1);
const scrapes = await Promise.all(schedulers.map(async (s) => (await fetch(`${s.opsUrl}/metrics`)).text()));
const conflicts = scrapes
  .map((text) => Number(/^nono_fence_conflicts_total\S* (\d+)/m.exec(text)?.[1] ?? 0))
  .reduce((a, b) => a + b, 0);

if (values.timeline) {
  const bySecond = new Map<number, number[]>();
  for (const e of fired) {
    if (e.type !== 'nono.execution.fired.v1') continue;
    const second = Math.floor((Date.parse(e.data.nominalTime) - windowStart) / 1000);
    bySecond.set(second, [...(bySecond.get(second) ?? []), e.data.lateMs]);
  }
  for (const [second, lates] of [...bySecond].sort((a, b) => a[0] - b[0])) {
    lates.sort((a, b) => a - b);
    const at = (p: number): number => lates[Math.min(lates.length - 1, Math.floor(p * lates.length))] ?? NaN;
    process.stderr.write(
      `t+${String(second).padStart(3)}s fires ${String(lates.length).padStart(5)} p50 ${at(0.5)} p99 ${at(0.99)} max ${lates.at(-1)}\n`,
    );
  }
}

// Arrivals at every worker called, merged before taking percentiles.
const arrivals = (
  await Promise.all(
    (groupMembers > 0 ? memberWorkers : [worker]).map(
      async (w) =>
        (await (
          await fetch(`${w.url}/lateness?from=${windowStart}&to=${windowEnd}&raw=1`)
        ).json()) as number[],
    ),
  )
)
  .flat()
  .sort((a, b) => a - b);
const arrivalAt = (p: number): number | null =>
  arrivals[Math.min(arrivals.length - 1, Math.floor(p * arrivals.length))] ?? null;
const workerLateness = {
  count: arrivals.length,
  p50: arrivalAt(0.5),
  p99: arrivalAt(0.99),
  max: arrivals.at(-1) ?? null,
};

const result = {
  tasks,
  schedule: cronSchedule ? { cron, zone: values.zone } : { everyMs },
  schedulers: schedulerCount,
  target:
    groupMembers > 0 ? { group: groupMembers, processes: memberWorkers.length, route: values.route } : 'url',
  phase: spread ? 'spread' : 'aligned',
  seconds,
  expectedFires,
  observedFires: fired.length,
  notFired,
  firesPerSecondTotal: Math.round(fired.length / seconds),
  firesPerSecondPerScheduler: [...perScheduler.values()].map((n) => Math.round(n / seconds)),
  latenessMs: { p50: pct(50), p90: pct(90), p99: pct(99), p999: pct(99.9), max: lateness.at(-1) ?? NaN },
  workerLatenessMs: workerLateness,
  fenceConflicts: conflicts,
  // Whole-run process figures from each scheduler's /metrics (prom-client's default metrics).
  eventLoopDelayMs: scrapes.map((text) => ({
    p99: Math.round(metricValue(text, 'nodejs_eventloop_lag_p99_seconds') * 1000),
    max: Math.round(metricValue(text, 'nodejs_eventloop_lag_max_seconds') * 1000),
  })),
  cpuMsPerFire: [...perScheduler.entries()].map(([id, n]) => {
    const index = schedulers.findIndex((s) => s.id === id);
    return Number(((((cpuAtEnd[index] ?? NaN) - (cpuAtStart[index] ?? NaN)) * 1000) / n).toFixed(3));
  }),
  // ZooKeeper's and Kafka's CPU over the window per fire (all fires of the window), and the
  // all-in figure: every scheduler and both stores, per fire. The worker is the user's, not counted.
  storeCpuMsPerFire: Object.fromEntries(
    STORES.map((kind) => {
      const cpu = cpuSecondsOfKind(stores, kind, storesAtStart, storesAtEnd);
      return [kind, cpu === undefined ? null : Number(((cpu * 1000) / fired.length).toFixed(3))];
    }),
  ),
  allInCpuMsPerFire: (() => {
    const schedulersCpu = cpuAtEnd.reduce((sum, end, i) => sum + end - (cpuAtStart[i] ?? NaN), 0);
    const storesCpu = STORES.map((kind) => cpuSecondsOfKind(stores, kind, storesAtStart, storesAtEnd) ?? NaN);
    const total = schedulersCpu + storesCpu.reduce((sum, cpu) => sum + cpu, 0);
    return Number.isFinite(total) ? Number(((total * 1000) / fired.length).toFixed(3)) : null;
  })(),
  loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
};
process.stdout.write(`${JSON.stringify(result)}\n`);

await Promise.all(schedulers.map((s) => s.kill('SIGTERM')));
await Promise.all([worker, ...memberWorkers].map((w) => w.process.kill()));
zk.close();
await dropIsolation(iso);
process.exit(0);
