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
import { type TestWorker, arrivalGaps, nominalGaps } from '../support/processes.js';

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

  it('a scheduler frozen past an execution deadline makes no further attempt when it resumes', async () => {
    const at = Date.now() + 2_000;
    await putTask(
      zk,
      buildTask('ab-frozen', {
        schedule: { kind: 'once', at: new Date(at).toISOString() },
        target: { url: `${worker.url}/fail/ab-frozen`, timeoutMs: 1_000 },
        retry: { maxAttempts: 4, initialBackoffMs: 3_000, maxBackoffMs: 3_000, multiplier: 1 },
      }),
    );
    await eventually(
      () => (eventsOf('ab-frozen', 'nono.execution.retrying.v1').length >= 1 ? true : undefined),
      10_000,
      'the first retry to be pending',
    );
    const owners = await readAssignmentOwners(zk);
    const frozen = schedulers.find((s) => owners[s.id]?.includes('ab-frozen'))!;
    frozen.child.kill('SIGSTOP');
    try {
      // Its session expires, another scheduler adopts the task and reports the execution lost
      // after its deadline (4 attempts × 1 s + 3 back-offs × 3 s = 13 s after the fire).
      await eventually(
        () => eventsOf('ab-frozen', 'nono.execution.lost.v1')[0],
        30_000,
        'the lost fact from the new owner',
      );
    } finally {
      frozen.child.kill('SIGCONT');
    }
    // Its retry timer is long overdue when it resumes: starting attempt 2 now could overlap a re-run.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect((await worker.calls()).filter((c) => c.taskId === 'ab-frozen').map((c) => c.attempt)).toEqual([1]);
    expect(frozen.child.exitCode).toBeNull();
    await eventually(
      async () =>
        (await fetch(`${frozen.opsUrl}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined,
      20_000,
      'the resumed scheduler to be ready again',
    );
  });

  it('every due instant gets a fact: past the catch-up window, over maxRuns, skipped by the misfire policy', async () => {
    // Tasks created in the past and never fired: every instant since their creation is due.
    const putCreatedAgo = (id: string, agoMs: number, input: Record<string, unknown>) =>
      putTask(zk, buildTask(id, { target: { url: `${worker.url}/ok/${id}` }, ...input }, Date.now() - agoMs));
    await putCreatedAgo('window', 600_000, {
      schedule: { kind: 'interval', everyMs: 60_000 },
      misfire: { policy: 'fire-all', catchUpWindowMs: 150_000 },
      overlap: 'buffer-all', // the caught-up instants run one after another
    });
    await putCreatedAgo('limited', 20_000, {
      schedule: { kind: 'interval', everyMs: 1_000 },
      misfire: { policy: 'fire-all' },
      overlap: 'allow',
      maxRuns: 3,
    });
    await putCreatedAgo('skipper', 600_000, {
      schedule: { kind: 'interval', everyMs: 60_000 },
      misfire: { policy: 'skip' },
    });
    const skipReasons = (taskId: string): string[] =>
      eventsOf(taskId, 'nono.execution.skipped.v1').map((e) => dataOf<{ skipReason: string }>(e).skipReason);
    await eventually(
      () => (skipReasons('window').length >= 7 && skipReasons('skipper').length >= 10 ? true : undefined),
      // A liveness bound, not a timing: right after the frozen-scheduler test the cluster may still
      // be rebalancing, and a loaded machine once took longer than 15 s here.
      30_000,
      'the skipped facts of the missed instants',
    );
    // window: 10 instants due; the 7 older than 150 s expired, the 2-3 within were caught up.
    expect(new Set(skipReasons('window'))).toEqual(new Set(['catch-up-window']));
    // The caught-up ones run one after another (buffer-all): wait for the last of them.
    await eventually(
      () =>
        skipReasons('window').length + eventsOf('window', 'nono.execution.fired.v1').length === 10
          ? true
          : undefined,
      10_000,
      'a fact for each of the 10 due instants',
    );
    // skipper: each missed instant is misfired (action skip) and skipped for the misfire policy.
    expect(new Set(skipReasons('skipper'))).toEqual(new Set(['misfire-policy']));
    expect(eventsOf('skipper', 'nono.execution.misfired.v1')).toHaveLength(skipReasons('skipper').length);
    // limited: three runs, the other due instants of the catch-up skipped for max-runs, then nothing more.
    await eventually(
      () => (eventsOf('limited', 'nono.execution.succeeded.v1').length === 3 ? true : undefined),
      10_000,
      'the three allowed runs',
    );
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(eventsOf('limited', 'nono.execution.fired.v1')).toHaveLength(3);
    expect(new Set(skipReasons('limited'))).toEqual(new Set(['max-runs']));
    const limitedFacts = new Set(
      eventsOf('limited')
        .filter((e) => e.type === 'nono.execution.fired.v1' || e.type === 'nono.execution.skipped.v1')
        .map((e) => dataOf<{ nominalTime: string }>(e).nominalTime),
    );
    // Every instant from creation to the third run has exactly one of them.
    expect(limitedFacts.size).toBe(eventsOf('limited', 'nono.execution.skipped.v1').length + 3);
  });

  it('overlap policies on real calls: buffer-all queues, buffer-one keeps the newest, cancel-running cancels', async () => {
    const slow = (id: string, overlap: string) =>
      buildTask(id, {
        schedule: { kind: 'interval', everyMs: 1000 },
        target: { url: `${worker.url}/slow/${id}?ms=2500`, timeoutMs: 5_000 },
        overlap,
      });
    for (const [id, overlap] of [
      ['queue-all', 'buffer-all'],
      ['queue-one', 'buffer-one'],
      ['cancels', 'cancel-running'],
    ] as const)
      await putTask(zk, slow(id, overlap));
    await new Promise((resolve) => setTimeout(resolve, 7_500));
    for (const id of ['queue-all', 'queue-one', 'cancels']) await zk.delete(layout.task(id));
    const callsOf = async (id: string) => (await worker.calls()).filter((c) => c.taskId === id);

    // buffer-all: one at a time, each instant in order, none skipped.
    const all = await callsOf('queue-all');
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...arrivalGaps(all))).toBeGreaterThanOrEqual(2_400);
    expect(new Set(nominalGaps(all))).toEqual(new Set([1000]));
    expect(eventsOf('queue-all', 'nono.execution.skipped.v1')).toEqual([]);

    // buffer-one: one at a time; the waiting one is replaced by newer instants, which are skipped as overlap.
    const one = await callsOf('queue-one');
    expect(one.length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...arrivalGaps(one))).toBeGreaterThanOrEqual(2_400);
    await eventually(
      () => (eventsOf('queue-one', 'nono.execution.skipped.v1').length >= 1 ? true : undefined),
      5_000,
      'buffer-one skips',
    );

    // cancel-running: a call every second, each cancelling the one before (a failed fact, no retry).
    const cancels = await callsOf('cancels');
    expect(cancels.length).toBeGreaterThanOrEqual(5);
    await eventually(
      () =>
        eventsOf('cancels', 'nono.execution.failed.v1').some((e) =>
          /cancelled by overlap policy cancel-running/.test(dataOf<{ error: string }>(e).error),
        )
          ? true
          : undefined,
      5_000,
      'a cancelled call',
    );
  });
});

describe('a task deleted after its instant was claimed', () => {
  let cluster: TestCluster;
  let log: Awaited<ReturnType<typeof collectEvents>>;

  beforeAll(async () => {
    // A long claim lead, so the deletion lands between claim and instant whatever the load.
    cluster = await startTestCluster(await isolate('deleted-after-claim'), {
      schedulers: ['d1'],
      env: { NONO_CLAIM_LEAD_MS: '4000' },
    });
    log = await collectEvents(cluster.iso, cluster.iso.topics.executions);
  });
  afterAll(async () => {
    await log?.stop();
    await cluster?.stop();
  });

  it('is not called, and the instant is recorded as skipped (deleted)', async () => {
    const at = Date.now() + 6_000;
    await putTask(
      cluster.zk,
      buildTask('doomed', {
        schedule: { kind: 'once', at: new Date(at).toISOString() },
        target: { url: `${cluster.worker.url}/ok/doomed` },
      }),
    );
    await eventually(
      async () => {
        const state = await cluster.zk.get(layout.fireState('doomed')).catch(() => undefined);
        return state !== undefined && state.data.toString('utf8').includes('"inflight":{"')
          ? true
          : undefined;
      },
      6_000,
      'the instant to be claimed',
    );
    await cluster.zk.delete(layout.task('doomed'));
    const skipped = await eventually(
      () => log.events.find((e) => e.subject === 'doomed' && e.type === 'nono.execution.skipped.v1'),
      10_000,
      'the skipped fact',
    );
    expect(skipped.data).toMatchObject({ skipReason: 'deleted', nominalTime: new Date(at).toISOString() });
    expect((await cluster.worker.calls()).filter((c) => c.taskId === 'doomed')).toEqual([]);
  });
});
