/**
 * What a crash costs in re-runs: three schedulers share per-second tasks that ask for
 * `rerunLost`; one is SIGKILLed; the survivors report its open executions lost and re-run
 * them. A re-run is needed only for an execution that had not succeeded: this counts the
 * `lost` facts whose execution already had a `succeeded` fact (a needless second call), and
 * the instants of the victim's tasks in the 3 s before the kill left with no outcome at all.
 *
 *   npm run infra:up && npm run build
 *   npx tsx bench/scheduler/lost-after-kill.ts --tasks 150 --rounds 3
 */
import { parseArgs } from 'node:util';
import { type NonoEvent } from '@nono/domain';
import {
  buildTask,
  collectEvents,
  connectZk,
  putTask,
  readAssignmentOwners,
  startScheduler,
  type SchedulerProcess,
} from '../../tests/support/cluster.js';
import { createIsolatedTopics, dropIsolation, isolateOn } from '../../tests/support/isolation.js';
import { startTestWorker } from '../../tests/support/processes.js';

process.on('SIGINT', () => process.exit(130));

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '150' },
    rounds: { type: 'string', default: '3' },
    'session-ms': { type: 'string', default: '4000' },
  },
});
const tasks = Number(values.tasks);
const rounds = Number(values.rounds);
const sessionMs = Number(values['session-ms']);

for (let round = 1; round <= rounds; round++) {
  const iso = await isolateOn(
    `bench-lost-${round}`,
    process.env.NONO_ZK_CONNECT ?? '127.0.0.1:2181',
    process.env.NONO_KAFKA_BROKERS ?? '127.0.0.1:9092',
  );
  await createIsolatedTopics(iso, 6);
  const zk = await connectZk(iso);
  const worker = await startTestWorker({ record: false });
  const env = {
    NONO_ZK_SESSION_TIMEOUT_MS: String(sessionMs),
    NONO_LOST_GRACE_MS: '500',
    NONO_LOG_LEVEL: 'warn',
  };
  const schedulers: SchedulerProcess[] = [];
  for (const id of ['k1', 'k2', 'k3']) schedulers.push(await startScheduler(iso, id, env));
  const log = await collectEvents(iso, iso.topics.executions);
  for (let i = 0; i < tasks; i++)
    await putTask(
      zk,
      buildTask(`t${String(i).padStart(4, '0')}`, {
        schedule: { kind: 'interval', everyMs: 1000 },
        target: { url: `${worker.url}/ok/t${i}`, timeoutMs: 1_000 },
        retry: { maxAttempts: 1 },
        rerunLost: true,
      }),
    );
  await new Promise((resolve) => setTimeout(resolve, 8_000));
  const owners = await readAssignmentOwners(zk);
  const victim = schedulers[round % 3] as SchedulerProcess;
  const victimTasks = owners[victim.id]?.length ?? 0;
  // A random phase within the second: the cost depends on where the kill falls.
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 1000)));
  if (process.env.DEBUG_LOST) {
    const { fireStateDocument, openExecutionsRecordDocument } = await import('@nono/coordination');
    const { layout } = await import('../../tests/support/cluster.js');
    const records = new Map<string, unknown>();
    for (const id of ['k1', 'k2', 'k3']) {
      const parsed = openExecutionsRecordDocument.parse((await zk.get(layout.openExecutionsOf(id))).data);
      records.set(id, parsed.ok ? parsed.value : parsed.issues);
    }
    process.stdout.write(`records ${JSON.stringify([...records])}\n`);
    for (const taskId of (owners[victim.id] ?? []).slice(0, 3)) {
      const parsed = fireStateDocument.parse((await zk.get(layout.fireState(taskId))).data);
      process.stdout.write(
        `${taskId} ${JSON.stringify(parsed.ok ? parsed.value.inflight : parsed.issues)}\n`,
      );
    }
  }
  const killedAt = Date.now();
  await victim.kill('SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, sessionMs + 8_000));

  const ofType = (type: string): NonoEvent[] => log.events.filter((e) => e.type === type);
  // Succeeded before it was reported lost: on a first attempt (a re-run is attempt 2).
  const succeeded = new Set(
    ofType('nono.execution.succeeded.v1')
      .map((e) => e.data as { executionId: string; attempt: number })
      .filter((d) => d.attempt === 1)
      .map((d) => d.executionId),
  );
  const lost = ofType('nono.execution.lost.v1').map((e) => (e.data as { executionId: string }).executionId);
  const needless = lost.filter((id) => succeeded.has(id)).length;
  // Every instant of the victim's tasks in the 3 s before the kill (claimed for sure) ends in an
  // outcome (or lost, misfired, skipped): a settling that wrongly found an outcome would leave
  // one with none.
  const outcomes = ['succeeded', 'failed', 'timed-out', 'lost', 'misfired', 'skipped'];
  const ended = new Set(
    outcomes
      .flatMap((outcome) => ofType(`nono.execution.${outcome}.v1`))
      .map((e) => {
        const data = e.data as { taskId: string; nominalTime: string };
        return `${data.taskId}@${Date.parse(data.nominalTime)}`;
      }),
  );
  let unaccounted = 0;
  for (const taskId of owners[victim.id] ?? [])
    for (let nominal = Math.ceil((killedAt - 3_000) / 1000) * 1000; nominal < killedAt - 400; nominal += 1000)
      if (!ended.has(`${taskId}@${nominal}`)) {
        unaccounted++;
        if (process.env.DEBUG_LOST) {
          const facts = log.events
            .filter(
              (e) =>
                e.subject === taskId &&
                Math.abs(Date.parse((e.data as { nominalTime: string }).nominalTime) - nominal) <= 2_000,
            )
            .map(
              (e) =>
                `${e.type.slice(15)} ${(e.data as { nominalTime: string }).nominalTime} by ${(e.data as { schedulerId: string }).schedulerId}`,
            );
          process.stdout.write(
            `unaccounted ${taskId}@${new Date(nominal).toISOString()} kill ${new Date(killedAt).toISOString()}: ${facts.join('; ')}\n`,
          );
        }
      }
  process.stdout.write(
    `${JSON.stringify({ round, victimTasks, lost: lost.length, lostAfterSuccess: needless, unaccounted })}\n`,
  );
  if (process.env.DEBUG_LOST) {
    const byId = new Map<string, number>();
    for (const id of lost) byId.set(id, (byId.get(id) ?? 0) + 1);
    const lostData = ofType('nono.execution.lost.v1').map(
      (e) => e.data as { taskId: string; nominalTime: string; lostSchedulerId: string; schedulerId: string },
    );
    process.stdout.write(
      `distinct lost ids ${byId.size}, tasks ${new Set(lostData.map((d) => d.taskId)).size}, nominals ${JSON.stringify([...new Set(lostData.map((d) => d.nominalTime))])}, lostSchedulers ${JSON.stringify([...new Set(lostData.map((d) => d.lostSchedulerId))])} by ${JSON.stringify([...new Set(lostData.map((d) => d.schedulerId))])}\n`,
    );
    process.stdout.write(`kill at ${new Date(killedAt).toISOString()}\n`);
  }
  await log.stop();
  for (const scheduler of schedulers) await scheduler.kill('SIGTERM');
  await worker.process.kill();
  zk.close();
  await dropIsolation(iso);
}
process.exit(0);
