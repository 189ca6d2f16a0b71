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
  startTestCluster,
  updateTask,
} from '../support/cluster.js';
import { eventually, isolate } from '../support/fixtures.js';
import { type TestWorker, type WorkerCall, arrivalGaps, nominalGaps } from '../support/processes.js';

/** Hot change, worker failures, manual triggers and bad data, on one real scheduler. */
describe('scheduler behaviour', () => {
  let cluster: TestCluster;
  let zk: ZkClient;
  let worker: TestWorker;
  let scheduler: SchedulerProcess;
  let log: Awaited<ReturnType<typeof collectEvents>>;

  beforeAll(async () => {
    cluster = await startTestCluster(await isolate('behaviour'), { schedulers: ['b1'] });
    ({ zk, worker } = cluster);
    scheduler = cluster.schedulers[0]!;
    log = await collectEvents(cluster.iso, cluster.iso.topics.executions);
  });
  afterAll(async () => {
    await log?.stop();
    await cluster?.stop();
  });

  const callsOf = async (taskId: string): Promise<WorkerCall[]> =>
    (await worker.calls()).filter((c) => c.taskId === taskId);
  const eventsOf = (taskId: string, type: string): NonoEvent[] =>
    log.events.filter((e) => e.subject === taskId && e.type === type);

  it('hot change: a new cadence within a second; pause, resume and delete take effect at once', async () => {
    await putTask(
      zk,
      buildTask('hot', {
        schedule: { kind: 'cron', expression: '*/5 * * * * *' },
        target: { url: `${worker.url}/ok/hot` },
      }),
    );
    await eventually(
      async () => ((await callsOf('hot')).length >= 1 ? true : undefined),
      15_000,
      'the first 5-second fire',
    );

    const changedAt = Date.now();
    await updateTask(zk, 'hot', () => ({
      schedule: { kind: 'cron', expression: '* * * * * *', timeZone: 'UTC', jitterMs: 0 },
    }));
    const fast = await eventually(
      async () => {
        const after = (await callsOf('hot')).filter((c) => c.receivedAt > changedAt);
        return after.length >= 3 ? after : undefined;
      },
      10_000,
      'the every-second cadence',
    );
    expect(fast[0]!.receivedAt - changedAt).toBeLessThan(2_000); // the next whole second, plus call latency
    expect(nominalGaps(fast.slice(0, 3))).toEqual([1000, 1000]);

    await updateTask(zk, 'hot', () => ({ paused: true, pausedNote: 'maintenance' }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const pausedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await callsOf('hot')).filter((c) => c.receivedAt > pausedAt)).toEqual([]);

    await updateTask(zk, 'hot', () => ({ paused: false }));
    const resumedAt = Date.now();
    const resumed = await eventually(
      async () => {
        const after = (await callsOf('hot')).filter((c) => c.receivedAt > resumedAt);
        return after.length >= 1 ? after : undefined;
      },
      5_000,
      'a fire after resume',
    );
    // Instants that passed while paused are not caught up.
    expect(Date.parse(resumed[0]!.nominal)).toBeGreaterThanOrEqual(resumedAt - 1000);

    await zk.delete(layout.task('hot'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const deletedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await callsOf('hot')).filter((c) => c.receivedAt > deletedAt)).toEqual([]);
  });

  it('worker failures: 500s are retried as configured, hangs time out, refused connections fail', async () => {
    const retry = { maxAttempts: 3, initialBackoffMs: 200, maxBackoffMs: 400, multiplier: 2 };
    const soon = { kind: 'once', at: new Date(Date.now() + 1_500).toISOString() };
    await putTask(
      zk,
      buildTask('fails', { schedule: soon, target: { url: `${worker.url}/fail/fails` }, retry }),
    );
    await putTask(
      zk,
      buildTask('hangs', {
        schedule: soon,
        target: { url: `${worker.url}/slow/hangs?ms=5000`, timeoutMs: 300 },
      }),
    );
    await putTask(
      zk,
      buildTask('refused', { schedule: soon, target: { url: 'http://127.0.0.1:9/refused' } }),
    );

    await eventually(
      () => (eventsOf('fails', 'nono.execution.failed.v1').length >= 3 ? true : undefined),
      20_000,
      'three failed attempts',
    );
    const failed = eventsOf('fails', 'nono.execution.failed.v1').map(
      (e) => e.data as { attempt: number; willRetry: boolean; httpStatus?: number },
    );
    expect(failed.map((f) => [f.attempt, f.willRetry, f.httpStatus])).toEqual([
      [1, true, 500],
      [2, true, 500],
      [3, false, 500],
    ]);
    expect(eventsOf('fails', 'nono.execution.retrying.v1')).toHaveLength(2);
    expect(
      eventsOf('fails', 'nono.execution.fired.v1').map((e) => (e.data as { attempt: number }).attempt),
    ).toEqual([1, 2, 3]);
    const attempts = await callsOf('fails');
    expect(attempts.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(new Set(attempts.map((c) => c.executionId)).size).toBe(1); // one Idempotency-Key for every attempt

    await eventually(
      () => (eventsOf('hangs', 'nono.execution.timed-out.v1').length === 1 ? true : undefined),
      10_000,
      'a timeout',
    );
    expect(eventsOf('hangs', 'nono.execution.timed-out.v1')[0]!.data).toMatchObject({
      timeoutMs: 300,
      willRetry: false,
    });

    await eventually(
      () => (eventsOf('refused', 'nono.execution.failed.v1').length === 1 ? true : undefined),
      10_000,
      'a refused connection',
    );
    expect((eventsOf('refused', 'nono.execution.failed.v1')[0]!.data as { error: string }).error).toMatch(
      /ECONNREFUSED/,
    );
  });

  it('sends the worker the contract headers and body', async () => {
    const [call] = await callsOf('fails');
    expect(call!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(call!.token).toBeGreaterThan(0);
    expect(JSON.parse(call!.body)).toMatchObject({
      taskId: 'fails',
      executionId: call!.executionId,
      attempt: 1,
      reason: 'scheduled',
    });
  });

  it('a manual trigger fires the task once, now, whatever its schedule', async () => {
    await putTask(
      zk,
      buildTask('manual', {
        schedule: { kind: 'cron', expression: '0 0 1 1 *' },
        target: { url: `${worker.url}/ok/manual` },
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    await zk.create(
      layout.trigger('manual', 'req-1'),
      JSON.stringify({ requestId: 'req-1', actor: 'test', requestedAt: new Date().toISOString() }),
    );
    await eventually(
      async () => ((await callsOf('manual')).length === 1 ? true : undefined),
      10_000,
      'the manual fire',
    );
    await eventually(
      async () => ((await zk.exists(layout.trigger('manual', 'req-1'))) === undefined ? true : undefined),
      5_000,
      'the request to be consumed',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await callsOf('manual')).toHaveLength(1);
    expect(eventsOf('manual', 'nono.execution.fired.v1')[0]!.data).toMatchObject({ reason: 'manual' });
  });

  it('overlap: "skip" never runs two at once and records the skips; "allow" runs them side by side', async () => {
    const slow = (id: string, overlap: string) =>
      buildTask(id, {
        schedule: { kind: 'interval', everyMs: 1000 },
        target: { url: `${worker.url}/slow/${id}?ms=2500`, timeoutMs: 5_000 },
        overlap,
      });
    await putTask(zk, slow('overlap-skip', 'skip'));
    await putTask(zk, slow('overlap-allow', 'allow'));
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    await zk.delete(layout.task('overlap-skip'));
    await zk.delete(layout.task('overlap-allow'));

    const skipCalls = await callsOf('overlap-skip');
    expect(skipCalls.length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...arrivalGaps(skipCalls))).toBeGreaterThanOrEqual(2_400);
    await eventually(
      () => (eventsOf('overlap-skip', 'nono.execution.skipped.v1').length >= 2 ? true : undefined),
      5_000,
      'skipped events',
    );
    expect(eventsOf('overlap-skip', 'nono.execution.skipped.v1')[0]!.data).toMatchObject({
      skipReason: 'overlap',
    });

    const allowCalls = await callsOf('overlap-allow');
    expect(allowCalls.length).toBeGreaterThanOrEqual(5);
    expect(nominalGaps(allowCalls)).toEqual(Array(allowCalls.length - 1).fill(1000));
  });

  it('bad task data in ZooKeeper is reported and skipped without stopping other tasks', async () => {
    await zk.create(layout.task('garbage'), 'this is not json');
    await zk.create(
      layout.task('bad-cron'),
      JSON.stringify({
        ...buildTask('bad-cron', {
          schedule: { kind: 'interval', everyMs: 1000 },
          target: { url: `${worker.url}/ok/bad-cron` },
        }),
        schedule: { kind: 'cron', expression: '99 * * * *', timeZone: 'UTC', jitterMs: 0 },
      }),
    );
    await putTask(
      zk,
      buildTask('healthy', {
        schedule: { kind: 'interval', everyMs: 1000 },
        target: { url: `${worker.url}/ok/healthy` },
      }),
    );
    await eventually(
      async () => ((await callsOf('healthy')).length >= 2 ? true : undefined),
      10_000,
      'the healthy task to keep firing',
    );
    expect(await callsOf('bad-cron')).toEqual([]);
    await eventually(
      async () => {
        const { readFileSync } = await import('node:fs');
        const text = readFileSync(scheduler.logFile, 'utf8');
        return text.includes('"taskId":"garbage"') && text.includes('"taskId":"bad-cron"') ? true : undefined;
      },
      5_000,
      'both bad definitions to be reported in the log',
    );
    expect((await fetch(`${scheduler.opsUrl}/readyz`)).status).toBe(200);
  });
});
