import { type Clock } from '@nono/domain';
import { createKafka, ensureTopics, topicNames } from '@nono/events';
import { type Logger, createMetricsRegistry } from '@nono/runtime';
import { type FastifyInstance } from 'fastify';
import { type HistoryConfig } from './config.js';
import { DEFAULT_LEDGER, buildHttpApp } from './http/http-app.js';
import { KafkaProjector } from './projector/kafka-projector.js';
import { LagTracker } from './projector/lag-tracker.js';
import { projectedTopics } from './projector/projected-topics.js';
import { ProjectorMetrics } from './projector/projector-metrics.js';
import { LiveRebuilder } from './rebuild/live-rebuilder.js';
import { LiveDatabase } from './store/live-database.js';
import { RetentionSweeper } from './store/retention-sweeper.js';

export interface RunningHistory {
  readonly url: string;
  readonly app: FastifyInstance;
  /** The current database (a rebuild replaces it). */
  readonly database: LiveDatabase;
  /** Stops the API, lets the batch in progress commit, then closes the database. */
  stop(): Promise<void>;
}

/** Wires the real adapters: SQLite, the Kafka projector, the HTTP API, live rebuilds and retention. */
export async function startHistory(
  config: HistoryConfig,
  deps: { clock: Clock; log: Logger },
): Promise<RunningHistory> {
  const { clock, log } = deps;
  const database = new LiveDatabase(config.dbFile, clock);
  const registry = createMetricsRegistry('history');
  const metrics = new ProjectorMetrics(registry);
  const lag = new LagTracker(database, metrics);
  const topics = topicNames(config.common.topicPrefix);
  const kafka = createKafka({
    brokers: config.common.kafkaBrokers,
    security: config.common.kafkaSecurity,
    clientId: `nono-history-${process.pid}`,
    log: (level, message, extra) => log[level](extra, message),
  });
  await ensureTopics(kafka, topics, config.common.kafkaReplication);
  const topicList = projectedTopics(topics);
  const projector = new KafkaProjector({
    kafka,
    groupId: config.groupId,
    topics: topicList,
    database,
    lag,
    metrics,
    clock,
    log,
  });
  const rebuilder = new LiveRebuilder({
    kafka,
    brokers: config.common.kafkaBrokers,
    kafkaSecurity: config.common.kafkaSecurity,
    topics: topicList,
    database,
    projector,
    clock,
    log,
  });
  const app = buildHttpApp({
    queries: () => database.current.queries,
    rebuilder,
    adminTokenHashes: config.adminTokenHashes,
    readTokenHashes: config.readTokenHashes,
    ledger: {
      clock,
      rules: {
        ...DEFAULT_LEDGER.rules,
        pendingMs: config.ledgerPendingMs,
        transitionMs: config.ledgerTransitionMs,
      },
      maxWindowMs: DEFAULT_LEDGER.maxWindowMs,
    },
    registry,
    readiness: () => {
      const snapshot = lag.snapshot();
      const ready = snapshot.known && snapshot.total <= config.readyLag;
      return {
        ready,
        detail: {
          lag: snapshot.total,
          lagKnown: snapshot.known,
          readyLag: config.readyLag,
          ...(config.replica === undefined ? {} : { replica: config.replica }),
        },
      };
    },
    logger: {
      level: config.common.logLevel === 'trace' || config.common.logLevel === 'debug' ? 'info' : 'warn',
    },
  });
  const sweeper = new RetentionSweeper(() => database.current.open.db, clock, log, {
    retainSuccessDays: config.retainSuccessDays,
    retainFailureDays: config.retainFailureDays,
    intervalMs: config.retentionIntervalMs,
  });
  await projector.start();
  const url = await app.listen({ host: config.host, port: config.port });
  sweeper.start();
  log.info(
    { url, replica: config.replica, db: config.dbFile, groupId: config.groupId, topics },
    `history listening on ${url}`,
  );
  return {
    url,
    app,
    database,
    async stop() {
      sweeper.stop();
      await rebuilder.stop();
      await app.close();
      await projector.stop();
      database.close();
    },
  };
}
