import { decodeOutboxEntry } from '@nono/coordination';
import { type SchedulerTask } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTask,
  layout,
  putTask,
  type TestCluster,
  startTestCluster,
  updateTask,
} from '../support/cluster.js';
import { eventually, isolate } from '../support/fixtures.js';

/**
 * `pauseAfterConsecutiveFailures`: the real scheduler counts a task's failed executions in a
 * row in its fire state and pauses the task itself, through the audit outbox as the API would,
 * after exactly N; a success ends the run; resuming (any change) starts the count again.
 */
describe('pause after consecutive failures', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster(await isolate('pause-on-failures'), { schedulers: ['p1'] });
  });
  afterAll(() => cluster?.stop());

  async function stored(taskId: string): Promise<SchedulerTask> {
    return JSON.parse((await cluster.zk.get(layout.task(taskId))).data.toString('utf8')) as SchedulerTask;
  }
  async function callsOf(taskId: string): Promise<number> {
    return (await cluster.worker.calls()).filter((c) => c.taskId === taskId).length;
  }

  it('pauses after exactly N failures in a row, with a note and an audit event; resuming starts the count again; a success in between ends the run', async () => {
    const { zk, worker } = cluster;
    const common = { schedule: { kind: 'interval', everyMs: 2_000 }, retry: { maxAttempts: 1 } };
    await putTask(
      zk,
      buildTask('breaker', {
        ...common,
        target: { url: `${worker.url}/fail/breaker`, timeoutMs: 1_000 },
        pauseAfterConsecutiveFailures: 3,
      }),
    );
    // Fails every other call: never two failures in a row.
    await putTask(
      zk,
      buildTask('alternating', {
        ...common,
        target: { url: `${worker.url}/flaky/alternating?every=2`, timeoutMs: 1_000 },
        pauseAfterConsecutiveFailures: 2,
      }),
    );

    const paused = await eventually(
      async () => {
        const task = await stored('breaker');
        return task.paused ? task : undefined;
      },
      20_000,
      'the failing task to be paused',
    );
    expect(paused.pausedNote).toBe(
      'paused by nono after 3 consecutive failed executions (pauseAfterConsecutiveFailures: 3)',
    );
    // The next instant is 2 s away: nothing more is called once paused.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await callsOf('breaker')).toBe(3);

    const entries = await Promise.all(
      (await zk.children(layout.outbox)).map(async (name) =>
        decodeOutboxEntry((await zk.get(`${layout.outbox}/${name}`)).data),
      ),
    );
    const pauseEvent = entries.find(
      (e) => e?.event.type === 'nono.task.paused.v1' && e.event.subject === 'breaker',
    );
    expect(pauseEvent?.committed).toBe(true);
    expect(pauseEvent?.event.data).toMatchObject({
      actor: { id: 'p1', kind: 'system' },
      revision: paused.revision,
      note: paused.pausedNote,
    });

    // Resumed (a new revision): two more failures do not pause it; the third does.
    await updateTask(zk, 'breaker', () => ({ paused: false }));
    await eventually(
      async () => ((await callsOf('breaker')) >= 5 ? true : undefined),
      10_000,
      'two more calls',
    );
    expect((await stored('breaker')).paused).toBe(false);
    await eventually(
      async () => ((await stored('breaker')).paused ? true : undefined),
      10_000,
      'a pause again',
    );
    expect(await callsOf('breaker')).toBe(6);

    expect(await callsOf('alternating')).toBeGreaterThanOrEqual(6);
    expect((await stored('alternating')).paused).toBe(false);
  });
});
