/**
 * History projector throughput: produce N events to a fresh topic prefix, then time a
 * history service (in-process, real Kafka, SQLite file in a temp dir) from start until
 * its lag is 0. Reported: the whole (start, migrations, group join, projection), the
 * group join alone (start to the first projected event) and the projection from the first
 * projected event to lag 0, plus the process's CPU time. The topics are deleted at the end.
 * Run from the repository root:
 *   NONO_KAFKA_BROKERS=127.0.0.1:9092 npx tsx --conditions source bench/history/project.ts [executions]
 * or, on a stream published once by produce.ts (a 1M-event backlog, say), without producing:
 *   NONO_KAFKA_BROKERS=127.0.0.1:9092 npx tsx --conditions source bench/history/project.ts --prefix bench.history-1m.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SystemClock } from '@nono/domain';
import { EventPublisher, createKafka, ensureTopics, topicNames } from '@nono/events';
import { EnvReader, createLogger } from '@nono/runtime';
import { loadHistoryConfig } from '../../services/history/src/config.js';
import { startHistory } from '../../services/history/src/history-service.js';
import { generateStream } from '../../services/history/src/testing/event-stream.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  // A prefix published by produce.ts (kept for reruns, e.g. the rebuild's 1M stream): nothing is produced or deleted.
  options: { prefix: { type: 'string' } },
});
const executions = Number(positionals[0] ?? '45000');
const brokers = (process.env['NONO_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const existing = values.prefix;
const prefix = existing ?? `bench.history-${randomBytes(4).toString('hex')}.`;
const dir = mkdtempSync(join(tmpdir(), 'nono-history-bench-'));

const kafka = createKafka({ brokers, clientId: 'bench-history' });
let events = 0;
let produceSeconds = 0;
if (existing === undefined) {
  const stream = generateStream({ executions, tasks: 100, seed: 5 });
  await ensureTopics(kafka, topicNames(prefix));
  const publisher = new EventPublisher(kafka, topicNames(prefix));
  const produceStart = performance.now();
  for (let i = 0; i < stream.length; i += 1000) await publisher.publish(stream.slice(i, i + 1000));
  await publisher.disconnect();
  produceSeconds = (performance.now() - produceStart) / 1000;
  events = stream.length;
} else {
  const admin = kafka.admin();
  await admin.connect();
  const { tasks, executions: executionTopic, cluster } = topicNames(prefix);
  for (const topic of [tasks, executionTopic, cluster])
    for (const entry of await admin.fetchTopicOffsets(topic))
      events += Number(entry.high) - Number(entry.low);
  await admin.disconnect();
}

const config = loadHistoryConfig(
  new EnvReader({
    NONO_KAFKA_BROKERS: brokers.join(','),
    NONO_TOPIC_PREFIX: prefix,
    NONO_HISTORY_DB: join(dir, 'history.sqlite'),
    NONO_HISTORY_PORT: '0',
    NONO_HISTORY_GROUP_ID: `${prefix}bench-${randomBytes(4).toString('hex')}`,
    NONO_HISTORY_READY_LAG: '0',
  }),
);
const projectedSoFar = async (): Promise<number> => {
  const metrics = (await history.app.inject({ url: '/metrics' })).body;
  return [...metrics.matchAll(/^nono_history_events_projected_total\{[^}]*\} (\d+)/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
};
const start = performance.now();
const cpuStart = process.cpuUsage();
const history = await startHistory(config, {
  clock: new SystemClock(),
  log: createLogger('history-bench', 'warn'),
});
let firstProjected: number | undefined;
for (;;) {
  const ready = await history.app.inject({ url: '/readyz' });
  if (ready.statusCode === 200) break;
  if (firstProjected === undefined && (await projectedSoFar()) > 0) firstProjected = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const end = performance.now();
const cpu = process.cpuUsage(cpuStart);
await history.stop();
rmSync(dir, { recursive: true, force: true });
if (existing === undefined) {
  const admin = kafka.admin();
  await admin.connect();
  const { tasks, executions: executionTopic, cluster } = topicNames(prefix);
  await admin.deleteTopics({ topics: [tasks, executionTopic, cluster] });
  await admin.disconnect();
}
const seconds = (end - start) / 1000;
const joinSeconds = ((firstProjected ?? end) - start) / 1000;
console.log(
  JSON.stringify({
    events,
    produceSeconds: Number(produceSeconds.toFixed(1)),
    projectSeconds: Number(seconds.toFixed(2)),
    eventsPerSecond: Math.round(events / seconds),
    startToFirstEventSeconds: Number(joinSeconds.toFixed(2)),
    // The first poll that sees a projected event lags it by up to one poll (20 ms) plus a chunk.
    firstEventToLagZeroEventsPerSecond: Math.round(events / (seconds - joinSeconds)),
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
  }),
);
