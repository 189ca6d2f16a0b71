/**
 * Failover time after SIGKILL: three schedulers share 300 tasks that fire every second;
 * one is killed; for each of its tasks we measure the time from the kill to the first call
 * the worker receives from a survivor. The bound is the ZooKeeper session timeout (the
 * dead member's node must expire) plus the rebalance and the next instant.
 *
 *   npm run infra:up && npm run build
 *   npx tsx bench/scheduler/failover.ts --session-ms 4000 --rounds 3
 */
import { parseArgs } from 'node:util';
import {
  buildTask,
  connectZk,
  putTask,
  readAssignmentOwners,
  startScheduler,
  type SchedulerProcess,
} from '../../tests/support/cluster.js';
import { createIsolatedTopics, dropIsolation, eventually, isolateOn } from '../../tests/support/isolation.js';
import { startTestWorker } from '../../tests/support/processes.js';

// Ctrl-C exits through 'exit', where tests/support/processes.ts kills the workers and schedulers.
process.on('SIGINT', () => process.exit(130));

const { values } = parseArgs({
  options: {
    'session-ms': { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '3' },
    tasks: { type: 'string', default: '300' },
  },
});
const sessionMs = Number(values['session-ms']);
const rounds = Number(values.rounds);
const tasks = Number(values.tasks);

/** The scheduler's default `NONO_CLAIM_LEAD_MS`. */
const CLAIM_LEAD_MS = 300;
const results: Array<{ round: number; victimTasks: number; p50Ms: number; maxMs: number; doubled: number }> =
  [];
for (let round = 1; round <= rounds; round++) {
  const iso = await isolateOn(
    `bench-failover-${round}`,
    process.env.NONO_ZK_CONNECT ?? '127.0.0.1:2181',
    process.env.NONO_KAFKA_BROKERS ?? '127.0.0.1:9092',
  );
  await createIsolatedTopics(iso, 6);
  const zk = await connectZk(iso);
  const worker = await startTestWorker();
  const schedulers: SchedulerProcess[] = [];
  for (const id of ['a', 'b', 'c'])
    schedulers.push(
      await startScheduler(iso, id, {
        NONO_ZK_SESSION_TIMEOUT_MS: String(sessionMs),
        NONO_LOG_LEVEL: 'warn',
      }),
    );
  const ids = Array.from({ length: tasks }, (_, i) => `t${String(i).padStart(4, '0')}`);
  await Promise.all(
    ids.map((id) =>
      putTask(
        zk,
        buildTask(id, {
          schedule: { kind: 'interval', everyMs: 1000 },
          target: { url: `${worker.url}/ok/${id}` },
        }),
      ),
    ),
  );
  await eventually(
    async () => (new Set((await worker.calls()).map((c) => c.taskId)).size === tasks ? true : undefined),
    60_000,
    'all tasks firing',
  );
  await new Promise((resolve) => setTimeout(resolve, 3_000));

  const victim = schedulers[round % 3] as SchedulerProcess;
  const victimTasks = new Set((await readAssignmentOwners(zk))[victim.id] ?? []);
  const killedAt = Date.now();
  await victim.kill('SIGKILL');
  const firstAfter = await eventually(
    async () => {
      const first = new Map<string, number>();
      for (const call of await worker.calls()) {
        // Only instants the victim cannot have claimed (it claims NONO_CLAIM_LEAD_MS ahead): its
        // last batch, sent just before the kill, may reach the worker after it.
        if (!victimTasks.has(call.taskId) || Date.parse(call.nominal) <= killedAt + CLAIM_LEAD_MS) continue;
        first.set(call.taskId, Math.min(first.get(call.taskId) ?? Infinity, call.receivedAt));
      }
      return first.size === victimTasks.size ? first : undefined;
    },
    sessionMs + 30_000,
    'every task of the victim to fire again',
  );
  const delays = [...firstAfter.values()].map((at) => at - killedAt).sort((a, b) => a - b);
  const seen = new Map<string, number>();
  for (const call of await worker.calls())
    seen.set(`${call.taskId}|${call.nominal}`, (seen.get(`${call.taskId}|${call.nominal}`) ?? 0) + 1);
  results.push({
    round,
    victimTasks: victimTasks.size,
    p50Ms: delays[Math.floor(delays.length / 2)] ?? NaN,
    maxMs: delays.at(-1) ?? NaN,
    doubled: [...seen.values()].filter((n) => n > 1).length,
  });
  process.stderr.write(`round ${round}: ${JSON.stringify(results.at(-1))}\n`);
  await Promise.all(schedulers.map((s) => s.kill('SIGTERM')));
  await worker.process.kill();
  zk.close();
  await dropIsolation(iso);
}
process.stdout.write(`${JSON.stringify({ sessionTimeoutMs: sessionMs, tasks, results })}\n`);
process.exit(0);
