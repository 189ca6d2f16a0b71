/**
 * From a failure fact on Kafka to the receiver's request: the built alerts service (a real
 * process) and a real webhook receiver, a rule on every task, then `count` final failures of
 * distinct tasks published one at a time every `gap` ms. Per fact: the receiver's arrival
 * time minus the moment the producer's send was acknowledged. Private topics, removed at the end.
 *   npx turbo run build --filter=@nono/alerts && npx tsx --conditions source bench/alerts/latency.ts [count] [gap ms]
 */
import { type NonoEvent } from '@nono/domain';
import { createKafka, encodeEvent } from '@nono/events';
import { executionFact } from '../../services/alerts/src/testing/facts.js';
import { putRule, startAlertsProcess, startWebhookReceiver } from '../../tests/support/alerts.js';
import { createIsolatedTopics, dropIsolation, eventually, isolateOn } from '../../tests/support/isolation.js';

const count = Number(process.argv[2] ?? '300');
const gapMs = Number(process.argv[3] ?? '20');
const iso = await isolateOn(
  'bench-alerts-latency',
  process.env['NONO_ZK_CONNECT'] ?? '127.0.0.1:2181',
  process.env['NONO_KAFKA_BROKERS'] ?? '127.0.0.1:9092',
);
await createIsolatedTopics(iso, 3);
const receiver = await startWebhookReceiver();
const alerts = await startAlertsProcess(iso, { env: { NONO_LOG_LEVEL: 'warn' } });
const producer = createKafka({ brokers: iso.kafkaBrokers, clientId: `bench-${iso.name}` }).producer();
try {
  await putRule(alerts.url, 'all-failures', {
    name: 'all failures',
    scope: { kind: 'all' },
    condition: { kind: 'failed' },
    channels: [{ kind: 'webhook', url: `${receiver.url}/hook` }],
  });
  await producer.connect();
  const sentAt = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const taskId = `latency-${String(i).padStart(5, '0')}`;
    const fact: NonoEvent = executionFact(taskId, Date.now(), 'failed', Date.now());
    await producer.send({ topic: iso.topics.executions, messages: [encodeEvent(fact)] });
    sentAt.set(taskId, Date.now());
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  const requests = await eventually(
    async () => {
      const all = await receiver.requests();
      return all.length >= count ? all : undefined;
    },
    60_000,
    'every notification',
  );
  const latencies = requests
    .map((r) => r.at - (sentAt.get(r.body.alert?.taskId ?? '') ?? Number.NaN))
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b);
  const at = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  console.log(
    JSON.stringify({
      facts: count,
      gapMs,
      received: latencies.length,
      p50Ms: at(0.5),
      p90Ms: at(0.9),
      p99Ms: at(0.99),
      maxMs: latencies.at(-1),
    }),
  );
} finally {
  await producer.disconnect();
  await alerts.kill('SIGTERM');
  await receiver.process.kill();
  await dropIsolation(iso);
}
