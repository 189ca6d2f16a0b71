import { type Logger } from '@nono/runtime';
import { type Kafka } from 'kafkajs';
import { type SourceBatch, sourceBatchOf } from '../projector/source-record.js';

export interface DrainOptions {
  readonly kafka: Kafka;
  readonly topics: readonly string[];
  /** Where to start each partition (undefined: its first retained offset). */
  readonly startAt: (topic: string, partition: number) => number | undefined;
  /** Handles one batch; returns nothing, throws to abort the drain. */
  readonly onBatch: (batch: SourceBatch) => void;
  readonly onProgress?: (progress: { records: number; remaining: number; elapsedMs: number }) => void;
  readonly log: Logger;
}

/**
 * Reads the topics from the given offsets up to their end offsets AS OF THE START, then
 * stops: a bounded read for rebuild and replay, which must finish even while schedulers
 * keep publishing. Uses a throwaway consumer group, so it never disturbs the service's.
 */
export async function drainTopics(options: DrainOptions): Promise<{ records: number }> {
  const { kafka, topics } = options;
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  const position = new Map<string, number>();
  try {
    for (const topic of topics) {
      for (const entry of await admin.fetchTopicOffsets(topic)) {
        const key = `${topic}/${entry.partition}`;
        ends.set(key, Number(entry.high));
        position.set(key, options.startAt(topic, entry.partition) ?? Number(entry.low));
      }
    }
  } finally {
    await admin.disconnect();
  }
  const remaining = (): number =>
    [...ends].reduce((sum, [key, end]) => sum + Math.max(0, end - (position.get(key) ?? 0)), 0);
  if (remaining() === 0) return { records: 0 };

  const consumer = kafka.consumer({
    groupId: `nono-history-drain-${process.pid}-${Date.now()}`,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  const started = Date.now();
  let records = 0;
  let done: () => void = () => undefined;
  let failed: (error: unknown) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  const progress = setInterval(
    () => options.onProgress?.({ records, remaining: remaining(), elapsedMs: Date.now() - started }),
    1_000,
  );
  try {
    await consumer.connect();
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) {
          consumer.seek({ topic, partition, offset: String(position.get(`${topic}/${partition}`) ?? 0) });
        }
      }
    });
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const key = `${batch.topic}/${batch.partition}`;
        const end = ends.get(key) ?? 0;
        // Records published after the drain started are left for the service to project.
        const messages = batch.messages.filter((message) => Number(message.offset) < end);
        try {
          if (messages.length > 0) {
            options.onBatch(sourceBatchOf(batch, messages));
            records += messages.length;
          }
        } catch (error) {
          failed(error);
          return;
        }
        position.set(key, Math.max(position.get(key) ?? 0, Number(batch.lastOffset()) + 1));
        await payload.heartbeat();
        if (remaining() === 0) done();
      },
    });
    await finished;
  } finally {
    clearInterval(progress);
    await consumer.disconnect();
  }
  options.onProgress?.({ records, remaining: 0, elapsedMs: Date.now() - started });
  return { records };
}
