import { type Admin } from 'kafkajs';
import { type ProjectorMetrics } from './projector-metrics.js';
import { type LiveDatabase } from '../store/live-database.js';

export interface LagSnapshot {
  /** False until the broker's end offsets were read once: an unknown lag is not "caught up". */
  readonly known: boolean;
  readonly total: number;
  readonly partitions: readonly {
    readonly topic: string;
    readonly partition: number;
    readonly lag: number;
  }[];
}

/**
 * Lag = the partition's end offset minus the stored next offset (the database's own
 * position, not the group's Kafka commit, which is only advisory here). Refreshed on a
 * timer from the broker and after every batch from its high watermark.
 */
export class LagTracker {
  readonly #database: LiveDatabase;
  readonly #metrics: ProjectorMetrics;
  readonly #ends = new Map<string, { topic: string; partition: number; end: number; start: number }>();
  #known = false;

  constructor(database: LiveDatabase, metrics: ProjectorMetrics) {
    this.#database = database;
    this.#metrics = metrics;
  }

  async refresh(admin: Admin, topics: readonly string[]): Promise<void> {
    for (const topic of topics) {
      for (const entry of await admin.fetchTopicOffsets(topic)) {
        this.#ends.set(`${topic}/${entry.partition}`, {
          topic,
          partition: entry.partition,
          end: Number(entry.high),
          start: Number(entry.low),
        });
      }
    }
    this.#known = true;
    this.#publish();
  }

  /** A batch's high watermark is a fresher end offset than the last poll. */
  observe(topic: string, partition: number, highWatermark: number): void {
    const key = `${topic}/${partition}`;
    const previous = this.#ends.get(key);
    this.#ends.set(key, {
      topic,
      partition,
      end: Math.max(highWatermark, previous?.end ?? 0),
      start: previous?.start ?? 0,
    });
    this.#publish();
  }

  snapshot(): LagSnapshot {
    const stored = new Map(
      this.#database.current.store
        .storedOffsets()
        .map((row) => [`${row.topic}/${row.partition}`, row.nextOffset]),
    );
    const partitions = [...this.#ends.entries()].map(([key, { topic, partition, end, start }]) => ({
      topic,
      partition,
      lag: Math.max(0, end - (stored.get(key) ?? start)),
    }));
    return { known: this.#known, total: partitions.reduce((sum, p) => sum + p.lag, 0), partitions };
  }

  #publish(): void {
    for (const { topic, partition, lag } of this.snapshot().partitions)
      this.#metrics.lag.set({ topic, partition: String(partition) }, lag);
  }
}
