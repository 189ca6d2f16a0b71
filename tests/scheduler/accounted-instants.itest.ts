import { type ZkClient } from '@nono/coordination';
import { type NonoEvent } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SchedulerProcess,
  type TestCluster,
  buildTask,
  collectEvents,
  layout,
  putTask,
  readAssignmentOwners,
  startScheduler,
  startTestCluster,
} from '../support/cluster.js';
import { eventually, isolate } from '../support/fixtures.js';
import { type TestWorker } from '../support/processes.js';

/**
 * Holes found from outside in the scheduler's accounting of instants (issue #12), each pinned
 * on real processes: a trigger that arrives before its task is loaded, a re-created task id,
 * and a retry left pending by a killed scheduler whose id came back.
 */
describe('every due instant accounted for', () => {
  let cluster: TestCluster;
  let zk: ZkClient;
  let worker: TestWorker;
  let schedulers: SchedulerProcess[];
  let log: Awaited<ReturnType<typeof collectEvents>>;

  beforeAll(async () => {
    cluster = await startTestCluster(await isolate('accounted'), {
      schedulers: ['a1', 'a2'],
      env: { NONO_LOST_GRACE_MS: '500' },
    });
    ({ zk, worker, schedulers } = cluster);
    log = await collectEvents(cluster.iso, cluster.iso.topics.executions);
  });
  afterAll(async () => {
    await log?.stop();
    await cluster?.stop();
  });

  const eventsOf = (taskId: string, type?: string): NonoEvent[] =>
    log.events.filter((e) => e.subject === taskId && (type === undefined || e.type === type));
  const dataOf = <T>(event: NonoEvent): T => event.data as T;

  it('manual triggers created right after their tasks fire, at the requested time, without another trigger', async () => {
    const ids = ['early-1', 'early-2', 'early-3', 'early-4', 'early-5'];
    const requested = new Map<string, number>();
    for (const id of ids) {
      await putTask(
        zk,
        buildTask(id, {
          schedule: { kind: 'cron', expression: '0 0 1 1 *' },
          target: { url: `${worker.url}/ok/${id}` },
        }),
      );
      const requestedAt = Date.now();
      requested.set(id, requestedAt);
      await zk.create(
        layout.trigger(id, 'req-1'),
        JSON.stringify({
          requestId: 'req-1',
          actor: 'test',
          requestedAt: new Date(requestedAt).toISOString(),
        }),
      );
    }
    const calls = await eventually(
      async () => {
        const all = (await worker.calls()).filter((c) => ids.includes(c.taskId));
        return all.length === ids.length ? all : undefined;
      },
      10_000,
      'every manual trigger to fire',
    );
    for (const call of calls) {
      // The manual run's nominal time is when it was asked for, not when a scheduler picked it up.
      expect(Date.parse(call.nominal)).toBe(requested.get(call.taskId));
    }
    for (const id of ids)
      await eventually(
        async () => ((await zk.exists(layout.trigger(id, 'req-1'))) === undefined ? true : undefined),
        5_000,
        `the request of ${id} to be consumed`,
      );
  });

  it('a re-created task id starts from its own creation: nothing of the deleted task is adopted', async () => {
    const every = (id: string) =>
      buildTask(id, {
        schedule: { kind: 'interval', everyMs: 1000 },
        target: { url: `${worker.url}/ok/${id}` },
      });
    await putTask(zk, every('reborn'));
    await eventually(
      () => (eventsOf('reborn', 'nono.execution.succeeded.v1').length >= 2 ? true : undefined),
      10_000,
      'the first incarnation to fire',
    );
    await zk.delete(layout.task('reborn'));
    await new Promise((resolve) => setTimeout(resolve, 7_000)); // longer than the misfire threshold (5 s)
    const second = every('reborn');
    const createdAt = Date.parse(second.createdAt);
    const seenBefore = log.events.length;
    await putTask(zk, second);
    await eventually(
      () =>
        log.events
          .slice(seenBefore)
          .filter((e) => e.subject === 'reborn' && e.type === 'nono.execution.succeeded.v1').length >= 2
          ? true
          : undefined,
      10_000,
      'the second incarnation to fire',
    );
    const after = log.events.slice(seenBefore).filter((e) => e.subject === 'reborn');
    expect(after.filter((e) => e.type === 'nono.execution.misfired.v1')).toEqual([]);
    const nominals = after.map((e) => Date.parse(dataOf<{ nominalTime: string }>(e).nominalTime));
    expect(nominals.filter((n) => n < createdAt)).toEqual([]);
  });

  it('a retry left pending by a killed scheduler whose id came back is reported lost by the new owner', async () => {
    const at = Date.now() + 2_000;
    await putTask(
      zk,
      buildTask('aa-flaky-retry', {
        schedule: { kind: 'once', at: new Date(at).toISOString() },
        target: { url: `${worker.url}/fail/aa-flaky-retry`, timeoutMs: 1_000 },
        retry: { maxAttempts: 3, initialBackoffMs: 4_000, maxBackoffMs: 4_000, multiplier: 1 },
      }),
    );
    await eventually(
      () => (eventsOf('aa-flaky-retry', 'nono.execution.retrying.v1').length >= 1 ? true : undefined),
      10_000,
      'the first retry to be pending',
    );
    const owners = await readAssignmentOwners(zk);
    const victim = schedulers.find((s) => owners[s.id]?.includes('aa-flaky-retry'))!;
    const survivor = schedulers.find((s) => s !== victim)!;
    await victim.kill('SIGKILL');
    await eventually(
      async () =>
        (await readAssignmentOwners(zk))[survivor.id]?.includes('aa-flaky-retry') ? true : undefined,
      15_000,
      'the survivor to adopt the task',
    );
    // The same scheduler id comes back (a supervisor restart) before the execution's deadline.
    const restarted = await startScheduler(cluster.iso, victim.id, {
      NONO_SCHEDULER_SPOOL_DIR: victim.spoolDir,
      NONO_LOST_GRACE_MS: '500',
    });
    schedulers[schedulers.indexOf(victim)] = restarted;
    // Budget: 3 attempts × 1 s + 2 backoffs × 4 s = 11 s after the fire, then the grace.
    const lost = await eventually(
      () => eventsOf('aa-flaky-retry', 'nono.execution.lost.v1')[0],
      30_000,
      'a lost fact for the abandoned execution',
    );
    expect(dataOf<{ lostSchedulerId: string; schedulerId: string }>(lost)).toMatchObject({
      lostSchedulerId: victim.id,
      // The lowest task id stays where it is when the restarted id rejoins (assignment rule 3).
      schedulerId: survivor.id,
    });
  });
});
