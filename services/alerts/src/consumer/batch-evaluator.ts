import { type Clock, type FieldIssue } from '@nono/domain';
import { decodeEvent } from '@nono/events';
import { type AlertEngine } from '../rules/alert-engine.js';
import { isExecutionEvent } from '../rules/conditions.js';
import { type AlertStore } from '../store/alert-store.js';

export interface SourceRecord {
  readonly offset: number;
  /** Kept in a dead letter with the value. */
  readonly key?: string | null;
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
            key: record.key ?? null,
            value: record.value === null ? null : record.value.toString('utf8'),
            issues: decoded.issues,
            at: now,
          });
          deadLetters.push({ offset: record.offset, issues: decoded.issues });
          continue;
        }
        const event = decoded.value;
        // An execution fact under its nominal instant (factKey): facts come roughly in instant order,
        // so the ids land at the right edge of the B-tree instead of on a random page each.
        const fresh = isExecutionEvent(event)
          ? this.#store.markFactProcessed(event.id, Date.parse(event.data.nominalTime), now)
          : this.#store.markProcessed(event.id, now);
        if (!fresh) {
          duplicates += 1;
          continue;
        }
        this.#engine.apply(event, now);
        evaluated += 1;
      }
      if (last >= 0) this.#store.saveOffset(topic, partition, last + 1);
      return { evaluated, duplicates, deadLetters };
    });
  }
}
