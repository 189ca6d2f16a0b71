import { type ZkClient } from '@nono/coordination';
import { type NonoEvent } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  catchUpTasks,
  collectEvents,
  defineTasks,
  readAssignmentOwners,
  type TestCluster,
  startHistoryProcess,
  startTestCluster,
  untilEveryTaskFires,
} from '../support/cluster.js';
import { type Isolation, eventually, isolate } from '../support/fixtures.js';
import {
  type TaskLedger,
  callsPerOccurrence,
  doubledOccurrences,
  settledLedgers,
} from '../support/ledger.js';
import { type WorkerCall, type TestWorker } from '../support/processes.js';

/**
 * The product's central promise, on real processes: three schedulers share 300 tasks
 * that fire every second; over 30 s every (task, instant) reaches the worker exactly once
 * and appears exactly once as fired and once as succeeded on the topic.
 */
const TASKS = 300;
const RUN_MS = 30_000;

describe('three schedulers, 300 tasks every second', () => {
  let cluster: TestCluster;
  let iso: Isolation;
  let zk: ZkClient;
  let worker: TestWorker;
  let history: Awaited<ReturnType<typeof startHistoryProcess>>;

  beforeAll(async () => {
    cluster = await startTestCluster(await isolate('exactly-once'), {
      schedulers: ['s1', 's2', 's3'],
      partitions: 6,
    });
    ({ iso, zk, worker } = cluster);
    history = await startHistoryProcess(iso);
  });
  afterAll(async () => {
    await history?.kill('SIGTERM');
    await cluster?.stop();
  });

  it('calls every instant exactly once and records it exactly once', async () => {
    // Noisy CI machines stall processes and slow the worker: every instant a stall made miss is
    // caught up and none skipped for overlap, so "each instant called exactly once" is the fence's doing alone.
    const tasks = catchUpTasks('t', TASKS, worker.url);
    await defineTasks(iso, zk, tasks);
    // Balanced: no scheduler owns more than ceil(N/M)+1.
    const owners = await eventually(
      async () => {
        const current = await readAssignmentOwners(zk).catch(() => undefined);
        const total = current === undefined ? 0 : Object.values(current).flat().length;
        return total === TASKS && Object.keys(current ?? {}).length === 3 ? current : undefined;
      },
      20_000,
      'all tasks assigned',
    );
    for (const tasks of Object.values(owners))
      expect(tasks.length).toBeLessThanOrEqual(Math.ceil(TASKS / 3) + 1);

    // The window opens once every task is firing.
    await untilEveryTaskFires(worker, tasks, 30_000);
    const windowStart = Math.ceil((Date.now() + 1_000) / 1000) * 1000;
    const windowEnd = windowStart + RUN_MS;
    await new Promise((resolve) => setTimeout(resolve, windowEnd - Date.now() + 3_000));

    const inWindow = (nominal: string): boolean =>
      Date.parse(nominal) >= windowStart && Date.parse(nominal) < windowEnd;
    const calls = (await worker.calls()).filter((c: WorkerCall) => inWindow(c.nominal));
    const expected = TASKS * (RUN_MS / 1000);
    const byOccurrence = callsPerOccurrence(calls);
    const doubled = doubledOccurrences(calls);
    expect(doubled, 'occurrences called more than once').toEqual([]);
    const missing: string[] = [];
    for (let i = 0; i < TASKS; i++) {
      for (let t = windowStart; t < windowEnd; t += 1000) {
        const key = `t${String(i).padStart(3, '0')}|${new Date(t).toISOString()}`;
        if (!byOccurrence.has(key)) missing.push(key);
      }
    }
    const missingBySecond = countBy(missing, (key) => key.split('|')[1] ?? '');
    expect(
      missing.slice(0, 10),
      `${missing.length} occurrences never called: ${JSON.stringify([...missingBySecond])}`,
    ).toEqual([]);
    expect(byOccurrence.size).toBe(expected);
    expect(new Set(calls.map((c) => c.executionId)).size).toBe(expected);

    const log = await collectEvents(iso, iso.topics.executions);
    try {
      const windowed = (type: string): NonoEvent[] =>
        log.events.filter(
          (e) => e.type === type && inWindow((e.data as { nominalTime: string }).nominalTime),
        );
      await eventually(
        () => (windowed('nono.execution.succeeded.v1').length >= expected ? true : undefined),
        60_000,
        'all succeeded events',
      );
      for (const type of ['nono.execution.fired.v1', 'nono.execution.succeeded.v1']) {
        const perExecution = countBy(windowed(type), (e) => (e.data as { executionId: string }).executionId);
        expect(perExecution.size, type).toBe(expected);
        expect(
          [...perExecution.values()].every((n) => n === 1),
          `${type} exactly once each`,
        ).toBe(true);
      }
      expect(windowed('nono.execution.failed.v1')).toEqual([]);
    } finally {
      await log.stop();
    }

    // The ledger of every task over the window, as users check it: every due instant
    // accounted for (succeeded), none doubled, stale or undue, nothing left pending.
    const perTask = RUN_MS / 1000;
    const expectedSummary = {
      due: perTask,
      fired: perTask,
      succeeded: perTask,
      unaccounted: 0,
      doubled: 0,
      stale: 0,
      undue: 0,
      pending: 0,
    };
    const isOn = (l: TaskLedger): boolean =>
      Object.entries(expectedSummary).every(([key, n]) => l.summary[key] === n);
    // History projects a moment behind Kafka: read until every ledger agrees or 30 s pass.
    const off = (
      await settledLedgers(history, tasks, { start: windowStart, end: windowEnd }, isOn, Date.now() + 30_000)
    ).filter((l) => !isOn(l));
    expect(off.slice(0, 3), `${off.length} ledgers off`).toEqual([]);
  });
});

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
