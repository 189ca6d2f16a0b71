import { parentPort, workerData } from 'node:worker_threads';
import { createKafka } from '@nono/events';
import { BULK_FETCH } from './bulk-fetch.js';
import { encodeChunk } from './decoded-chunk.js';
import { type FetchReply, type FetchRequest, type FetchThreadConfig } from './fetch-protocol.js';

/**
 * The rebuild's fetch thread (see ThreadedFetch): runs the Kafka consumer and decodes
 * (JSON, schema check, execution facts) on the second core, and hands chunks of decoded
 * records to the thread that owns SQLite, in partition order, at most `window` chunks
 * ahead of it.
 */
const port = parentPort;
if (port === null) throw new Error('fetch-thread.js runs as a worker thread');
const config = workerData as FetchThreadConfig;
const send = (reply: FetchReply, transfer: ArrayBuffer[] = []): void => port.postMessage(reply, transfer);

/** Next offset to hand over, per partition: where a rejoin seeks (every record before it was sent, in order). */
const positions = new Map(
  config.positions.map(([topic, partition, offset]) => [`${topic}/${partition}`, offset]),
);
let credit = config.window;
let wakeUp: (() => void) | undefined;
let stopping = false;

const kafka = createKafka({
  brokers: config.brokers,
  security: config.kafkaSecurity,
  clientId: config.clientId,
  log: (level, message) => {
    if (level === 'warn' || level === 'error') send({ kind: 'log', level, message });
  },
});
const consumer = kafka.consumer({ groupId: config.groupId, allowAutoTopicCreation: false, ...BULK_FETCH });

async function stop(): Promise<void> {
  stopping = true;
  wakeUp?.();
  await consumer.disconnect().catch(() => undefined);
  send({ kind: 'stopped' });
  port?.close();
}

port.on('message', (request: FetchRequest) => {
  if (request.kind === 'credit') {
    credit += 1;
    wakeUp?.();
  } else void stop();
});

/** Resolves once the SQLite thread has taken a chunk off the window (or the thread stops). */
async function creditAvailable(): Promise<void> {
  while (credit <= 0 && !stopping) await new Promise<void>((resolve) => (wakeUp = resolve));
  wakeUp = undefined;
}

try {
  await consumer.connect();
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    for (const [topic, partitions] of Object.entries(payload.memberAssignment))
      for (const partition of partitions)
        consumer.seek({ topic, partition, offset: String(positions.get(`${topic}/${partition}`) ?? 0) });
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) send({ kind: 'failed', message: String(payload.error) });
  });
  await consumer.subscribe({ topics: [...config.topics], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      const { batch } = payload;
      const key = `${batch.topic}/${batch.partition}`;
      const live = (): boolean => !stopping && payload.isRunning() && !payload.isStale();
      for (let from = 0; from < batch.messages.length; from += config.chunkRecords) {
        await creditAvailable();
        if (!live()) return;
        const messages = batch.messages.slice(from, from + config.chunkRecords);
        const chunk = encodeChunk(
          messages.map((message) => ({
            offset: Number(message.offset),
            key: message.key?.toString('utf8') ?? null,
            value: message.value,
          })),
        );
        const lastOffset = Number(messages.at(-1)?.offset ?? batch.lastOffset());
        credit -= 1;
        positions.set(key, lastOffset + 1);
        send(
          {
            kind: 'chunk',
            topic: batch.topic,
            partition: batch.partition,
            chunk,
            lastOffset,
            highWatermark: Number(batch.highWatermark),
          },
          [chunk.raw],
        );
      }
      if (!live()) return;
      payload.resolveOffset(batch.lastOffset());
      await payload.heartbeat();
    },
  });
} catch (error) {
  send({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
}
