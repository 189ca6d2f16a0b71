import { type Clock, type FieldIssue } from '@nono/domain';
import { decodeEvent } from '@nono/events';
import { type AlertEngine } from '../rules/alert-engine.js';
import { type AlertStore } from '../store/alert-store.js';

export interface SourceRecord {
  readonly offset: number;
  readonly value: Buffer | null;
}

export interface EvaluatedBatch {
  readonly evaluated: number;
  readonly duplicates: number;
  readonly deadLetters: readonly { readonly offset: number; readonly issues: readonly FieldIssue[] }[];
}

/**
 * Evaluates one partition's records in ONE SQLite transaction together with the partition's
 * next offset (history's exactly-once pattern): after a crash the database holds the
 * alert changes, their outbox rows and the offset, or none of them, so resuming from the
 * stored offset evaluates every record exactly once. Records below the stored offset are
 * dropped; event ids drop the same fact published twice at different offsets. An invalid
 * record is dead-lettered, never guessed at.
 */
export class BatchEvaluator {
  readonly #store: AlertStore;
  readonly #engine: AlertEngine;
  readonly #clock: Clock;

  constructor(store: AlertStore, engine: AlertEngine, clock: Clock) {
    this.#store = store;
    this.#engine = engine;
    this.#clock = clock;
  }

  evaluate(topic: string, partition: number, records: readonly SourceRecord[]): EvaluatedBatch {
    const now = this.#clock.now();
    try {
      return this.#evaluate(topic, partition, records, now);
    } catch (error) {
      this.#engine.forgetCaches();
      throw error;
    }
  }

  #evaluate(topic: string, partition: number, records: readonly SourceRecord[], now: number): EvaluatedBatch {
    return this.#store.transaction(() => {
      const stored = this.#store.nextOffset(topic, partition) ?? 0;
      let evaluated = 0;
      let duplicates = 0;
      let last = -1;
      const deadLetters: { offset: number; issues: readonly FieldIssue[] }[] = [];
      for (const record of records) {
        if (record.offset < stored) continue;
        last = Math.max(last, record.offset);
        const decoded = decodeEvent(record.value);
        if (!decoded.ok) {
          this.#store.deadLetter({
            topic,
            partition,
            offset: record.offset,
            issues: decoded.issues,
            at: now,
          });
          deadLetters.push({ offset: record.offset, issues: decoded.issues });
          continue;
        }
        if (!this.#store.markProcessed(decoded.value.id, now)) {
          duplicates += 1;
          continue;
        }
        this.#engine.apply(decoded.value, now);
        evaluated += 1;
      }
      if (last >= 0) this.#store.saveOffset(topic, partition, last + 1);
      return { evaluated, duplicates, deadLetters };
    });
  }
}
