import { type Clock, type TimerHandle } from '@nono/domain';
import { StoredOffsetConsumer, inChunks } from '@nono/projection';
import { type Logger } from '@nono/runtime';
import { type EachBatchPayload, type Kafka } from 'kafkajs';
import { type LiveDatabase } from '../store/live-database.js';
import { type LagTracker } from './lag-tracker.js';
import { type ProjectorMetrics } from './projector-metrics.js';
import { sourceBatchOf } from './source-record.js';

/**
 * Records per SQLite transaction. Projection is synchronous: a whole fetch (megabytes,
 * tens of thousands of records) in one go would hold the event loop, and with it every
 * query of the service, for a second or more. Chunks of this size, with a turn of the
 * event loop between them (`inChunks`), bound that stall to tens of milliseconds at no
 * measurable cost in throughput (a commit per 2,000 records).
 */
export const CHUNK_RECORDS = 2_000;

export interface KafkaProjectorOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Read at every batch: a rebuild can replace the database under the running consumer (see swapDatabase). */
  readonly database: LiveDatabase;
  readonly lag: LagTracker;
  readonly metrics: ProjectorMetrics;
  readonly clock: Clock;
  readonly log: Logger;
  readonly lagPollMs?: number;
}

/**
 * Feeds Kafka batches to the BatchProjector, from the offsets stored in the database
 * (StoredOffsetConsumer), which also re-seeks after a rebuild replaced the database.
 */
export class KafkaProjector {
  readonly #options: KafkaProjectorOptions;
  readonly #consumer: StoredOffsetConsumer;
  /** Serialises batches and database swaps: a swap never lands between a batch's read and its commit. */
  #exclusive: Promise<unknown> = Promise.resolve();
  #lagTimer: TimerHandle | undefined;
  #stopped = false;

  constructor(options: KafkaProjectorOptions) {
    this.#options = options;
    this.#consumer = new StoredOffsetConsumer({
      kafka: options.kafka,
      groupId: options.groupId,
      topics: options.topics,
      storedOffset: (topic, partition) => options.database.current.store.nextOffset(topic, partition),
      eachBatch: (payload) => this.#serialised(() => this.#onBatch(payload)),
      log: options.log,
      // A backlog is read in few large fetches (kafkajs fetches again only once a fetch is
      // projected, so each round trip idles the projector); minBytes stays 1, so a fetch
      // still returns as soon as anything is there.
      fetchBytes: { perPartition: 8 * 1024 * 1024, total: 32 * 1024 * 1024 },
    });
  }

  async start(): Promise<void> {
    await this.#consumer.start();
    await this.#refreshLag();
    this.#scheduleLagPoll();
  }

  #serialised<T>(work: () => T | Promise<T>): Promise<T> {
    const next = this.#exclusive.then(work);
    this.#exclusive = next.catch(() => undefined);
    return next;
  }

  /**
   * Replaces the live database by the rebuilt file `built` between two batches, then moves
   * the consumer to the offsets stored in the new database. A batch fetched before the
   * seek is stale (kafkajs' isStale) and skipped, so no record is projected into the new
   * database out of order or past a gap; the records between its offsets and the old
   * database's are simply read again.
   */
  swapDatabase(built: string): Promise<void> {
    return this.#serialised(() => {
      this.#options.database.swapIn(built);
      this.#consumer.seekToStoredOffsets();
    });
  }

  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
    const { database, metrics, lag, log } = this.#options;
    // The database is read per chunk: a swap waits for this batch (see #serialised), so it is the same one throughout.
    await inChunks(payload, CHUNK_RECORDS, (messages) => {
      const endTimer = metrics.batchSeconds.startTimer();
      const outcome = database.current.projector.project(sourceBatchOf(batch, messages));
      endTimer();
      metrics.projected.inc({ topic: batch.topic }, outcome.projected);
      if (outcome.duplicates > 0) metrics.duplicates.inc({ topic: batch.topic }, outcome.duplicates);
      if (outcome.deadLettered > 0) metrics.deadLetters.inc({ topic: batch.topic }, outcome.deadLettered);
      for (const dead of outcome.deadLetters)
        log.warn(
          { topic: batch.topic, partition: batch.partition, offset: dead.offset, issues: dead.issues },
          'record dead-lettered',
        );
    });
    lag.observe(batch.topic, batch.partition, Number(batch.highWatermark));
  }

  #scheduleLagPoll(): void {
    if (this.#stopped) return;
    this.#lagTimer = this.#options.clock.setTimer(() => {
      this.#refreshLag().then(
        () => this.#scheduleLagPoll(),
        () => this.#scheduleLagPoll(),
      );
    }, this.#options.lagPollMs ?? 5_000);
  }

  async #refreshLag(): Promise<void> {
    try {
      await this.#options.lag.refresh(this.#consumer.admin, this.#options.topics);
    } catch (error) {
      this.#options.log.warn({ err: error }, 'could not read end offsets for the lag');
    }
  }

  /** Stops fetching; kafkajs lets the batch in progress finish (and commit) first. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#lagTimer !== undefined) this.#options.clock.clearTimer(this.#lagTimer);
    await this.#consumer.stop();
  }
}
