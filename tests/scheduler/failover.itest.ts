import { type ZkClient } from '@nono/coordination';
import { type NonoEvent } from '@nono/domain';
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
import { doubledOccurrences } from '../support/ledger.js';
import { type TestWorker } from '../support/processes.js';

/**
 * Failure as a feature, on real processes: a scheduler killed with SIGKILL while firing,
 * and one frozen with SIGSTOP past its session timeout. No instant is ever called twice.
 */
const SESSION_TIMEOUT_MS = 4_000;
const TASKS = 30;

describe('scheduler failover', () => {
  let cluster: TestCluster;
  let iso: Isolation;
  let zk: ZkClient;
  let worker: TestWorker;
  let schedulers: SchedulerProcess[];

  beforeAll(async () => {
    cluster = await startTestCluster(await isolate('failover'), {
      schedulers: ['f1', 'f2', 'f3'],
      partitions: 3,
      // A short misfire threshold, so the instants missed during the takeover are misfires.
      env: { NONO_ZK_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS), NONO_MISFIRE_THRESHOLD_MS: '1000' },
    });
    ({ iso, zk, worker, schedulers } = cluster);
    const now = Date.now();
    for (let i = 0; i < TASKS; i++) {
      const id = `f${String(i).padStart(2, '0')}`;
      await putTask(
        zk,
        buildTask(
          id,
          { schedule: { kind: 'interval', everyMs: 1000 }, target: { url: `${worker.url}/ok/${id}` } },
          now,
        ),
      );
    }
    await eventually(
      async () => (new Set((await worker.calls()).map((c) => c.taskId)).size === TASKS ? true : undefined),
      30_000,
      'every task firing',
    );
  });
  afterAll(() => cluster?.stop());

  const assertNoDoubleCalls = async (): Promise<void> => {
    expect(doubledOccurrences(await worker.calls())).toEqual([]);
  };

  it('SIGKILL: the survivors take the tasks over within the session timeout + 2 s, firing nothing twice', async () => {
    const victim = schedulers[0]!;
    const victimTasks = (await readAssignmentOwners(zk))[victim.id] ?? [];
    expect(victimTasks.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    await victim.kill('SIGKILL');

    // Taken over = every task of the victim called again by someone else after the kill.
    const takenOverAt = await eventually(
      async () => {
        const calls = (await worker.calls()).filter((c) => c.receivedAt > killedAt);
        const resumed = new Set(calls.filter((c) => victimTasks.includes(c.taskId)).map((c) => c.taskId));
        return resumed.size === victimTasks.length ? Date.now() : undefined;
      },
      SESSION_TIMEOUT_MS + 15_000,
      'the victim’s tasks to fire again',
    );
    expect(takenOverAt - killedAt).toBeLessThan(
      SESSION_TIMEOUT_MS + 2_000 + 1_000 /* poll and call latency */,
    );

    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await assertNoDoubleCalls();

    // The missed instants follow the default misfire policy (fire-once): recorded as misfired, one fired.
    const log = await collectEvents(iso, iso.topics.executions);
    try {
      const misfired = await eventually(
        () => {
          const found = log.events.filter(
            (e: NonoEvent) => e.type === 'nono.execution.misfired.v1' && victimTasks.includes(e.subject),
          );
          return found.length > 0 ? found : undefined;
        },
        20_000,
        'misfired events for the victim’s tasks',
      );
      expect(misfired.every((e) => (e.data as { reason: string }).reason === 'misfire-catch-up')).toBe(true);
      const fired = log.events.filter((e) => e.type === 'nono.execution.fired.v1');
      const perExecution = new Map<string, number>();
      for (const e of fired) {
        const key = `${(e.data as { executionId: string }).executionId}|${(e.data as { attempt: number }).attempt}`;
        perExecution.set(key, (perExecution.get(key) ?? 0) + 1);
      }
      expect([...perExecution].filter(([, n]) => n > 1)).toEqual([]);
      // The catch-up fire of an instant that fell due before the takeover says why it ran.
      const reasons = new Set(
        fired
          .filter((e) => victimTasks.includes(e.subject))
          .map((e) => (e.data as { reason: string }).reason),
      );
      expect(reasons.has('failover')).toBe(true);
    } finally {
      await log.stop();
    }
  });

  it('SIGSTOP past the session timeout, then SIGCONT: the frozen scheduler fires nothing it no longer owns', async () => {
    const frozen = schedulers[1]!;
    const frozenTasks = (await readAssignmentOwners(zk))[frozen.id] ?? [];
    expect(frozenTasks.length).toBeGreaterThan(0);
    frozen.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    // Wait until the others have taken its tasks over, then wake it up.
    await eventually(
      async () => {
        const owners = await readAssignmentOwners(zk);
        return owners[frozen.id] === undefined || owners[frozen.id]!.length === 0 ? true : undefined;
      },
      SESSION_TIMEOUT_MS + 15_000,
      'the frozen scheduler to lose its tasks',
    );
    await eventually(
      async () => {
        const calls = (await worker.calls()).filter((c) => c.receivedAt > stoppedAt + SESSION_TIMEOUT_MS);
        return frozenTasks.every((t) => calls.some((c) => c.taskId === t)) ? true : undefined;
      },
      20_000,
      'others to fire the frozen scheduler’s tasks',
    );
    frozen.child.kill('SIGCONT');
    const resumedAt = Date.now();
    // It wakes with timers long overdue; the fence must refuse every one of them.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await assertNoDoubleCalls();
    // And it comes back as a healthy member once it has rejoined.
    await eventually(
      async () => ((await fetch(`${frozen.opsUrl}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'the frozen scheduler to rejoin',
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await assertNoDoubleCalls();
    expect(Date.now()).toBeGreaterThan(resumedAt);
  });
});
