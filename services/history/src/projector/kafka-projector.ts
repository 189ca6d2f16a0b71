import { type Clock, type TimerHandle } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type Admin, type Consumer, type EachBatchPayload, type Kafka } from 'kafkajs';
import { type BatchProjector } from './batch-projector.js';
import { type LagTracker } from './lag-tracker.js';
import { type ProjectorMetrics } from './projector-metrics.js';
import { type ProjectionStore } from './projection-store.js';

export interface KafkaProjectorOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly projector: BatchProjector;
  readonly store: ProjectionStore;
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
  #lagTimer: TimerHandle | undefined;
  #stopped = false;

  constructor(options: KafkaProjectorOptions) {
    this.#options = options;
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
      // A restarted projector must wait for its killed predecessor to leave the group before
      // it gets partitions: a short session keeps that wait to seconds (Kafka's floor is 6 s).
      sessionTimeout: 10_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 1_000,
    });
    this.#admin = options.kafka.admin();
  }

  async start(): Promise<void> {
    const { store, topics, log } = this.#options;
    await this.#admin.connect();
    await this.#refreshLag();
    await this.#consumer.connect();
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) {
          const offset = store.nextOffset(topic, partition) ?? 0;
          this.#consumer.seek({ topic, partition, offset: String(offset) });
        }
      }
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
      eachBatch: (payload) => this.#onBatch(payload),
    });
    this.#scheduleLagPoll();
  }

  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
    const { projector, metrics, lag, log } = this.#options;
    const endTimer = metrics.batchSeconds.startTimer();
    const outcome = projector.project({
      topic: batch.topic,
      partition: batch.partition,
      records: batch.messages.map((message) => ({
        offset: Number(message.offset),
        key: message.key?.toString('utf8') ?? null,
        value: message.value,
      })),
    });
    endTimer();
    metrics.projected.inc({ topic: batch.topic }, outcome.projected);
    if (outcome.duplicates > 0) metrics.duplicates.inc({ topic: batch.topic }, outcome.duplicates);
    if (outcome.deadLettered > 0) metrics.deadLetters.inc({ topic: batch.topic }, outcome.deadLettered);
    for (const dead of outcome.deadLetters) {
      log.warn(
        { topic: batch.topic, partition: batch.partition, offset: dead.offset, issues: dead.issues },
        'record dead-lettered',
      );
    }
    lag.observe(batch.topic, batch.partition, Number(batch.highWatermark));
    // Only tells kafkajs where to fetch next: the durable position is the one just committed to SQLite.
    payload.resolveOffset(batch.lastOffset());
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
