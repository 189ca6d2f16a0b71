import { hostname } from 'node:os';
import { type Clock, type TimerHandle } from '@nono/domain';
import { EventPublisher, createKafka, ensureTopics, topicNames } from '@nono/events';
import { type Logger, createMetricsRegistry } from '@nono/runtime';
import { type FastifyInstance } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import { EmailChannelSender } from './channels/email-channel.js';
import { EventRelay } from './channels/event-relay.js';
import { HttpChannelSender } from './channels/http-channels.js';
import { NotificationDispatcher } from './channels/notification-dispatcher.js';
import { type AlertsConfig } from './config.js';
import { AlertConsumer } from './consumer/alert-consumer.js';
import { BatchEvaluator } from './consumer/batch-evaluator.js';
import { buildHttpApp } from './http/http-app.js';
import { AlertEngine } from './rules/alert-engine.js';
import { DeadManChecker } from './rules/dead-man-checker.js';
import { AlertStore } from './store/alert-store.js';
import { openDatabase } from './store/open-database.js';

export interface RunningAlerts {
  readonly url: string;
  readonly app: FastifyInstance;
  /** Stops the API, the checks and the consumer (the chunk in progress commits), drains nothing more, closes the database. */
  stop(): Promise<void>;
}

/** Wires the real adapters: SQLite, the Kafka consumer and publisher, the channels and the HTTP API. */
export async function startAlerts(
  config: AlertsConfig,
  deps: { clock: Clock; log: Logger },
): Promise<RunningAlerts> {
  const { clock, log } = deps;
  const open = openDatabase(config.dbFile);
  const store = new AlertStore(open);
  const registry = createMetricsRegistry('alerts');
  const evaluatedTotal = new Counter({
    name: 'nono_alerts_events_evaluated_total',
    help: 'Events evaluated against the rules, by topic',
    labelNames: ['topic'],
    registers: [registry],
  });
  const deadLettersTotal = new Counter({
    name: 'nono_alerts_dead_letters_total',
    help: 'Records that were not valid events',
    labelNames: ['topic'],
    registers: [registry],
  });
  const deliveriesTotal = new Counter({
    name: 'nono_alerts_deliveries_total',
    help: 'Notification attempts by channel kind and outcome (sent, retry, failed)',
    labelNames: ['channel', 'outcome'],
    registers: [registry],
  });
  const missedTotal = new Counter({
    name: 'nono_alerts_dead_man_missed_total',
    help: 'Due instants found without a succeeded execution past their grace',
    registers: [registry],
  });
  new Gauge({
    name: 'nono_alerts_notifications_pending',
    help: 'Notifications waiting for delivery',
    registers: [registry],
    collect() {
      this.set(store.countNotifications('pending'));
    },
  });

  const topics = topicNames(config.common.topicPrefix);
  const kafka = createKafka({
    brokers: config.common.kafkaBrokers,
    security: config.common.kafkaSecurity,
    clientId: `nono-alerts-${process.pid}`,
    log: (level, message, extra) => log[level](extra, message),
  });
  await ensureTopics(kafka, topics, config.common.kafkaReplication);
  const publisher = new EventPublisher(kafka, topics);
  const relay = new EventRelay({ store, publisher, clock, log });

  const engine = new AlertEngine({
    store,
    source: `nono://alerts/${hostname()}-${process.pid}`,
    transitionMs: config.transitionMs,
    onSkippedWindow: (ruleId, taskId, instants) =>
      log.warn({ ruleId, taskId, instants }, 'dead-man window skipped: too many due instants at once'),
  });
  const emailSender = new EmailChannelSender({
    smtpUrl: config.smtpUrl,
    from: config.mailFrom,
    timeoutMs: config.deliveryTimeoutMs,
  });
  const httpSender = new HttpChannelSender({ timeoutMs: config.deliveryTimeoutMs, now: () => clock.now() });
  const dispatcher = new NotificationDispatcher({
    store,
    senders: {
      webhook: httpSender,
      slack: httpSender,
      teams: httpSender,
      'google-chat': httpSender,
      email: emailSender,
    },
    retry: {
      initialMs: config.retryInitialMs,
      maxMs: config.retryMaxMs,
      giveUpAfterMs: config.giveUpAfterMs,
    },
    clock,
    log,
    onOutcome: (channel, outcome) => deliveriesTotal.inc({ channel, outcome }),
  });
  const afterCommit = (): void => {
    relay.kick();
    dispatcher.kick();
  };
  const consumer = new AlertConsumer({
    kafka,
    groupId: config.groupId,
    topics: [topics.tasks, topics.executions, topics.cluster],
    executionsTopic: topics.executions,
    store,
    evaluator: new BatchEvaluator(store, engine, clock),
    log,
    onCommitted: afterCommit,
    onEvaluated: (topic, evaluated, deadLettered) => {
      evaluatedTotal.inc({ topic }, evaluated);
      if (deadLettered > 0) deadLettersTotal.inc({ topic }, deadLettered);
    },
  });
  const deadMen = new DeadManChecker({
    engine,
    caughtUp: () => consumer.caughtUp(),
    clock,
    log,
    intervalMs: config.deadManCheckMs,
    onChecked: (missed) => {
      if (missed === 0) return;
      missedTotal.inc(missed);
      afterCommit();
    },
    checkCluster: async () => {
      const wanted = engine.lagsWanted();
      const [alertsLag, historyLag] = await Promise.all([
        wanted.has('alerts') ? consumer.lag() : undefined,
        wanted.has('history') ? historyConsumerLag(config.historyUrl, log) : undefined,
      ]);
      const judged = engine.checkCluster(clock.now(), {
        ...(alertsLag === undefined ? {} : { alerts: alertsLag }),
        ...(historyLag === undefined ? {} : { history: historyLag }),
      });
      if (judged) afterCommit();
    },
  });
  const app = buildHttpApp({
    store,
    engine,
    clock,
    checkChannelUrl: (url) => config.targetPolicy.check(url, 'url')[0]?.message,
    registry,
    readiness: () => {
      const behindSince = deadMen.behindSince;
      return {
        ready: behindSince === undefined,
        detail: { behindMs: behindSince === undefined ? 0 : clock.now() - behindSince },
      };
    },
  });
  // Operators' transitions (ack, silence, rule changes) have events and notifications too.
  app.addHook('onResponse', async (request) => {
    if (request.method !== 'GET') afterCommit();
  });

  const DAY_MS = 86_400_000;
  let housekeeping: TimerHandle | undefined;
  const keepTidy = (): void => {
    try {
      store.forgetOld(clock.now(), { dedupeMs: 7 * DAY_MS, successMs: 8 * DAY_MS, deliveredMs: 30 * DAY_MS });
    } catch (error) {
      log.warn({ err: error }, 'alerts housekeeping failed: will try again');
    }
    housekeeping = clock.setTimer(keepTidy, 3_600_000);
  };
  housekeeping = clock.setTimer(keepTidy, 60_000);

  // What a previous process decided but did not deliver goes out first.
  afterCommit();
  await consumer.start();
  deadMen.start();
  dispatcher.start();
  const url = await app.listen({ host: config.host, port: config.port });
  log.info({ url, db: config.dbFile, groupId: config.groupId }, `alerts listening on ${url}`);
  return {
    url,
    app,
    async stop() {
      if (housekeeping !== undefined) clock.clearTimer(housekeeping);
      await app.close();
      await deadMen.stop();
      await consumer.stop();
      await dispatcher.stop();
      await relay.stop();
      await publisher.disconnect();
      emailSender.close();
      open.close();
    },
  };
}

/**
 * History's consumer lag as its /readyz reports it (`lag`, when `lagKnown`); undefined when
 * history does not answer within 2 s or does not know its lag yet: no judgement then.
 */
async function historyConsumerLag(historyUrl: string, log: Logger): Promise<number | undefined> {
  try {
    const response = await fetch(`${historyUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { lag?: unknown; lagKnown?: unknown };
    return body.lagKnown === true && typeof body.lag === 'number' ? body.lag : undefined;
  } catch (error) {
    log.debug({ err: error, historyUrl }, 'history readiness unknown: its lag is not judged');
    return undefined;
  }
}
