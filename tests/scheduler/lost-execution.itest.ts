import { type ZkClient } from '@nono/coordination';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SchedulerProcess,
  buildTask,
  collectEvents,
  putTask,
  readAssignmentOwners,
  type TestCluster,
  startTestCluster,
} from '../support/cluster.js';
import { type Isolation, eventually, isolate } from '../support/fixtures.js';
import { type TestWorker } from '../support/processes.js';

/**
 * A scheduler dies while its worker call is in flight. The new owner marks that execution
 * lost once the task's timeout has passed, and re-runs it because the task asks for it:
 * same execution id (the worker's Idempotency-Key), next attempt, reason "failover".
 */
describe('an execution whose scheduler died mid-call', () => {
  let cluster: TestCluster;
  let iso: Isolation;
  let zk: ZkClient;
  let worker: TestWorker;
  let schedulers: SchedulerProcess[];

  beforeAll(async () => {
    cluster = await startTestCluster(await isolate('lost-execution'), {
      schedulers: ['l1', 'l2'],
      partitions: 3,
      env: { NONO_LOST_GRACE_MS: '500' },
    });
    ({ iso, zk, worker, schedulers } = cluster);
  });
  afterAll(() => cluster?.stop());

  it('is marked lost after the timeout and re-run under the same Idempotency-Key', async () => {
    const at = new Date(Date.now() + 3_000).toISOString();
    await putTask(
      zk,
      buildTask('slowpoke', {
        schedule: { kind: 'once', at },
        target: { url: `${worker.url}/slow/slowpoke?ms=3000`, timeoutMs: 4_000 },
        rerunLost: true,
      }),
    );
    const first = await eventually(
      async () => (await worker.calls()).find((c) => c.taskId === 'slowpoke'),
      15_000,
      'the first call',
    );
    const owners = await readAssignmentOwners(zk);
    const owner = schedulers.find((s) => owners[s.id]?.includes('slowpoke'));
    expect(owner).toBeDefined();
    await owner!.kill('SIGKILL');

    const log = await collectEvents(iso, iso.topics.executions);
    try {
      const lost = await eventually(
        () => log.events.find((e) => e.type === 'nono.execution.lost.v1' && e.subject === 'slowpoke'),
        30_000,
        'a lost event',
      );
      expect(lost.data).toMatchObject({
        executionId: first.executionId,
        lostSchedulerId: owner!.id,
        rerun: true,
      });
      const rerun = await eventually(
        async () => (await worker.calls()).find((c) => c.taskId === 'slowpoke' && c.attempt === 2),
        15_000,
        'the re-run',
      );
      expect(rerun.executionId).toBe(first.executionId);
      expect(JSON.parse(rerun.body)).toMatchObject({ reason: 'failover', attempt: 2 });
      // The lost event came only after the task timeout had passed since the first call.
      expect(Date.parse(lost.time) - first.receivedAt).toBeGreaterThanOrEqual(4_000);
    } finally {
      await log.stop();
    }
  });
});
