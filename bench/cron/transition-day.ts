/**
 * CPU per planned fire through a whole DST transition day: per-second cron tasks in
 * Europe/Paris, planned the way a scheduler plans them (`planDueFires` with a 300 ms claim
 * lead, once per task per second of a manual clock) through the 24 h of 2026-03-29 and of
 * 2026-10-25 (local days). Goal: ≤ 20 µs per planned fire.
 *
 *   node --import tsx --conditions source bench/cron/transition-day.ts --tasks 20
 *
 * Only the domain's share of a fire is measured (next instants, misfire decision); the
 * scheduler's own work per fire (fence, timers, HTTP, events) is in bench/scheduler.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { type SchedulerTask, planDueFires } from '@nono/domain';
import { PARIS_TRANSITION_DAYS, cronTask } from './transition-days.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20' },
    expression: { type: 'string', default: '* * * * * *' },
    zone: { type: 'string', default: 'Europe/Paris' },
  },
});
const taskCount = Number(values.tasks);

const DAYS = PARIS_TRANSITION_DAYS;
const task = (id: string, now: number): SchedulerTask => cronTask(id, values.expression, values.zone, now);

console.log(
  `# load before ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const [name, dayStart, dayEnd] of DAYS) {
  const tasks = Array.from({ length: taskCount }, (_, i) => task(`t${i}`, dayStart));
  const lastNominal = tasks.map(() => dayStart - 1000);
  let planned = 0;
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  for (let now = dayStart; now < dayEnd; now += 1000) {
    for (let i = 0; i < tasks.length; i++) {
      const plan = planDueFires(tasks[i] as SchedulerTask, lastNominal[i] ?? dayStart, now, {
        misfireThresholdMs: 5000,
        runsLeft: Number.POSITIVE_INFINITY,
        until: now + 300,
      });
      planned += plan.fire.length;
      if (plan.advanceTo !== undefined) lastNominal[i] = plan.advanceTo;
    }
  }
  const cpu = process.cpuUsage(cpuBefore);
  const cpuUs = cpu.user + cpu.system;
  console.log(
    `${name}: ${taskCount} tasks "${values.expression}" in ${values.zone}, ${(dayEnd - dayStart) / 3_600_000} h, ${planned} planned fires, ${(cpuUs / planned).toFixed(2)} CPU-µs per planned fire (wall ${((performance.now() - wallBefore) / 1000).toFixed(1)} s)`,
  );
}
console.log(
  `# load after ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
