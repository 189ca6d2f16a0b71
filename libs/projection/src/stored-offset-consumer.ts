import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Logger } from '@nono/runtime';
import { type Admin, type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage } from 'kafkajs';

export interface StoredOffsetConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  /**
   * Where the database says a partition's next record is, asked at every assignment;
   * undefined for a partition the database has never read (it is read from its beginning).
   */
  readonly storedOffset: (topic: string, partition: number) => number | undefined;
  /** Takes one fetched batch in; resolves its offsets itself (see `inChunks`). */
  readonly eachBatch: (payload: EachBatchPayload) => Promise<void>;
  readonly log: Logger;
  /** Bytes per fetch, for a consumer that reads backlogs in few large fetches (kafkajs' defaults otherwise). */
  readonly fetchBytes?: { readonly perPartition: number; readonly total: number };
}

/**
 * A kafkajs consumer whose position is the one stored in the service's database, not the
 * group's: on every assignment (GROUP_JOIN, emitted after the group sync and before the first
 * fetch of the generation) each assigned partition is sought to its stored offset, or to 0
 * for a database that has none. Kafka's committed offsets are never relied on (autoCommit
 * off), so a rebuilt or deleted database reads the topics again instead of silently starting
 * where a previous one stopped, and a batch taken in together with its offset in one SQLite
 * transaction is taken in exactly once.
 */
export class StoredOffsetConsumer {
  readonly #options: StoredOffsetConsumerOptions;
  readonly #consumer: Consumer;
  /** For end offsets (lag): connected by `start`. */
  readonly admin: Admin;
  #assignment: Readonly<Record<string, readonly number[]>> = {};
  #joined = false;

  constructor(options: StoredOffsetConsumerOptions) {
    this.#options = options;
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      ...(options.fetchBytes === undefined
        ? {}
        : { maxBytesPerPartition: options.fetchBytes.perPartition, maxBytes: options.fetchBytes.total }),
      // A restarted service waits for its killed predecessor to leave the group before it gets
      // partitions: a short session keeps that wait to seconds (Kafka's floor is 6 s).
      sessionTimeout: 10_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 1_000,
    });
    this.admin = options.kafka.admin();
  }

  /** Whether partitions have been assigned once (before that, nothing is known of the position). */
  get joined(): boolean {
    return this.#joined;
  }

  async start(): Promise<void> {
    const { topics, log } = this.#options;
    await this.admin.connect();
    await this.#consumer.connect();
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
      this.#assignment = payload.memberAssignment;
      this.seekToStoredOffsets();
      this.#joined = true;
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
      eachBatch: (payload) => this.#options.eachBatch(payload),
    });
  }

  /**
   * Moves every assigned partition to its stored offset: at each assignment, and after the
   * database was replaced (a batch fetched before the seek is then stale: `isStale()`).
   */
  seekToStoredOffsets(): void {
    for (const [topic, partitions] of Object.entries(this.#assignment))
      for (const partition of partitions)
        this.#consumer.seek({
          topic,
          partition,
          offset: String(this.#options.storedOffset(topic, partition) ?? 0),
        });
  }

  /**
   * Records of `topics` published and not yet taken into the database (the end offsets
   * minus the stored ones); undefined before the first assignment.
   */
  async unread(topics: readonly string[] = this.#options.topics): Promise<number | undefined> {
    if (!this.#joined) return undefined;
    let unread = 0;
    for (const topic of topics)
      for (const { partition, high } of await this.admin.fetchTopicOffsets(topic))
        unread += Math.max(0, Number(high) - (this.#options.storedOffset(topic, partition) ?? 0));
    return unread;
  }

  /** Stops fetching; kafkajs lets the batch in progress finish (and commit) first. */
  async stop(): Promise<void> {
    await this.#consumer.disconnect();
    await this.admin.disconnect();
  }
}

/**
 * Takes a kafkajs batch in chunk by chunk: `takeIn` runs each chunk synchronously (one SQLite
 * transaction with the partition's offset), then the chunk's last offset is resolved (which
 * only tells kafkajs where to fetch next: the durable position is the one just committed),
 * the group is heartbeaten and the event loop gets a turn, so a fetch of tens of thousands
 * of records never holds the service's HTTP routes for long. Stops before a chunk once the
 * batch went stale (a rebalance or a seek) or the consumer stops. Returns whether every chunk
 * was taken in; then the batch's end is resolved too (it can end past its last record:
 * control records).
 */
export async function inChunks(
  payload: EachBatchPayload,
  chunkRecords: number,
  takeIn: (messages: readonly KafkaMessage[]) => void,
): Promise<boolean> {
  const { batch } = payload;
  for (let from = 0; from < batch.messages.length; from += chunkRecords) {
    if (!payload.isRunning() || payload.isStale()) return false;
    const messages = batch.messages.slice(from, from + chunkRecords);
    takeIn(messages);
    payload.resolveOffset(messages.at(-1)?.offset ?? batch.lastOffset());
    await payload.heartbeat();
    await nextTurn();
  }
  payload.resolveOffset(batch.lastOffset());
  return true;
}
