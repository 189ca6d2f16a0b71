import { type Clock } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type Kafka } from 'kafkajs';
import { type BatchProjector } from '../projector/batch-projector.js';
import { projectInChunks } from '../projector/chunked-batch.js';
import { type ProjectionStore } from '../projector/projection-store.js';
import { type RebuildProgress, ratePerSecond } from './rebuild-progress.js';

export interface ProjectFromBeginningOptions {
  readonly kafka: Kafka;
  readonly topics: readonly string[];
  /** The NEW database: empty, or holding offsets of a previous partial pass. */
  readonly store: ProjectionStore;
  readonly projector: BatchProjector;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Once the end offsets captured at the start are reached, keep reading until at most
   * this many records are unprojected; the live projector (or the next service start)
   * projects the rest from the offsets stored in the new database.
   */
  readonly catchUpLag: number;
  readonly onProgress: (progress: RebuildProgress) => void;
  /** After each chunk's transaction, with the number of records it held (see BulkLoad). */
  readonly onChunk?: (records: number) => void;
  readonly progressIntervalMs?: number;
  /** Records per SQLite transaction (see CHUNK_RECORDS). */
  readonly chunkRecords?: number;
  readonly signal?: AbortSignal;
}

/** kafkajs fetch sizes for a bulk read: few, large fetches (the defaults are tuned for latency). */
export const BULK_FETCH = {
  maxBytesPerPartition: 8 * 1024 * 1024,
  maxBytes: 32 * 1024 * 1024,
  minBytes: 1024 * 1024,
  maxWaitTimeInMs: 100,
} as const;

/**
 * Projects the topics from their first offset into a new database, first up to the end
 * offsets captured at the start (the `building` phase), then on with what was published
 * meanwhile (`catching-up`) until the lag is at most `catchUpLag`. Every record the
 * consumer delivers is projected (none is filtered by offset), so the offsets stored in
 * the new database are always a gap-free prefix of each partition and the live projector
 * can continue from them. The consumer's own group is throwaway: positions come from the
 * new database, exactly as in the live projector.
 */
export async function projectFromBeginning(
  options: ProjectFromBeginningOptions,
): Promise<{ records: number }> {
  const { kafka, topics, store, projector, clock, log } = options;
  const startEnds = new Map<string, number>();
  const ends = new Map<string, number>();
  const positions = new Map<string, number>();
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      for (const entry of await admin.fetchTopicOffsets(topic)) {
        const key = `${topic}/${entry.partition}`;
        startEnds.set(key, Number(entry.high));
        ends.set(key, Number(entry.high));
        positions.set(key, store.nextOffset(topic, entry.partition) ?? Number(entry.low));
      }
    }
  } finally {
    await admin.disconnect();
  }
  const remaining = (): number =>
    [...ends].reduce((sum, [key, end]) => sum + Math.max(0, end - (positions.get(key) ?? 0)), 0);
  const reachedStartEnds = (): boolean =>
    [...startEnds].every(([key, end]) => (positions.get(key) ?? 0) >= end);

  const started = clock.now();
  let records = 0;
  let phase: 'building' | 'catching-up' = 'building';
  const progress = (): RebuildProgress => {
    const elapsedMs = clock.now() - started;
    return {
      phase,
      records,
      eventsPerSecond: ratePerSecond(records, elapsedMs),
      remainingLag: remaining(),
      elapsedMs,
    };
  };
  if (remaining() <= 0) {
    options.onProgress(progress());
    return { records };
  }

  const consumer = kafka.consumer({
    groupId: `nono-history-rebuild-${process.pid}-${started}`,
    allowAutoTopicCreation: false,
    ...BULK_FETCH,
  });
  let finish: (error?: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    finish = (error) => (error === undefined ? resolve() : reject(error));
  });
  const onAbort = (): void => {
    const reason: unknown = options.signal?.reason;
    finish(reason instanceof Error ? reason : new Error('rebuild aborted'));
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted === true) onAbort();
  const timer = setInterval(() => options.onProgress(progress()), options.progressIntervalMs ?? 1_000);
  let done = false;
  try {
    await consumer.connect();
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment))
        for (const partition of partitions) {
          const offset = store.nextOffset(topic, partition) ?? positions.get(`${topic}/${partition}`) ?? 0;
          consumer.seek({ topic, partition, offset: String(offset) });
        }
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) finish(payload.error);
    });
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (done || !payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
        const key = `${batch.topic}/${batch.partition}`;
        try {
          await projectInChunks(
            projector,
            batch,
            () => !done && payload.isRunning() && !payload.isStale(),
            (outcome, lastOffset) => {
              const chunk = outcome.projected + outcome.duplicates + outcome.deadLettered + outcome.skipped;
              records += chunk;
              positions.set(key, Number(lastOffset) + 1);
              options.onChunk?.(chunk);
            },
            options.chunkRecords,
          );
        } catch (error) {
          // An infrastructure failure (disk full, I/O): the rebuild fails, the live database stays.
          done = true;
          finish(error instanceof Error ? error : new Error('projection failed', { cause: error }));
          return;
        }
        ends.set(key, Math.max(ends.get(key) ?? 0, Number(batch.highWatermark)));
        payload.resolveOffset(batch.lastOffset());
        if (phase === 'building' && reachedStartEnds()) {
          phase = 'catching-up';
          log.info({ records }, 'rebuild reached the end offsets of its start; catching up');
        }
        if (phase === 'catching-up' && remaining() <= options.catchUpLag) {
          done = true;
          finish();
          return;
        }
        await payload.heartbeat();
      },
    });
    await finished;
  } finally {
    clearInterval(timer);
    options.signal?.removeEventListener('abort', onAbort);
    done = true;
    await consumer.disconnect();
  }
  options.onProgress(progress());
  return { records };
}
