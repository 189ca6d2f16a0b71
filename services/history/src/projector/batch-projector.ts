import { decodeEvent } from '@nono/events';
import { type Clock, type FieldIssue } from '@nono/domain';
import { projectEvent } from './event-projection.js';
import { type ProjectionStore } from './projection-store.js';
import { type SourceBatch } from './source-record.js';

export interface BatchOutcome {
  readonly projected: number;
  readonly duplicates: number;
  readonly deadLettered: number;
  /** Records below the stored offset: already in this database (a redelivery after a rebalance or crash). */
  readonly skipped: number;
  /** The stored next offset after the batch, or undefined when the batch was entirely stale. */
  readonly nextOffset: number | undefined;
  readonly deadLetters: readonly { readonly offset: number; readonly issues: readonly FieldIssue[] }[];
}

/**
 * Projects one partition's batch in ONE SQLite transaction together with the partition's
 * next offset: after a crash the database holds either the batch and its offset or
 * neither, so resuming from the stored offset is exactly-once. Records below the stored
 * offset are dropped (they are already here); event ids catch the same fact published
 * twice at different offsets.
 */
export class BatchProjector {
  readonly #store: ProjectionStore;
  readonly #clock: Clock;

  constructor(store: ProjectionStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  project(batch: SourceBatch): BatchOutcome {
    const now = this.#clock.now();
    return this.#store.transaction(() => {
      const stored = this.#store.nextOffset(batch.topic, batch.partition) ?? 0;
      let projected = 0;
      let duplicates = 0;
      let skipped = 0;
      let last = -1;
      const deadLetters: { offset: number; issues: readonly FieldIssue[] }[] = [];
      for (const record of batch.records) {
        if (record.offset < stored) {
          skipped += 1;
          continue;
        }
        last = Math.max(last, record.offset);
        const decoded = decodeEvent(record.value);
        if (!decoded.ok) {
          this.#store.deadLetter({
            topic: batch.topic,
            partition: batch.partition,
            offset: record.offset,
            key: record.key,
            value: record.value === null ? null : record.value.toString('utf8'),
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
        projectEvent(this.#store, decoded.value);
        projected += 1;
      }
      const nextOffset = last >= 0 ? last + 1 : undefined;
      if (nextOffset !== undefined) this.#store.saveOffset(batch.topic, batch.partition, nextOffset);
      return { projected, duplicates, deadLettered: deadLetters.length, skipped, nextOffset, deadLetters };
    });
  }
}
