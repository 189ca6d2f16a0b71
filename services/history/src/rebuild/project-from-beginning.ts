import { type Clock } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type Kafka } from 'kafkajs';
import { type KafkaSecurity } from '@nono/events';
import { type BatchOutcome, type BatchProjector } from '../projector/batch-projector.js';
import { CHUNK_RECORDS } from '../projector/kafka-projector.js';
import { type ProjectionStore } from '../projector/projection-store.js';
import { decodeChunk } from './decoded-chunk.js';
import { type RebuildProgress, ratePerSecond } from './rebuild-progress.js';
import { ThreadedFetch } from './threaded-fetch.js';

export interface ProjectFromBeginningOptions {
  /** Reads the end offsets; the fetch thread opens its own client to `brokers`. */
  readonly kafka: Kafka;
  readonly brokers: readonly string[];
  /** The service's Kafka TLS and SASL, for the fetch thread's client. */
  readonly kafkaSecurity?: KafkaSecurity | undefined;
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

export { BULK_FETCH } from './bulk-fetch.js';

/** Decoded chunks the fetch thread may hand over ahead of projection (memory: ~2 MiB each). */
const FETCH_WINDOW_CHUNKS = 8;

/**
 * Projects the topics from their first offset into a new database, first up to the end
 * offsets captured at the start (the `building` phase), then on with what was published
 * meanwhile (`catching-up`) until the lag is at most `catchUpLag`. Every record the
 * consumer delivers is projected (none is filtered by offset), so the offsets stored in
 * the new database are always a gap-free prefix of each partition and the live projector
 * can continue from them. The consumer runs on a worker thread (ThreadedFetch) in a
 * throwaway group; it starts from the positions read from the new database here, and after
 * a rejoin seeks to the next record it has not handed over yet (chunks are projected in
 * the order they were handed over, so that is still gap-free).
 */
export async function projectFromBeginning(
  options: ProjectFromBeginningOptions,
): Promise<{ records: number }> {
  const { kafka, topics, store, projector, clock, log } = options;
  const startEnds = new Map<string, number>();
  const ends = new Map<string, number>();
  const positions = new Map<string, number>();
  const starts: [topic: string, partition: number, offset: number][] = [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      for (const entry of await admin.fetchTopicOffsets(topic)) {
        const key = `${topic}/${entry.partition}`;
        startEnds.set(key, Number(entry.high));
        ends.set(key, Number(entry.high));
        const start = store.nextOffset(topic, entry.partition) ?? Number(entry.low);
        positions.set(key, start);
        starts.push([topic, entry.partition, start]);
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
  // Decoded chunks arrive one message (one event-loop turn) each: the service's queries run between them.
  const fetch = new ThreadedFetch(
    {
      brokers: options.brokers,
      kafkaSecurity: options.kafkaSecurity,
      clientId: `nono-history-rebuild-${process.pid}`,
      groupId: `nono-history-rebuild-${process.pid}-${started}`,
      topics,
      positions: starts,
      chunkRecords: options.chunkRecords ?? CHUNK_RECORDS,
      window: FETCH_WINDOW_CHUNKS,
    },
    {
      onChunk: ({ topic, partition, chunk, lastOffset, highWatermark }) => {
        if (done) return;
        const key = `${topic}/${partition}`;
        let outcome: BatchOutcome;
        try {
          outcome = projector.project({ topic, partition, records: decodeChunk(chunk) });
        } catch (error) {
          // An infrastructure failure (disk full, I/O): the rebuild fails, the live database stays.
          done = true;
          finish(error instanceof Error ? error : new Error('projection failed', { cause: error }));
          return;
        }
        const projected =
          outcome.projected + outcome.duplicates + outcome.deadLettered + outcome.skipped + outcome.ignored;
        records += projected;
        positions.set(key, lastOffset + 1);
        options.onChunk?.(projected);
        ends.set(key, Math.max(ends.get(key) ?? 0, highWatermark));
        if (phase === 'building' && reachedStartEnds()) {
          phase = 'catching-up';
          log.info({ records }, 'rebuild reached the end offsets of its start; catching up');
        }
        if (phase === 'catching-up' && remaining() <= options.catchUpLag) {
          done = true;
          finish();
          return;
        }
        fetch.credit();
      },
      onFailure: (error) => {
        done = true;
        finish(error);
      },
      onLog: (level, message) => log[level](message),
    },
  );
  try {
    await finished;
  } finally {
    clearInterval(timer);
    options.signal?.removeEventListener('abort', onAbort);
    done = true;
    await fetch.stop();
  }
  options.onProgress(progress());
  return { records };
}
