import { cancelRequestDocument } from '@nono/coordination';
import { type NonoEvent } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTask, layout, putTask, type TestCluster, startClusterWithFacts } from '../support/cluster.js';
import { eventually, isolate } from '../support/fixtures.js';

/**
 * An operator cancels a running execution: the scheduler running it aborts the HTTP call at
 * once, records it cancelled with who and why, retries nothing, and deletes the request.
 */
describe('cancel a running execution', () => {
  let cluster: TestCluster;
  let facts: NonoEvent[];
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ cluster, facts, stop } = await startClusterWithFacts(await isolate('cancel'), ['k1']));
  });
  afterAll(() => stop?.());

  it('aborts the call, records cancelled with the actor and note, and does not retry', async () => {
    const { zk, worker } = cluster;
    // A call that would take 60 s, retried up to 3 times: only a cancel ends it early.
    await putTask(
      zk,
      buildTask('long-job', {
        schedule: { kind: 'once', at: new Date(Date.now() + 1_500).toISOString() },
        target: { url: `${worker.url}/slow/long-job?ms=60000`, timeoutMs: 60_000 },
        retry: { maxAttempts: 3, initialBackoffMs: 100 },
      }),
    );
    const call = await eventually(
      async () => (await worker.calls()).find((c) => c.taskId === 'long-job'),
      20_000,
      'the call to start',
    );
    const requestedAt = Date.now();
    await zk.create(
      layout.cancel('long-job', call.executionId),
      cancelRequestDocument.encode({
        actor: { id: 'oncall-ann', kind: 'token' },
        note: 'stuck on a lock, see INC-42',
        requestedAt: new Date(requestedAt).toISOString(),
      }),
    );

    const cancelled = await eventually(
      async () => facts.find((e) => e.type === 'nono.execution.cancelled.v1' && e.subject === 'long-job'),
      10_000,
      'a cancelled fact',
    );
    expect(cancelled.data).toMatchObject({
      executionId: call.executionId,
      attempt: 1,
      actor: { id: 'oncall-ann', kind: 'token' },
      note: 'stuck on a lock, see INC-42',
    });
    // Stopped waiting long before the 60 s call would have ended.
    expect(Date.parse((cancelled.data as { finishedAt: string }).finishedAt) - requestedAt).toBeLessThan(
      5_000,
    );
    await eventually(
      async () =>
        (await zk.exists(layout.cancel('long-job', call.executionId))) === undefined ? true : undefined,
      10_000,
      'the request to be deleted',
    );
    // No retry: one call, and no failed/retrying fact for it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await worker.calls()).filter((c) => c.taskId === 'long-job')).toHaveLength(1);
    expect(
      facts
        .filter((e) => e.subject === 'long-job')
        .map((e) => e.type)
        .filter((type) => type !== 'nono.execution.fired.v1'),
    ).toEqual(['nono.execution.cancelled.v1']);
  });

  it('a request for a task that no longer exists is deleted, not left in ZooKeeper for ever', async () => {
    const { zk } = cluster;
    const path = layout.cancel('gone-task', '0190f1c2-0000-7000-8000-000000000001');
    await zk.create(
      path,
      cancelRequestDocument.encode({
        actor: { id: 'oncall-ann', kind: 'token' },
        requestedAt: new Date().toISOString(),
      }),
    );
    await eventually(
      async () => ((await zk.exists(path)) === undefined ? true : undefined),
      10_000,
      'the ownerless request to be deleted',
    );
  });
});
