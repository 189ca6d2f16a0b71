import { type NonoEvent } from '@nono/domain';
import { EventPublisher, createKafka, ensureTopics, topicNames } from '@nono/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  catchUpTasks,
  collectEvents,
  defineTasks,
  startHistoryProcess,
  startTestCluster,
  untilEveryTaskFires,
} from '../support/cluster.js';
import { firedEvent } from '../support/events.js';
import { eventually, isolateOn } from '../support/fixtures.js';
import { type HaInfra, startHaInfra } from '../support/ha-infra.js';
import { doubledOccurrences, ledgerTotals, settledLedgers } from '../support/ledger.js';

/**
 * nono on the topology production runs it on: a ZooKeeper ensemble of three servers and a
 * Kafka cluster of three KRaft nodes (infra/'s `--ha`, started here in a run dir of its own),
 * and the faults that topology brings. Each test says what it measured on one line
 * (`[faults] …`); docs/DEPLOYMENT.md quotes the latest.
 */
const say = (line: string): void => void process.stdout.write(`[faults] ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a 3-server ZooKeeper ensemble and a 3-node Kafka cluster', () => {
  let infra: HaInfra;
  beforeAll(async () => {
    const t0 = Date.now();
    infra = await startHaInfra('faults');
    say(
      `HA infra up in ${Date.now() - t0} ms: ${infra.zkConnect} / ${infra.kafkaBrokers} (log ${infra.logFile})`,
    );
  });
  afterAll(async () => {
    await infra?.down();
  });

  it('creates nono’s topics with three replicas and min.insync.replicas 2, and reports an older topic with one replica', async () => {
    const iso = await isolateOn('ha-topics', infra.zkConnect, infra.kafkaBrokers);
    const logged: string[] = [];
    const kafka = createKafka({
      brokers: iso.kafkaBrokers,
      clientId: `topics-${iso.name}`,
      log: (level, message) => void logged.push(`${level} ${message}`),
    });
    const report = await ensureTopics(kafka, iso.topics);
    expect(report).toMatchObject({ brokers: 3, replicationFactor: 3, minInsyncReplicas: 2, shortfalls: [] });

    const admin = kafka.admin();
    await admin.connect();
    try {
      const names = Object.values(iso.topics);
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      for (const topic of metadata.topics)
        for (const partition of topic.partitions) {
          expect(partition.replicas, `${topic.name}/${partition.partitionId}`).toHaveLength(3);
          expect(new Set(partition.replicas).size).toBe(3);
        }
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: names.map((name) => ({
          type: 2, // ConfigResourceTypes.TOPIC
          name,
          configNames: ['min.insync.replicas'],
        })),
      });
      for (const resource of configs.resources)
        expect(resource.configEntries[0]?.configValue, resource.resourceName).toBe('2');

      // A topic someone created with one replica (before the cluster grew, say): reported, not accepted.
      const older = topicNames(`${iso.topicPrefix}older.`);
      // (ensureTopics waits for its leaders: kafkajs's own wait fails on a KRaft broker that has not seen it yet)
      await admin.createTopics({
        waitForLeaders: false,
        topics: [{ topic: older.executions, numPartitions: 6, replicationFactor: 1 }],
      });
      const again = await ensureTopics(kafka, older);
      expect(again.shortfalls.map((s) => [s.topic, s.replicationFactor])).toEqual([[older.executions, 1]]);
      // (kafkajs logs errors of its own while the new topic propagates: "does not host this topic-partition")
      expect(logged.filter((line) => line.includes('has replication factor'))).toEqual([
        expect.stringContaining(`error kafka: topic ${older.executions} has replication factor 1`),
      ]);
    } finally {
      await admin.disconnect();
    }
  });

  it('SIGKILL of the broker leading a partition while an EventPublisher publishes, and its restart: nothing lost, nothing doubled', async () => {
    const iso = await isolateOn('ha-leader-kill', infra.zkConnect, infra.kafkaBrokers);
    // kafkajs logs every refused connection to the dead broker: kept out of the test's output.
    const kafka = createKafka({
      brokers: iso.kafkaBrokers,
      clientId: `publisher-${iso.name}`,
      log: () => undefined,
    });
    await ensureTopics(kafka, iso.topics);
    const admin = kafka.admin();
    await admin.connect();
    const publisher = new EventPublisher(kafka, iso.topics);
    try {
      const leaders = async (): Promise<number[]> =>
        (await admin.fetchTopicMetadata({ topics: [iso.topics.executions] })).topics[0]?.partitions
          .sort((a, b) => a.partitionId - b.partitionId)
          .map((partition) => partition.leader) ?? [];
      const victimNode = (await leaders())[0];
      if (victimNode === undefined) throw new Error('no leader for partition 0');
      const victim = `kafka-${victimNode}`;

      // As the scheduler's spool sends: a queue in order, batches of at most 100; a batch that
      // fails is sent again (with whatever was queued since), so a failure could double events.
      const TASKS = 24;
      const sent: NonoEvent[] = [];
      const pending: NonoEvent[] = [];
      let producing = true;
      const started = Date.now();
      let failures = 0;
      let slowestMs = 0;
      const produce = (async () => {
        for (let n = 0; producing; n++) {
          for (let task = 0; task < TASKS; task += 6) {
            const event = firedEvent(`leader-kill-${(n + task) % TASKS}`, n);
            sent.push(event);
            pending.push(event);
          }
          await sleep(20);
        }
      })();
      const deliver = (async () => {
        while (producing || pending.length > 0) {
          const batch = pending.slice(0, 100);
          if (batch.length === 0) {
            await sleep(10);
            continue;
          }
          const t0 = Date.now();
          try {
            await publisher.publish(batch);
            pending.splice(0, batch.length);
          } catch (error) {
            failures++;
            say(
              `publish failed ${Date.now() - started} ms into the run, after ${Date.now() - t0} ms ` +
                `(${(error as Error).message}); sending again`,
            );
            await sleep(200);
          }
          slowestMs = Math.max(slowestMs, Date.now() - t0);
        }
      })();

      await sleep(5_000);
      const killedAt = Date.now();
      say(`killing ${victim} ${killedAt - started} ms into the run`);
      await infra.signal(victim, 'SIGKILL');
      const movedAt = await eventually(
        async () => ((await leaders())[0] !== victimNode ? Date.now() : undefined),
        60_000,
        'partition 0 to get a new leader',
      );
      await sleep(Math.max(0, killedAt + 30_000 - Date.now()));
      const restartedAt = Date.now();
      say(`restarting ${victim} ${restartedAt - started} ms into the run`);
      expect(await infra.restart()).toEqual([victim]);
      const restartMs = Date.now() - restartedAt;
      await sleep(10_000);
      producing = false;
      await Promise.all([produce, deliver]);

      // The restarted broker catches up and is back in every in-sync replica set.
      const rejoinedAt = await eventually(
        async () => {
          const metadata = await admin.fetchTopicMetadata({ topics: [iso.topics.executions] });
          const partitions = metadata.topics[0]?.partitions ?? [];
          return partitions.length > 0 && partitions.every((partition) => partition.isr.length === 3)
            ? Date.now()
            : undefined;
        },
        60_000,
        'the restarted broker back in sync',
      );

      const log = await collectEvents(iso, iso.topics.executions);
      try {
        await eventually(
          () => (log.events.length >= sent.length ? true : undefined),
          60_000,
          'every event on the topic',
        );
        await sleep(2_000); // a doubled event would arrive after the last one
        const counts = new Map<string, number>();
        for (const event of log.events) counts.set(event.id, (counts.get(event.id) ?? 0) + 1);
        const lost = sent.filter((event) => !counts.has(event.id));
        const doubled = [...counts].filter(([, n]) => n > 1);
        say(
          `leader kill: ${sent.length} events, ${failures} failed publishes, slowest publish ${slowestMs} ms, ` +
            `leader moved after ${movedAt - killedAt} ms, restart took ${restartMs} ms, back in sync ` +
            `${rejoinedAt - restartedAt} ms after the restart began; lost ${lost.length}, doubled ${doubled.length}`,
        );
        expect(lost.map((event) => event.id)).toEqual([]);
        expect(doubled).toEqual([]);
        expect(log.events).toHaveLength(sent.length);
        // The publisher rode the failover out: no send gave up.
        expect(failures).toBe(0);
      } finally {
        await log.stop();
      }
    } finally {
      await publisher.disconnect();
      await admin.disconnect();
    }
  });

  it('SIGKILL of the ZooKeeper leader while schedulers fire, and its restart: each scheduler keeps its session or rejoins, no instant is fired twice, every one is accounted for', async () => {
    const iso = await isolateOn('ha-zk-leader', infra.zkConnect, infra.kafkaBrokers);
    // The production session timeout (the tests' usual 4 s is for fast takeovers).
    const cluster = await startTestCluster(iso, {
      schedulers: ['z1', 'z2'],
      partitions: 3,
      env: { NONO_ZK_SESSION_TIMEOUT_MS: '10000' },
    });
    const history = await startHistoryProcess(iso);
    try {
      const { zk, worker, schedulers } = cluster;
      const TASKS = 40;
      const tasks = catchUpTasks('zl', TASKS, worker.url, { timeoutMs: 2_000 });
      await defineTasks(iso, zk, tasks);
      await untilEveryTaskFires(worker, tasks, 60_000);

      const WINDOW_MS = 40_000;
      const windowStart = Math.ceil((Date.now() + 1_000) / 1000) * 1000;
      const windowEnd = windowStart + WINDOW_MS;
      const at = (offsetMs: number): Promise<void> => sleep(Math.max(0, windowStart + offsetMs - Date.now()));

      await at(5_000);
      const leader = await infra.zooKeeperLeader();
      const killedAt = Date.now();
      await infra.signal(leader, 'SIGKILL');
      const newLeader = await eventually(
        async () => {
          const name = await infra.zooKeeperLeader().catch(() => undefined);
          return name !== undefined && name !== leader ? name : undefined;
        },
        60_000,
        'a new ZooKeeper leader',
      );
      const electedMs = Date.now() - killedAt;
      await at(25_000);
      expect(await infra.restart()).toEqual([leader]);
      await at(WINDOW_MS + 3_000);

      const calls = (await worker.calls()).filter(
        (c) => Date.parse(c.nominal) >= windowStart && Date.parse(c.nominal) < windowEnd,
      );
      expect(doubledOccurrences(calls), 'instants called twice').toEqual([]);

      const ledgers = await settledLedgers(
        history,
        tasks,
        { start: windowStart, end: windowEnd },
        (l) => l.summary['pending'] === 0 && l.summary['unaccounted'] === 0,
        windowEnd + 60_000,
      );
      const totals = ledgerTotals(ledgers);

      // What each scheduler's session went through (its log), and whether it is ready again.
      const sessions = await Promise.all(
        schedulers.map(async (scheduler) => {
          const lines = scheduler.lines();
          const count = (pattern: RegExp): number => lines.filter((line) => pattern.test(line)).length;
          const ready = (await fetch(`${scheduler.opsUrl}/readyz`).catch(() => undefined))?.status === 200;
          return {
            id: scheduler.id,
            suspended: count(/ZooKeeper connection suspended/),
            resumed: count(/ZooKeeper connection restored \(same session\)/),
            expired: count(/ZooKeeper session expired/),
            ready,
          };
        }),
      );
      say(
        `ZooKeeper leader kill: ${leader} killed, ${newLeader} elected after ${electedMs} ms (as seen by polling srvr); ` +
          `sessions ${JSON.stringify(sessions)}; ledger totals ${JSON.stringify(totals)}; ` +
          `${calls.length} calls in the window`,
      );
      expect(totals['due']).toBe(TASKS * (WINDOW_MS / 1000));
      expect(totals['doubled']).toBe(0);
      expect(totals['stale']).toBe(0);
      expect(totals['unaccounted']).toBe(0);
      expect(totals['pending']).toBe(0);
      for (const session of sessions) {
        expect(session.ready, `${session.id} ready again`).toBe(true);
        // Kept its session (suspended, then restored) or lost it and rejoined: either way it came back.
        expect(session.suspended + session.expired, `${session.id} heard of the election`).toBeGreaterThan(0);
      }
    } finally {
      await history.kill('SIGTERM');
      await cluster.stop();
    }
  });
});
