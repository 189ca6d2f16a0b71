import { type AlertView } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AlertsProcess,
  listAlerts,
  publishFacts,
  putRule,
  startAlertsProcess,
} from '../../../../tests/support/alerts.js';
import {
  type SchedulerProcess,
  buildTask,
  connectZk,
  putTask,
  startHistoryProcess,
  startScheduler,
} from '../../../../tests/support/cluster.js';
import {
  type Isolation,
  createIsolatedTopics,
  eventually,
  isolate,
} from '../../../../tests/support/fixtures.js';
// Brings the `inject('kafkaBrokers')` typing of the global setup into this program (type-only, erased).
import type {} from '../../../../tests/support/global-setup.js';
import { freePort } from '../../../../tests/support/processes.js';
import { executionFact, firedFact } from '../testing/facts.js';

/**
 * The conditions beyond single failures, on a real alerts process reading real Kafka: each
 * opens an alert and resolves it when the condition clears. Execution facts are published
 * as a scheduler would (a real scheduler cannot be made late or slow on demand); the
 * membership conditions come from real schedulers joining, leaving and being killed; the
 * lag conditions from a real backlog read by a real alerts and history process.
 */
describe('alert conditions on real Kafka', () => {
  let iso: Isolation;
  let alerts: AlertsProcess;
  const schedulers: SchedulerProcess[] = [];

  beforeAll(async () => {
    iso = await isolate('alert-conditions');
    await createIsolatedTopics(iso, 3);
    alerts = await startAlertsProcess(iso);
  });
  afterAll(async () => {
    for (const scheduler of schedulers) await scheduler.kill('SIGKILL');
    await alerts?.kill('SIGTERM');
  });

  const alertOf = (
    state: 'open' | 'resolved' | 'all',
    taskId: string,
    condition: string,
  ): Promise<AlertView> =>
    eventually(
      async () =>
        (await listAlerts(alerts.url, state)).find((a) => a.taskId === taskId && a.condition === condition),
      30_000,
      `a ${state} ${condition} alert about ${taskId}`,
    );

  it('success rate, duration and lateness: each opens on facts read from Kafka and resolves once the measure is back', async () => {
    await putRule(alerts.url, 'rate', {
      name: 'rate',
      scope: { kind: 'task', taskId: 'rate-task' },
      condition: { kind: 'success-rate', belowPercent: 75, windowMs: 600_000, minRuns: 4 },
    });
    await putRule(alerts.url, 'slow', {
      name: 'slow',
      scope: { kind: 'task', taskId: 'slow-task' },
      condition: { kind: 'duration-above', thresholdMs: 1_000 },
    });
    await putRule(alerts.url, 'late', {
      name: 'late',
      scope: { kind: 'task', taskId: 'late-task' },
      condition: { kind: 'lateness-above', thresholdMs: 500 },
    });
    // Dated now: a rule holds no fact older than itself against a task.
    const t = Date.now();
    const rate = (i: number, outcome: 'succeeded' | 'failed') =>
      executionFact('rate-task', t + i * 1_000, outcome, t + i * 1_000 + 50);
    await publishFacts(iso, iso.topics.executions, [
      rate(0, 'succeeded'),
      rate(1, 'succeeded'),
      rate(2, 'failed'),
      rate(3, 'failed'),
      executionFact('slow-task', t, 'succeeded', t + 2_000),
      firedFact('late-task', t, 900),
    ]);
    expect(await alertOf('open', 'rate-task', 'success-rate')).toMatchObject({
      summary: 'rate-task: 50 % of 4 runs succeeded in the last 600000 ms (below 75 %)',
    });
    expect((await alertOf('open', 'slow-task', 'duration-above')).summary).toContain('took 2000 ms');
    expect((await alertOf('open', 'late-task', 'lateness-above')).summary).toContain('fired 900 ms late');

    // 6 of 8 succeeded: 75 %; a success within a second; a fire 10 ms late.
    await publishFacts(iso, iso.topics.executions, [
      ...[4, 5, 6, 7].map((i) => rate(i, 'succeeded')),
      executionFact('slow-task', t + 10_000, 'succeeded', t + 10_100),
      firedFact('late-task', t + 10_000, 10),
    ]);
    for (const [taskId, condition] of [
      ['rate-task', 'success-rate'],
      ['slow-task', 'duration-above'],
      ['late-task', 'lateness-above'],
    ] as const)
      expect((await alertOf('resolved', taskId, condition)).resolveReason).toBe('cleared');
  });

  it("scheduler left and no scheduler: a real scheduler's goodbye opens both, its restart resolves both", async () => {
    await putRule(alerts.url, 'left', {
      name: 'a scheduler left',
      scope: { kind: 'all' },
      condition: { kind: 'scheduler-left' },
    });
    await putRule(alerts.url, 'none', {
      name: 'nothing fires',
      scope: { kind: 'all' },
      condition: { kind: 'no-scheduler', graceMs: 1_000 },
    });
    const first = await startScheduler(iso, 'only');
    await first.waitForLine(/scheduler started/);
    const stoppedAt = Date.now();
    await first.kill('SIGTERM');
    expect((await alertOf('open', 'scheduler:only', 'scheduler-left')).summary).toBe(
      'scheduler only left (shutdown)',
    );
    const none = await alertOf('open', 'cluster:schedulers', 'no-scheduler');
    expect(Date.parse(none.openedAt) - stoppedAt).toBeGreaterThanOrEqual(1_000);

    const again = await startScheduler(iso, 'only');
    schedulers.push(again);
    await alertOf('resolved', 'scheduler:only', 'scheduler-left');
    expect((await alertOf('resolved', 'cluster:schedulers', 'no-scheduler')).id).toBe(none.id);
  });

  it("a SIGKILLed scheduler says nothing: the survivor's member list tells of it", async () => {
    // Tasks to own, so the survivor's ownership changes (and it publishes its member list) when the other dies.
    const zk = await connectZk(iso);
    try {
      for (const id of ['owned-1', 'owned-2', 'owned-3', 'owned-4'])
        await putTask(
          zk,
          buildTask(id, {
            schedule: { kind: 'interval', everyMs: 3_600_000 },
            target: { url: 'http://127.0.0.1:9/never' },
          }),
        );
    } finally {
      zk.close();
    }
    const victim = await startScheduler(iso, 'victim');
    schedulers.push(victim);
    // The victim owns tasks before the kill: they move to the survivor when it is gone.
    await victim.waitForLine(/"acquired":[1-9].*ownership changed/, 30_000);
    await victim.kill('SIGKILL');
    const gone = await alertOf('open', 'scheduler:victim', 'scheduler-left');
    expect(gone.summary).toBe('scheduler victim is gone (no longer a member, seen by only)');
  });

  it('consumer lag: a backlog read after a restart opens a lag alert for the alerts and the history consumer; caught up resolves them', async () => {
    const historyPort = await freePort();
    let history = await startHistoryProcess(iso, { port: historyPort });
    await alerts.kill('SIGTERM');
    const restartAlerts = () =>
      startAlertsProcess(iso, {
        dbFile: alerts.dbFile,
        env: { NONO_HISTORY_URL: `http://127.0.0.1:${historyPort}` },
      });
    alerts = await restartAlerts();
    for (const consumer of ['alerts', 'history'])
      await putRule(alerts.url, `${consumer}-lag`, {
        name: `${consumer} behind`,
        scope: { kind: 'all' },
        condition: { kind: 'consumer-lag', consumer, aboveRecords: 2_000 },
      });
    // Both down while a backlog arrives, then started again on their databases.
    await Promise.all([alerts.kill('SIGTERM'), history.kill('SIGTERM')]);
    const t = Date.now();
    await publishFacts(
      iso,
      iso.topics.executions,
      Array.from({ length: 30_000 }, (_, i) =>
        executionFact(`backlog-${i % 500}`, t + Math.floor(i / 500) * 1_000, 'succeeded'),
      ),
    );
    alerts = await restartAlerts();
    history = await startHistoryProcess(iso, { port: historyPort, dbFile: history.dbFile });
    try {
      // Open for as long as the backlog lasts, which may be shorter than a poll: any state will do.
      const alertsLag = await alertOf('all', 'cluster:alerts-consumer', 'consumer-lag');
      expect(alertsLag.summary).toMatch(/^the alerts consumer is \d+ records behind \(over 2000\)$/);
      await alertOf('resolved', 'cluster:alerts-consumer', 'consumer-lag');
      const historyLag = await alertOf('all', 'cluster:history-consumer', 'consumer-lag');
      expect(historyLag.summary).toMatch(/^the history consumer is \d+ records behind \(over 2000\)$/);
      await alertOf('resolved', 'cluster:history-consumer', 'consumer-lag');
    } finally {
      await history.kill('SIGTERM');
    }
  });
});
