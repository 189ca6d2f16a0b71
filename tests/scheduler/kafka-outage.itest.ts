import { type ZkClient } from '@nono/coordination';
import { type NonoEvent } from '@nono/domain';
import { topicNames } from '@nono/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SchedulerProcess,
  buildTask,
  collectEvents,
  connectZk,
  putTask,
  startScheduler,
} from '../support/cluster.js';
import { type Isolation, createIsolatedTopics, eventually } from '../support/fixtures.js';
import { startPrivateInfra, type PrivateInfra } from '../support/private-infra.js';
import { startTestWorker } from '../support/processes.js';

/**
 * Kafka stopped for 20 s while tasks fire, and the scheduler restarted during the outage:
 * firing goes on, events wait in the on-disk spool, and once Kafka is back every event
 * arrives, in order per task, each id once.
 */
const TASKS = 5;

describe('Kafka outage', () => {
  let infra: PrivateInfra;
  let iso: Isolation;
  let zk: ZkClient;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let scheduler: SchedulerProcess;

  beforeAll(async () => {
    infra = await startPrivateInfra();
    const topicPrefix = 'outage.';
    iso = {
      name: 'outage',
      zkConnect: infra.zkConnect,
      zkServers: infra.zkConnect,
      kafkaBrokers: [infra.kafkaBrokers],
      topicPrefix,
      topics: topicNames(topicPrefix),
    };
    await createIsolatedTopics(iso, 3);
    zk = await connectZk(iso);
    worker = await startTestWorker();
  }, 240_000);

  afterAll(async () => {
    await scheduler?.kill('SIGTERM');
    await worker?.process.kill();
    zk?.close();
    await infra?.down();
  }, 120_000);

  it('keeps firing, spools on disk across a restart, and delivers everything in order when Kafka returns', async () => {
    scheduler = await startScheduler(iso, 'k1');
    const spoolDir = scheduler.spoolDir;
    for (let i = 0; i < TASKS; i++)
      await putTask(
        zk,
        buildTask(`k${i}`, {
          schedule: { kind: 'interval', everyMs: 1000 },
          target: { url: `${worker.url}/ok/k${i}` },
        }),
      );
    await eventually(
      async () => ((await worker.calls()).length >= TASKS * 2 ? true : undefined),
      20_000,
      'firing to start',
    );

    await infra.stopKafka();
    const outageStart = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    // A graceful restart while Kafka is away: undelivered events must survive in the spool.
    await scheduler.kill('SIGTERM');
    scheduler = await startScheduler(iso, 'k1', { NONO_SCHEDULER_SPOOL_DIR: spoolDir });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageStart + 20_000 - Date.now())));
    const duringOutage = (await worker.calls()).filter(
      (c) => c.receivedAt > outageStart + 1_000 && c.receivedAt < outageStart + 19_000,
    );
    expect(duringOutage.length).toBeGreaterThan(TASKS * 10); // it kept firing

    await infra.startKafka();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const calls = await worker.calls();
    const log = await collectEvents(iso, iso.topics.executions);
    try {
      const executionIds = new Set(calls.map((c) => c.executionId));
      const idsOf = (type: string): Set<string> =>
        new Set(
          log.events
            .filter((e) => e.type === type)
            .map((e) => (e.data as { executionId: string }).executionId),
        );
      await eventually(
        () => {
          const succeeded = idsOf('nono.execution.succeeded.v1');
          return [...executionIds].every((id) => succeeded.has(id)) ? true : undefined;
        },
        60_000,
        'a succeeded event for every call the worker got',
      );
      const fired = idsOf('nono.execution.fired.v1');
      expect([...executionIds].filter((id) => !fired.has(id))).toEqual([]);

      expect(new Set(log.events.map((e) => e.id)).size).toBe(log.events.length);
      for (let i = 0; i < TASKS; i++) {
        const nominals = log.events
          .filter((e: NonoEvent) => e.subject === `k${i}` && e.type === 'nono.execution.fired.v1')
          .map((e) => Date.parse((e.data as { nominalTime: string }).nominalTime));
        expect(nominals, `k${i} in nominal order`).toEqual([...nominals].sort((a, b) => a - b));
      }
    } finally {
      await log.stop();
    }
  });
});
