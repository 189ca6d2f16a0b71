#!/usr/bin/env node
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ZnodeLayout } from '@nono/coordination';
import { type EventData, SystemClock, createEvent } from '@nono/domain';
import {
  EnvReader,
  createLogger,
  createMetricsRegistry,
  exitOnSignals,
  packageVersion,
  printCommandLineAnswer,
  startOpsServer,
} from '@nono/runtime';
import { createKafka, searchOutcomes, topicNames } from '@nono/events';
import { loadSchedulerConfig } from './config.js';
import { Coordinator } from './cluster/coordinator.js';
import { ZkTaskPauser } from './cluster/task-pauser.js';
import { Engine } from './engine/engine.js';
import { EventSpool } from './events/event-spool.js';
import { ThreadedPublisher } from './events/threaded-publisher.js';
import { FireFence } from './fence/fire-fence.js';
import { HealthPublisher } from './groups/health-publisher.js';
import { MemberHealth } from './groups/member-health.js';
import { MemberProber } from './groups/member-prober.js';
import { MemberRouter } from './groups/member-router.js';
import { WorkerGroupBook } from './groups/worker-group-book.js';
import { ConcludedExecutions } from './lost/concluded-executions.js';
import { OpenExecutions, ZkOpenExecutionsStore } from './lost/open-executions.js';
import { createSchedulerMetrics } from './metrics.js';
import { WebhookSecretBook } from './runner/webhook-secret-book.js';
import { CalendarBook } from './cluster/calendar-book.js';
import { CancelRequests } from './cancels/cancel-requests.js';
import { BackfillRunner } from './backfills/backfill-runner.js';
import { ExecutionEvents } from './events/execution-events.js';
import { HttpInvoker } from './runner/invoker.js';
import { ZkTriggerStore } from './triggers/trigger-inbox.js';

const PACKAGE_JSON = new URL('../package.json', import.meta.url);

const USAGE = `Usage: nono-scheduler   run a scheduler: it joins the cluster, fires the tasks it is assigned

Settings are environment variables (NONO_SCHEDULER_ID, NONO_SCHEDULER_PORT, NONO_ZK_CONNECT, ...):
see services/scheduler/README.md.

Options:
  -h, --help      this text
  -V, --version   the version
`;

async function main(): Promise<void> {
  const answered = printCommandLineAnswer(process.argv.slice(2), {
    name: 'nono-scheduler',
    packageJson: PACKAGE_JSON,
    usage: USAGE,
  });
  if (answered !== undefined) {
    process.exitCode = answered;
    return;
  }
  const version = packageVersion(PACKAGE_JSON);
  const config = loadSchedulerConfig(new EnvReader(process.env), process.pid);
  const log = createLogger('scheduler', config.logLevel, { schedulerId: config.schedulerId });
  const clock = new SystemClock();
  const registry = createMetricsRegistry('scheduler');
  const metrics = createSchedulerMetrics(registry);
  const layout = new ZnodeLayout(config.zkRoot);
  const source = `nono://scheduler/${config.schedulerId}`;

  // The Kafka producer runs on its own thread (it creates the topics on first use).
  const publisher = new ThreadedPublisher(
    {
      brokers: config.kafkaBrokers,
      kafkaSecurity: config.kafkaSecurity,
      clientId: `nono-scheduler-${config.schedulerId}`,
      topicPrefix: config.topicPrefix,
      kafkaReplication: config.kafkaReplication,
      logLevel: config.logLevel,
      schedulerId: config.schedulerId,
    },
    log,
  );
  // Claiming needs a live session and a spool that can make events durable (fail closed).
  let sessionConnected = false;
  const applyActive = (): void => engine.setActive(sessionConnected && spool.writable);
  const spool = new EventSpool({
    dir: config.spoolDir,
    flushIntervalMs: config.spoolSyncIntervalMs,
    publisher,
    log,
    onDelivered: (count) => metrics.eventsDelivered.inc(count),
    onWritable: (writable) => {
      metrics.spoolWritable.set(writable ? 1 : 0);
      if (!writable) metrics.spoolWriteFailures.inc();
      applyActive();
    },
  });
  metrics.spoolWritable.set(1);
  const recovered = await spool.open();
  if (recovered > 0) log.info({ recovered }, 'delivering events spooled by a previous run');

  const ops = await startOpsServer({
    host: config.host,
    port: config.port,
    registry,
    readiness: () => ({
      ready: coordinator.ready && spool.writable,
      detail: {
        zookeeper: coordinator.sessionState,
        leader: coordinator.isLeader,
        ownedTasks: engine.ownedCount,
        engine: engine.state,
        behindMs: engine.behindMs,
        spoolDepth: spool.depth,
        spool: spool.writable ? 'writable' : `not writable: ${spool.writeError ?? 'unknown error'}`,
        kafka: spool.kafkaHealthy ? 'up' : 'unreachable',
      },
    }),
  });
  // This process, as opposed to an earlier one with the same scheduler id: stamped on its
  // claims, its open-executions record and its member node.
  const incarnation = randomBytes(6).toString('hex');
  const member = {
    id: config.schedulerId,
    incarnation,
    host: hostname(),
    pid: process.pid,
    version,
    startedAt: new Date(clock.now()).toISOString(),
    opsUrl: ops.url,
  };
  const coordinator = new Coordinator({
    connect: config.zkConnect,
    sessionTimeoutMs: config.zkSessionTimeoutMs,
    zkAuth: config.zkAuth,
    targetPolicy: config.targetPolicy,
    openExecutionsRetentionMs: config.openExecutionsRetentionMs,
    layout,
    member,
    log,
  });
  const fence = new FireFence(() => coordinator.zk, layout);
  const webhookSecrets = new WebhookSecretBook({
    zk: () => coordinator.zk,
    layout,
    key: config.secretsKey,
    defaults: config.webhookSecrets,
    log,
  });
  const calendars = new CalendarBook({ zk: () => coordinator.zk, layout, log });
  coordinator.on('session', (state) => {
    if (state === 'connected') {
      void webhookSecrets.onSessionConnected();
      void calendars.onSessionConnected();
    }
  });
  const workerGroups = new WorkerGroupBook({
    zk: () => coordinator.zk,
    layout,
    policy: config.targetPolicy,
    log,
  });
  const memberHealth = new MemberHealth(() => healthPublisher.changed());
  const healthPublisher = new HealthPublisher({
    zk: () => coordinator.zk,
    layout,
    schedulerId: config.schedulerId,
    health: memberHealth,
    clock,
    log,
  });
  const memberProber = new MemberProber({
    targets: (now) => workerGroups.probeTargets(now),
    health: memberHealth,
    clock,
    log,
  });
  memberProber.start();
  coordinator.on('session', (state) => {
    if (state !== 'connected') return;
    void workerGroups.onSessionConnected();
    // A new session lost the ephemeral health node: write it again.
    healthPublisher.changed();
  });
  // The leader removes the records of lapsed member leases (readers already ignore them).
  setInterval(() => {
    if (coordinator.isLeader)
      workerGroups
        .sweepLapsed(clock.now())
        .catch((error: unknown) => log.warn({ err: error }, 'member leases: sweep failed; will retry'));
  }, 5_000).unref();
  const invoker = new HttpInvoker({
    maxInFlight: config.maxInFlight,
    maxInFlightPerHost: config.maxInFlightPerHost,
    now: () => clock.now(),
    signingKeys: webhookSecrets.keysFor,
  });
  const openExecutions = new OpenExecutions({
    schedulerId: config.schedulerId,
    store: new ZkOpenExecutionsStore(() => coordinator.zk, layout),
    incarnation,
    clock,
    log,
    flushIntervalMs: config.openExecutionsFlushMs,
    eventsDurable: () => spool.flush(),
  });
  const outcomesKafka = createKafka({
    brokers: config.kafkaBrokers,
    security: config.kafkaSecurity,
    clientId: `nono-scheduler-${config.schedulerId}-outcomes`,
    log: (level, message, extra) => log[level](extra, message),
  });
  const engine = new Engine({
    schedulerId: config.schedulerId,
    clock,
    fence,
    invoker,
    router: new MemberRouter({ directory: workerGroups, health: memberHealth }),
    events: spool,
    openExecutions,
    log,
    metrics,
    misfireThresholdMs: config.misfireThresholdMs,
    lostGraceMs: config.lostGraceMs,
    finishFlushDelayMs: config.finishFlushDelayMs,
    claimLeadMs: config.claimLeadMs,
    triggers: new ZkTriggerStore(() => coordinator.zk, layout),
    liveIncarnation: (schedulerId) => coordinator.liveIncarnation(schedulerId),
    excludedBy: calendars.excludedBy,
    pauser: new ZkTaskPauser({
      zk: () => coordinator.zk,
      layout,
      clock,
      log,
      schedulerId: config.schedulerId,
      source,
    }),
    concluded: new ConcludedExecutions({
      log,
      // Its own client on this thread: searches are rare (a takeover) and must not queue behind
      // the publisher's sends.
      search: (queries) =>
        searchOutcomes(outcomesKafka, topicNames(config.topicPrefix).executions, queries, {
          timeoutMs: 10_000,
          groupPrefix: `nono-scheduler-outcomes-${config.schedulerId}`,
        }),
    }),
  });

  const clusterEvent = <
    T extends 'nono.scheduler.joined.v1' | 'nono.scheduler.left.v1' | 'nono.ownership.changed.v1',
  >(
    type: T,
    data: EventData<T>,
  ): void =>
    spool.append([
      createEvent(type, data, { id: randomUUID(), source, subject: config.schedulerId, time: clock.now() }),
    ]);
  setInterval(() => {
    metrics.spoolDepth.set(spool.depth);
    metrics.behind.set(engine.behindMs / 1000);
  }, 1_000).unref();

  let owned = new Set<string>();
  coordinator.on('session', (state) => {
    metrics.zkSession.set(state === 'connected' ? 1 : state === 'suspended' ? 0.5 : 0);
    sessionConnected = state === 'connected';
    applyActive();
    if (state === 'connected')
      clusterEvent('nono.scheduler.joined.v1', {
        schedulerId: member.id,
        host: member.host,
        pid: member.pid,
        version,
        startedAt: member.startedAt,
      });
  });
  coordinator.on('leadership', (leader) => metrics.isLeader.set(leader ? 1 : 0));
  coordinator.on('owned', (taskIds) => {
    const acquired = [...taskIds].filter((id) => !owned.has(id));
    const released = [...owned].filter((id) => !taskIds.has(id));
    owned = new Set(taskIds);
    engine.setOwned(taskIds);
    log.info(
      { owned: taskIds.size, acquired: acquired.length, released: released.length },
      'ownership changed',
    );
    clusterEvent('nono.ownership.changed.v1', {
      schedulerId: member.id,
      acquired,
      released,
      ownedCount: taskIds.size,
      members: [...coordinator.members],
    });
  });
  coordinator.on('task', (taskId, definition) => {
    if (definition.kind === 'invalid')
      log.error({ taskId, problem: definition.problem }, 'task definition in ZooKeeper is invalid: skipped');
    engine.updateTask(taskId, definition.kind === 'valid' ? definition.task : undefined);
  });
  coordinator.on('triggers', (names) => engine.handleTriggers(names));
  const cancels = new CancelRequests({
    zk: () => coordinator.zk,
    layout,
    log,
    cancel: (taskId, executionId, operator) => engine.cancelRunning(taskId, executionId, operator),
    now: () => clock.now(),
  });
  coordinator.on('cancels', (names) => cancels.handle(names));
  const backfills = new BackfillRunner({
    zk: () => coordinator.zk,
    layout,
    schedulerId: config.schedulerId,
    incarnation,
    clock,
    log,
    events: spool,
    facts: new ExecutionEvents(config.schedulerId, clock),
    engine,
    liveIncarnation: (schedulerId) => coordinator.liveIncarnation(schedulerId),
  });
  coordinator.on('backfills', (names) => backfills.handle(names));
  coordinator.on('owned', () => backfills.refresh());

  await coordinator.start();
  log.info({ ops: ops.url, zk: config.zkConnect, root: config.zkRoot }, 'scheduler started');

  exitOnSignals(
    async () => {
      const backfillsStopped = backfills.stop();
      await engine.drain(config.shutdownDeadlineMs);
      await Promise.race([backfillsStopped, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      // Last, so it says which executions ended: the next owners take those off without reporting them lost.
      await openExecutions.stop();
      clusterEvent('nono.scheduler.left.v1', {
        schedulerId: member.id,
        reason: 'shutdown',
        detectedBy: member.id,
      });
      const undelivered = await spool.close(Math.max(1_000, config.shutdownDeadlineMs / 2));
      if (undelivered > 0) log.warn({ undelivered }, 'events stay in the spool for the next start');
      memberProber.stop();
      cancels.stop();
      healthPublisher.stop();
      coordinator.stop();
      await Promise.allSettled([publisher.close(), invoker.close(), ops.app.close()]);
    },
    { log, deadlineMs: config.shutdownDeadlineMs + 15_000 },
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`nono-scheduler: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
