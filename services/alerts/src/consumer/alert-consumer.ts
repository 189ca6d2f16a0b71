import { type Logger } from '@nono/runtime';
import { type Admin, type Consumer, type EachBatchPayload, type Kafka } from 'kafkajs';
import { type AlertStore } from '../store/alert-store.js';
import { type BatchEvaluator } from './batch-evaluator.js';

export interface AlertConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** The topic whose backlog must be read before a dead-man check may trust what it has not seen. */
  readonly executionsTopic: string;
  readonly store: AlertStore;
  readonly evaluator: BatchEvaluator;
  readonly log: Logger;
  /** Called after every committed chunk (the outboxes may have new rows). */
  readonly onCommitted: () => void;
  readonly onEvaluated?: (topic: string, evaluated: number, deadLettered: number) => void;
}

/** Records per transaction: bounds the event loop stall of one chunk (see history's chunked-batch.ts). */
const CHUNK_RECORDS = 1_000;

/**
 * Feeds Kafka batches to the BatchEvaluator. As in history, the database owns the position:
 * on every assignment the consumer seeks each partition to the offset stored in SQLite (0
 * for a fresh file); Kafka's committed offsets are never used (autoCommit off).
 */
export class AlertConsumer {
  readonly #options: AlertConsumerOptions;
  readonly #consumer: Consumer;
  readonly #admin: Admin;
  #joined = false;

  constructor(options: AlertConsumerOptions) {
    this.#options = options;
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      // A restarted service waits for its killed predecessor to leave the group: keep it short.
      sessionTimeout: 10_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 1_000,
    });
    this.#admin = options.kafka.admin();
  }

  async start(): Promise<void> {
    const { store, topics, log } = this.#options;
    await this.#admin.connect();
    await this.#consumer.connect();
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment))
        for (const partition of partitions)
          this.#consumer.seek({ topic, partition, offset: String(store.nextOffset(topic, partition) ?? 0) });
      this.#joined = true;
      log.info(
        { assignment: payload.memberAssignment },
        'partitions assigned: resuming from the stored offsets',
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
  }

  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
    const { evaluator, log, onCommitted, onEvaluated } = this.#options;
    for (let from = 0; from < batch.messages.length; from += CHUNK_RECORDS) {
      if (!payload.isRunning() || payload.isStale()) return;
      const messages = batch.messages.slice(from, from + CHUNK_RECORDS);
      const outcome = evaluator.evaluate(
        batch.topic,
        batch.partition,
        messages.map((message) => ({ offset: Number(message.offset), value: message.value })),
      );
      for (const dead of outcome.deadLetters)
        log.warn(
          { topic: batch.topic, partition: batch.partition, offset: dead.offset, issues: dead.issues },
          'record dead-lettered',
        );
      onEvaluated?.(batch.topic, outcome.evaluated, outcome.deadLetters.length);
      payload.resolveOffset(messages.at(-1)?.offset ?? batch.lastOffset());
      onCommitted();
      await payload.heartbeat();
    }
    payload.resolveOffset(batch.lastOffset());
  }

  /**
   * Whether everything on the executions topic up to now has been evaluated: a dead-man
   * check run on a backlog would hold against a task the successes it has not read yet.
   */
  async caughtUp(): Promise<boolean> {
    if (!this.#joined) return false;
    const topic = this.#options.executionsTopic;
    const ends = await this.#admin.fetchTopicOffsets(topic);
    return ends.every(
      ({ partition, high }) => (this.#options.store.nextOffset(topic, partition) ?? 0) >= Number(high),
    );
  }

  /** Records on the consumed topics not evaluated yet; undefined before the first assignment. */
  async lag(): Promise<number | undefined> {
    if (!this.#joined) return undefined;
    let lag = 0;
    for (const topic of this.#options.topics)
      for (const { partition, high } of await this.#admin.fetchTopicOffsets(topic))
        lag += Math.max(0, Number(high) - (this.#options.store.nextOffset(topic, partition) ?? 0));
    return lag;
  }

  async stop(): Promise<void> {
    await this.#consumer.disconnect();
    await this.#admin.disconnect();
  }
}
