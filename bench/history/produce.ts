/**
 * Publishes the benchmark stream ONCE to a fixed topic prefix, so the rebuild benchmark can
 * re-read the same records without producing them again. Generated in slices of 50,000
 * executions (each slice a later time range) to keep memory flat; the task definitions
 * repeated per slice are the same facts (same ids) and are dropped as duplicates.
 *   NONO_KAFKA_BROKERS=127.0.0.1:9092 npx tsx --conditions source bench/history/produce.ts <prefix> <events>
 */
import { EventPublisher, createKafka, ensureTopics, topicNames } from '@nono/events';
import { generateStream } from '../../services/history/src/testing/event-stream.js';

const [prefix = 'bench.history-1m.', target = '1000000'] = process.argv.slice(2);
const wanted = Number(target);
const brokers = (process.env['NONO_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const kafka = createKafka({ brokers, clientId: 'bench-history-produce' });
const topics = topicNames(prefix);
await ensureTopics(kafka, topics);

const admin = kafka.admin();
await admin.connect();
let existing = 0;
for (const topic of [topics.tasks, topics.executions, topics.cluster])
  for (const entry of await admin.fetchTopicOffsets(topic))
    existing += Number(entry.high) - Number(entry.low);
await admin.disconnect();
if (existing >= wanted) {
  console.log(JSON.stringify({ prefix, records: existing, produced: 0 }));
  process.exit(0);
}

const publisher = new EventPublisher(kafka, topics);
const SLICE = 50_000;
const tasks = 100;
const base = Date.parse('2026-01-01T00:00:00Z');
const started = performance.now();
let produced = existing;
for (let slice = 0; produced < wanted; slice += 1) {
  const events = generateStream({
    executions: SLICE,
    tasks,
    seed: 100 + slice,
    start: base + slice * (SLICE / tasks) * 60_000,
  });
  for (let i = 0; i < events.length; i += 2000) await publisher.publish(events.slice(i, i + 2000));
  produced += events.length;
  process.stderr.write(`produced ${produced}\n`);
}
await publisher.disconnect();
console.log(
  JSON.stringify({
    prefix,
    records: produced,
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  }),
);
