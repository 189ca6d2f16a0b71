import { type Clock, type FieldIssue, type NonoEvent } from '@nono/domain';
import { decodeValue } from './event-decoder.js';
import { keepsNothingOf, projectEvent } from './event-projection.js';
import { executionFactOf, isExecutionEvent, nominalTimeOf } from './execution-fact.js';
import { ProjectionBatch } from './projection-batch.js';
import { RecordProjectionError, describeFailure, isInfrastructureFailure } from './projection-failure.js';
import { type ProjectionStore } from './projection-store.js';
import { type SourceBatch, type SourceRecord } from './source-record.js';

export interface BatchOutcome {
  readonly projected: number;
  readonly duplicates: number;
  readonly deadLettered: number;
  /** Records below the stored offset: already in this database (a redelivery after a rebalance or crash). */
  readonly skipped: number;
  /** Valid events history keeps nothing of (alert transitions: see keepsNothingOf). */
  readonly ignored: number;
  /** The stored next offset after the batch, or undefined when the batch was entirely stale. */
  readonly nextOffset: number | undefined;
  readonly deadLetters: readonly { readonly offset: number; readonly issues: readonly FieldIssue[] }[];
}

/** Projects one validated, not-yet-seen event into the batch (injectable so tests can make it throw). */
export type EventProjection = (batch: ProjectionBatch, event: NonoEvent) => void;

/**
 * Projects one partition's batch in ONE SQLite transaction together with the partition's
 * next offset: after a crash the database holds either the batch and its offset or
 * neither, so resuming from the stored offset is exactly-once. Records below the stored
 * offset are dropped (they are already here); event ids catch the same fact published
 * twice at different offsets.
 *
 * The facts of one execution are merged in memory and written once per batch
 * (ProjectionBatch); the result does not depend on where batches start and end.
 *
 * A record that validates but throws while being projected (a bug, a constraint the
 * contract does not capture) must not fail its batch: kafkajs would redeliver it forever
 * and the partition would stall. The batch is then redone with each record in its own
 * savepoint, projected and written alone (a batch of one record, which gives the same rows
 * as the merged batch): the failing record's partial writes are rolled back and it is
 * dead-lettered with the error, the others are projected. That costs a read and a write
 * per fact again, so the first attempt merges. Infrastructure failures (disk full, I/O,
 * busy) still fail the batch: the record is not at fault and a retry may succeed.
 */
export class BatchProjector {
  readonly #store: ProjectionStore;
  readonly #clock: Clock;
  readonly #project: EventProjection;

  constructor(store: ProjectionStore, clock: Clock, project: EventProjection = projectEvent) {
    this.#store = store;
    this.#clock = clock;
    this.#project = project;
  }

  project(batch: SourceBatch): BatchOutcome {
    try {
      return this.#projectBatch(batch, false);
    } catch (error) {
      if (!(error instanceof RecordProjectionError)) throw error;
      return this.#projectBatch(batch, true);
    }
  }

  #projectBatch(batch: SourceBatch, isolated: boolean): BatchOutcome {
    const now = this.#clock.now();
    const store = this.#store;
    return store.transaction(() => {
      const stored = store.nextOffset(batch.topic, batch.partition) ?? 0;
      const merged = isolated ? undefined : new ProjectionBatch(store);
      let projected = 0;
      let duplicates = 0;
      let skipped = 0;
      let ignored = 0;
      let last = -1;
      const deadLetters: { offset: number; issues: readonly FieldIssue[] }[] = [];
      const deadLetter = (record: SourceRecord, issues: readonly FieldIssue[]): void => {
        store.deadLetter({
          topic: batch.topic,
          partition: batch.partition,
          offset: record.offset,
          key: record.key,
          value: record.value === null ? null : record.value.toString('utf8'),
          issues,
          at: now,
        });
        deadLetters.push({ offset: record.offset, issues });
      };
      for (const record of batch.records) {
        if (record.offset < stored) {
          skipped += 1;
          continue;
        }
        last = Math.max(last, record.offset);
        // Decoded here, or ahead of time by the rebuild's fetch thread (same function, decodeValue).
        const decoded = record.decoded ?? decodeValue(record.value, true);
        if (decoded.kind === 'invalid') {
          deadLetter(record, decoded.issues);
          continue;
        }
        if (decoded.kind === 'event' && keepsNothingOf(decoded.event)) {
          ignored += 1;
          continue;
        }
        const apply = (): boolean => {
          // Before the repeat check: a repeated event id may be another owner's action (see recordOwnerAction).
          if (decoded.kind === 'fact') store.recordOwnerAction(decoded.fact);
          else if (isExecutionEvent(decoded.event)) store.recordOwnerAction(executionFactOf(decoded.event));
          // An execution fact is marked under its nominal instant too, whether decoded as a fact or an event.
          const fresh =
            decoded.kind === 'fact'
              ? store.markFactProcessed(decoded.fact.eventId, decoded.fact.nominalTime)
              : isExecutionEvent(decoded.event)
                ? store.markFactProcessed(decoded.event.id, nominalTimeOf(decoded.event))
                : store.markProcessed(decoded.event.id);
          if (!fresh) return false;
          const target = merged ?? new ProjectionBatch(store);
          if (decoded.kind === 'fact') target.applyExecutionFact(decoded.fact);
          else this.#project(target, decoded.event);
          // Isolated: a batch of this one record, written now so its savepoint holds all of its writes.
          if (merged === undefined) target.flush();
          return true;
        };
        try {
          if (isolated ? store.savepoint(apply) : apply()) projected += 1;
          else duplicates += 1;
        } catch (error) {
          if (isInfrastructureFailure(error)) throw error;
          if (!isolated) throw new RecordProjectionError(record.offset, error);
          deadLetter(record, [
            { field: 'projection', message: `projection failed: ${describeFailure(error)}` },
          ]);
        }
      }
      try {
        merged?.flush();
      } catch (error) {
        // A merged row failed to write: which record is at fault is found by the isolated redo.
        if (isInfrastructureFailure(error)) throw error;
        throw new RecordProjectionError(undefined, error);
      }
      const nextOffset = last >= 0 ? last + 1 : undefined;
      if (nextOffset !== undefined) store.saveOffset(batch.topic, batch.partition, nextOffset);
      return {
        projected,
        duplicates,
        deadLettered: deadLetters.length,
        skipped,
        ignored,
        nextOffset,
        deadLetters,
      };
    });
  }
}
