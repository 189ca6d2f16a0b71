#!/usr/bin/env node
import { hostname } from 'node:os';
import { ZkClient, ZkOutbox, ZnodeLayout, outboxRoot } from '@nono/coordination';
import { SystemClock } from '@nono/domain';
import { ZkBackfills } from './backfills/zk-backfills.js';
import { ZkCalendars } from './calendars/zk-calendars.js';
import { EventPublisher, createKafka, ensureTopics, topicNames } from '@nono/events';
import {
  EnvReader,
  createLogger,
  createMetricsRegistry,
  exitOnSignals,
  printCommandLineAnswer,
} from '@nono/runtime';
import { buildApp } from './app.js';
import { OutboxRelay } from './audit/outbox-relay.js';
import { hashToken } from './auth/token-registry.js';
import { ZkApiTokens } from './auth/zk-api-tokens.js';
import { ZkClusterView } from './cluster/cluster-view.js';
import { ZkWorkerGroupStore } from './groups/worker-group-store.js';
import { loadApiConfig } from './config.js';
import { UndiciHistoryClient } from './history/history-client.js';
import { HistoryReplicas } from './history/history-replicas.js';
import { UndiciAlertsClient } from './routes/alert-routes.js';
import { kafkaClusterProbe } from './status/kafka-probe.js';
import { ZkTaskStore } from './tasks/zk-task-store.js';
import { ZkWebhookSecrets } from './webhook-secrets/zk-webhook-secrets.js';

const PACKAGE_JSON = new URL('../package.json', import.meta.url);

const USAGE = `Usage: nono-api                      start the REST API (/api/v1) and the web UI
       nono-api hash-token <token>   print the SHA-256 of a token, for NONO_API_TOKENS

Settings are environment variables (NONO_API_PORT, NONO_API_TOKENS, NONO_ZK_CONNECT, ...):
see services/api/README.md and the README's Configuration table.

Options:
  -h, --help      this text
  -V, --version   the version
`;

const HASH_TOKEN_USAGE = `Usage: nono-api hash-token <token>

Prints the SHA-256 (hex) of <token>: put it in NONO_API_TOKENS as role:<hash>.
A token that starts with "-" goes after "--": nono-api hash-token -- -abc
`;

/**
 * The composition root: the only file that reads process.env. `nono-api hash-token <t>`
 * prints the SHA-256 to put in NONO_API_TOKENS; no argument starts the server.
 */
async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === 'hash-token') {
    const args = argv.slice(1);
    const answered = printCommandLineAnswer(args, {
      name: 'nono-api hash-token',
      packageJson: PACKAGE_JSON,
      usage: HASH_TOKEN_USAGE,
      takesArguments: true,
    });
    if (answered !== undefined) {
      process.exitCode = answered;
      return;
    }
    const token = args[0] === '--' ? args[1] : args[0];
    if (token === undefined || token === '') {
      process.stderr.write(HASH_TOKEN_USAGE);
      process.exitCode = 2;
      return;
    }
    process.stdout.write(`${hashToken(token)}\n`);
    return;
  }
  const answered = printCommandLineAnswer(argv, {
    name: 'nono-api',
    packageJson: PACKAGE_JSON,
    usage: USAGE,
  });
  if (answered !== undefined) {
    process.exitCode = answered;
    return;
  }
  const config = loadApiConfig(new EnvReader(process.env));
  const log = createLogger('api', config.logLevel);
  if (config.tokens.length === 0)
    log.warn('NONO_API_TOKENS is empty: only named tokens (created by an admin) are accepted');

  const clock = new SystemClock();
  const layout = new ZnodeLayout(config.zkRoot);
  const zk = await ZkClient.connect({
    connect: config.zkConnect,
    sessionTimeoutMs: config.zkSessionTimeoutMs,
    auth: config.zkAuth,
  });
  zk.on('state', (state) => {
    log.info({ state }, 'zookeeper session state');
    // A new session would need new watches everywhere; a clean restart is simpler and safe (all
    // state is in ZooKeeper). Exit code 75 (EX_TEMPFAIL) tells a supervisor this was no request to stop.
    if (state === 'expired') {
      process.exitCode = 75;
      process.kill(process.pid, 'SIGTERM');
    }
  });
  for (const path of [...layout.parents, outboxRoot(layout.root)]) await zk.ensurePath(path);
  if (config.zkAuth !== undefined) {
    // Nodes written before NONO_ZK_AUTH was set are open: close them, once (see ZkClient.closeTree).
    const { closed } = await zk.closeTree(layout.root);
    if (closed > 0)
      log.info({ closed, root: layout.root }, 'closed the existing nodes to other ZooKeeper identities');
  }

  const topics = topicNames(config.topicPrefix);
  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    security: config.kafkaSecurity,
    clientId: `nono-api-${hostname()}`,
    log: (level, message, extra) => log[level](extra, message),
  });
  await ensureTopics(kafka, topics, config.kafkaReplication);
  const publisher = new EventPublisher(kafka, topics);

  const outbox = new ZkOutbox({ zk, zkRoot: layout.root, clock, log });
  const relay = new OutboxRelay({
    zk,
    layout,
    publisher,
    clock,
    log,
    orphanAfterMs: config.outboxOrphanAfterMs,
  });
  outbox.onCommitted(() => void relay.drain());

  const apiTokens = new ZkApiTokens({ zk, layout, log });
  await apiTokens.start();

  const kafkaProbe = kafkaClusterProbe(kafka);
  const history = new HistoryReplicas({
    replicas: config.historyUrls.map(
      (baseUrl) =>
        new UndiciHistoryClient({
          baseUrl,
          timeoutMs: config.historyTimeoutMs,
          token: config.historyReadToken,
        }),
    ),
    clock,
    log,
    maxLag: config.historyMaxLag,
    probeIntervalMs: config.historyProbeIntervalMs,
    probeTimeoutMs: Math.min(config.historyProbeIntervalMs, config.historyTimeoutMs),
  });
  history.start();
  const app = await buildApp({
    store: new ZkTaskStore({ zk, layout, outbox, log }),
    groups: new ZkWorkerGroupStore({ zk, layout, outbox, log }),
    cluster: new ZkClusterView(zk, layout),
    history,
    alerts: new UndiciAlertsClient({ baseUrl: config.alertsUrl, timeoutMs: config.historyTimeoutMs }),
    clock,
    tokens: config.tokens,
    apiTokens,
    calendars: new ZkCalendars({ zk, layout, outbox }),
    backfills: new ZkBackfills({ zk, layout, outbox }),
    ...(config.secretsKey === undefined
      ? {}
      : { webhookSecrets: new ZkWebhookSecrets({ zk, layout, key: config.secretsKey }) }),
    targetPolicy: config.targetPolicy,
    log,
    metrics: createMetricsRegistry('api'),
    readiness: () => ({ ready: zk.state === 'connected', detail: { zookeeper: zk.state } }),
    kafkaProbe: kafkaProbe.probe,
    eventSource: `nono://api/${hostname()}-${process.pid}`,
    bodyLimitBytes: config.bodyLimitBytes,
    rateLimitPerMinute: config.rateLimitPerMinute,
    trustProxy: config.trustProxy,
  });
  await app.listen({ host: config.host, port: config.port });
  // Entries left by a previous process (crashed mid-write, or Kafka was down) go out now.
  void relay.drain();

  exitOnSignals(
    async () => {
      await app.close();
      history.stop();
      // Publish what the last requests committed, so a clean stop leaves nothing behind.
      await relay.drain();
      await relay.stop();
      apiTokens.stop();
      await publisher.disconnect();
      await kafkaProbe.close();
      zk.close();
    },
    { log, deadlineMs: config.shutdownDeadlineMs },
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`nono-api: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
