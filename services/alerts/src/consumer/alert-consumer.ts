import { StoredOffsetConsumer, inChunks } from '@nono/projection';
import { type Logger } from '@nono/runtime';
import { type EachBatchPayload, type Kafka } from 'kafkajs';
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

/** Records per transaction: bounds the event loop stall of one chunk (see `inChunks`). */
const CHUNK_RECORDS = 1_000;

/**
 * Feeds Kafka batches to the BatchEvaluator. As in history, the database owns the position
 * (StoredOffsetConsumer): every assignment seeks each partition to the offset stored in
 * SQLite (0 for a fresh file); Kafka's committed offsets are never used.
 */
export class AlertConsumer {
  readonly #options: AlertConsumerOptions;
  readonly #consumer: StoredOffsetConsumer;

  constructor(options: AlertConsumerOptions) {
    this.#options = options;
    this.#consumer = new StoredOffsetConsumer({
      kafka: options.kafka,
      groupId: options.groupId,
      topics: options.topics,
      storedOffset: (topic, partition) => options.store.nextOffset(topic, partition),
      eachBatch: (payload) => this.#onBatch(payload),
      log: options.log,
    });
  }

  start(): Promise<void> {
    return this.#consumer.start();
  }

  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
    const { evaluator, log, onCommitted, onEvaluated } = this.#options;
    await inChunks(payload, CHUNK_RECORDS, (messages) => {
      const outcome = evaluator.evaluate(
        batch.topic,
        batch.partition,
        messages.map((message) => ({
          offset: Number(message.offset),
          key: message.key?.toString('utf8') ?? null,
          value: message.value,
        })),
      );
      for (const dead of outcome.deadLetters)
        log.warn(
          { topic: batch.topic, partition: batch.partition, offset: dead.offset, issues: dead.issues },
          'record dead-lettered',
        );
      onEvaluated?.(batch.topic, outcome.evaluated, outcome.deadLetters.length);
      onCommitted();
    });
  }

  /**
   * Whether everything on the executions topic up to now has been evaluated: a dead-man
   * check run on a backlog would hold against a task the successes it has not read yet.
   */
  async caughtUp(): Promise<boolean> {
    return (await this.#consumer.unread([this.#options.executionsTopic])) === 0;
  }

  /** Records on the consumed topics not evaluated yet; undefined before the first assignment. */
  lag(): Promise<number | undefined> {
    return this.#consumer.unread();
  }

  stop(): Promise<void> {
    return this.#consumer.stop();
  }
}
