import { type Clock, type TimerHandle } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type Admin, type Consumer, type EachBatchPayload, type Kafka } from 'kafkajs';
import { type LiveDatabase } from '../store/live-database.js';
import { CHUNK_RECORDS, projectInChunks } from './chunked-batch.js';
import { type LagTracker } from './lag-tracker.js';
import { type ProjectorMetrics } from './projector-metrics.js';

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
 * Feeds Kafka batches to the BatchProjector. The database, not the consumer group, owns
 * the position: on every partition assignment (GROUP_JOIN, emitted after the group sync
 * and before the first fetch of the generation) the consumer seeks each assigned
 * partition to the offset stored in SQLite, or to 0 for a fresh database. Kafka's own
 * committed offsets are never relied on (autoCommit off), so a rebuilt or deleted
 * database re-reads the topics instead of silently starting where a previous one stopped.
 */
export class KafkaProjector {
  readonly #options: KafkaProjectorOptions;
  readonly #consumer: Consumer;
  readonly #admin: Admin;
  /** Partitions of the current generation, from GROUP_JOIN: the ones to re-seek after a swap. */
  #assigned: Record<string, number[]> = {};
  /** Serialises batches and database swaps: a swap never lands between a batch's read and its commit. */
  #exclusive: Promise<unknown> = Promise.resolve();
  #lagTimer: TimerHandle | undefined;
  #stopped = false;

  constructor(options: KafkaProjectorOptions) {
    this.#options = options;
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      // A backlog is read in few large fetches (kafkajs fetches again only once a fetch is
      // projected, so each round trip idles the projector); minBytes stays 1, so a fetch
      // still returns as soon as anything is there.
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      // A restarted projector must wait for its killed predecessor to leave the group before
      // it gets partitions: a short session keeps that wait to seconds (Kafka's floor is 6 s).
      sessionTimeout: 10_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 1_000,
    });
    this.#admin = options.kafka.admin();
  }

  async start(): Promise<void> {
    const { database, topics, log } = this.#options;
    await this.#admin.connect();
    await this.#refreshLag();
    await this.#consumer.connect();
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
      this.#assigned = payload.memberAssignment;
      this.#seekToStoredOffsets(database);
      log.info(
        { assignment: payload.memberAssignment },
        'partitions assigned: resuming from the offsets stored in the database',
      );
    });
    this.#consumer.on(this.#consumer.events.CRASH, ({ payload }) => {
      log.error({ err: payload.error, restart: payload.restart }, 'kafka consumer crashed');
    });
    await this.#consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.#serialised(() => this.#onBatch(payload)),
    });
    this.#scheduleLagPoll();
  }

  #serialised<T>(work: () => T | Promise<T>): Promise<T> {
    const next = this.#exclusive.then(work);
    this.#exclusive = next.catch(() => undefined);
    return next;
  }

  #seekToStoredOffsets(database: LiveDatabase): void {
    const { store } = database.current;
    for (const [topic, partitions] of Object.entries(this.#assigned)) {
      for (const partition of partitions) {
        const offset = store.nextOffset(topic, partition) ?? 0;
        this.#consumer.seek({ topic, partition, offset: String(offset) });
      }
    }
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
      this.#seekToStoredOffsets(this.#options.database);
    });
  }

  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
    const { database, metrics, lag, log } = this.#options;
    // The database is read per chunk: a swap waits for this batch (see #serialised), so it is the same one throughout.
    const complete = await projectInChunks(
      database.current.projector,
      batch,
      () => payload.isRunning() && !payload.isStale(),
      (outcome, lastOffset) => {
        metrics.projected.inc({ topic: batch.topic }, outcome.projected);
        if (outcome.duplicates > 0) metrics.duplicates.inc({ topic: batch.topic }, outcome.duplicates);
        if (outcome.deadLettered > 0) metrics.deadLetters.inc({ topic: batch.topic }, outcome.deadLettered);
        for (const dead of outcome.deadLetters) {
          log.warn(
            { topic: batch.topic, partition: batch.partition, offset: dead.offset, issues: dead.issues },
            'record dead-lettered',
          );
        }
        // Only tells kafkajs where to fetch next: the durable position is the one just committed to SQLite.
        payload.resolveOffset(lastOffset);
      },
      CHUNK_RECORDS,
      metrics.batchSeconds,
    );
    // The batch can end past its last record (control records): fetch on from its end.
    if (complete) payload.resolveOffset(batch.lastOffset());
    lag.observe(batch.topic, batch.partition, Number(batch.highWatermark));
    await payload.heartbeat();
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
      await this.#options.lag.refresh(this.#admin, this.#options.topics);
    } catch (error) {
      this.#options.log.warn({ err: error }, 'could not read end offsets for the lag');
    }
  }

  /** Stops fetching; kafkajs lets the batch in progress finish (and commit) first. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#lagTimer !== undefined) this.#options.clock.clearTimer(this.#lagTimer);
    await this.#consumer.disconnect();
    await this.#admin.disconnect();
  }
}
