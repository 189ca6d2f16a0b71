/**
 * CPU per planned fire of the scheduler's engine through a DST transition day: per-second cron
 * tasks in Europe/Paris, the real `Engine` (claims ahead, fence writes, the runner, events, the
 * open-executions record) driven by a manual clock through 2026-03-29 and 2026-10-25 (local
 * days, 23 h and 25 h), with its ports in memory (services/scheduler/src/testing/memory-ports.ts)
 * and a worker that answers at once. Goal: ≤ 20 µs per planned fire.
 *
 *   node --import tsx --conditions source bench/cron/engine-transition-day.ts --tasks 20
 *   node --import tsx --conditions source bench/cron/engine-transition-day.ts --tasks 1000 --hours 2
 *   npx turbo run build && node --import tsx bench/cron/engine-transition-day.ts --built --tasks 1000 --hours 0.25
 *
 * `--hours H` drives the H hours centred on the transition instead of the whole day (a whole day
 * of 1,000 per-second tasks is 86 million fires). The harness's own cost (advancing the clock
 * in 100 ms steps and letting promise chains run) is measured with no task and subtracted.
 * What ZooKeeper, Kafka and HTTP cost per fire is in bench/scheduler/fire-lateness.ts.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ManualClock, type SchedulerTask } from '@nono/domain';
import { createLogger } from '@nono/runtime';
import { Registry } from 'prom-client';
import type * as EngineModule from '../../services/scheduler/src/engine/engine.js';
import type * as OpenExecutionsModule from '../../services/scheduler/src/lost/open-executions.js';
import type * as MetricsModule from '../../services/scheduler/src/metrics.js';
import {
  type CancelNotice,
  type InvocationOutcome,
  type InvocationRequest,
  type Invoker,
} from '../../services/scheduler/src/runner/invoker.js';
import type * as MemoryPortsModule from '../../services/scheduler/src/testing/memory-ports.js';
import { PARIS_TRANSITION_DAYS, cronTask } from './transition-days.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20' },
    hours: { type: 'string' },
    expression: { type: 'string', default: '* * * * * *' },
    zone: { type: 'string', default: 'Europe/Paris' },
    built: { type: 'boolean', default: false },
  },
});
const taskCount = Number(values.tasks);

// `--built` measures the compiled services/scheduler/dist (run `npx turbo run build` first), as
// a scheduler runs in production; without it, the sources through tsx, whose transform adds
// work of its own (a name helper around every function expression) to the hot path.
const root = values.built === true ? '../../services/scheduler/dist' : '../../services/scheduler/src';
const { Engine } = (await import(`${root}/engine/engine.js`)) as typeof EngineModule;
const { OpenExecutions } = (await import(`${root}/lost/open-executions.js`)) as typeof OpenExecutionsModule;
const { createSchedulerMetrics } = (await import(`${root}/metrics.js`)) as typeof MetricsModule;
const { MemoryFence, MemoryRecords, MemoryTriggers } = (await import(
  `${root}/testing/memory-ports.js`
)) as typeof MemoryPortsModule;
const STEP_MS = 100;

const DAYS = PARIS_TRANSITION_DAYS;

/** A worker that answers 200 at once and only counts. */
class CountingInvoker implements Invoker {
  calls = 0;
  invoke(_request: InvocationRequest): Promise<InvocationOutcome> {
    this.calls++;
    return Promise.resolve({ kind: 'succeeded', httpStatus: 200, durationMs: 0 });
  }
  notifyCancel(notice: CancelNotice): Promise<{ url: string; durationMs: number }> {
    return Promise.resolve({ url: notice.cancelUrl, durationMs: 0 });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const task = (id: string, now: number): SchedulerTask => cronTask(id, values.expression, values.zone, now);

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Drives an engine owning `count` tasks from `start` to `end`; returns CPU µs and fires. */
async function drive(count: number, start: number, end: number): Promise<{ cpuUs: number; fires: number }> {
  const clock = new ManualClock(start - 2_000);
  const log = createLogger('engine-bench', 'silent');
  const invoker = new CountingInvoker();
  let events = 0;
  const engine = new Engine({
    schedulerId: 'bench',
    clock,
    fence: new MemoryFence({ keepClaims: false }),
    invoker,
    events: { append: (batch) => void (events += batch.length), written: () => Promise.resolve(true) },
    openExecutions: new OpenExecutions({
      schedulerId: 'bench',
      store: new MemoryRecords(),
      clock,
      log,
      flushIntervalMs: 200,
      eventsDurable: () => Promise.resolve(),
    }),
    log,
    metrics: createSchedulerMetrics(new Registry()),
    misfireThresholdMs: 5_000,
    claimLeadMs: 300,
    finishFlushDelayMs: 60_000,
    lostGraceMs: 2_000,
    triggers: new MemoryTriggers(),
    liveIncarnation: () => Promise.resolve(undefined),
  });
  engine.setActive(true);
  const tasks = Array.from({ length: count }, (_, i) => task(`t${i}`, start - 2_000));
  engine.setOwned(new Set(tasks.map((t) => t.id)));
  for (const t of tasks) engine.updateTask(t.id, t);
  await settle();
  clock.advanceTo(start);
  await settle();
  const firesAtStart = invoker.calls;
  const cpuStart = process.cpuUsage();
  for (let at = start + STEP_MS; at <= end; at += STEP_MS) {
    clock.advanceTo(at);
    await settle();
  }
  const cpu = process.cpuUsage(cpuStart);
  if (events === 0 && count > 0) throw new Error('the engine published nothing');
  return { cpuUs: cpu.user + cpu.system, fires: invoker.calls - firesAtStart };
}

console.log(
  `# ${taskCount} tasks '${values.expression}' in ${values.zone}; load before ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const [name, dayStart, dayEnd, transition] of DAYS) {
  const halfWindow = values.hours === undefined ? undefined : (Number(values.hours) * 3_600_000) / 2;
  const start = halfWindow === undefined ? dayStart : transition - halfWindow;
  const end = halfWindow === undefined ? dayEnd : transition + halfWindow;
  const harness = await drive(0, start, end);
  const run = await drive(taskCount, start, end);
  const expected = (taskCount * (end - start)) / 1000;
  console.log(
    JSON.stringify({
      day: name,
      window: `${new Date(start).toISOString()} – ${new Date(end).toISOString()}`,
      tasks: taskCount,
      fires: run.fires,
      expected,
      usPerPlannedFire: Number(((run.cpuUs - harness.cpuUs) / run.fires).toFixed(2)),
      harnessUs: harness.cpuUs,
    }),
  );
}
console.log(
  `# load after ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
