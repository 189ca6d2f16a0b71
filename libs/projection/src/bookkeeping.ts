import { type FieldIssue } from '@nono/domain';
import type Database from 'better-sqlite3';
import { eventKey, factKey } from './event-key.js';

/** Canonical UUIDs per statement when many ids are written at once (`recordProcessedIds`). */
const IDS_PER_STATEMENT = 50_000;

export interface StoredOffset {
  readonly topic: string;
  readonly partition: number;
  readonly nextOffset: number;
}

export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly issues: readonly FieldIssue[];
  readonly at: number;
}

/**
 * The statements of the bookkeeping tables (bookkeeping-schema.ts), prepared once: they run
 * for every record, inside the caller's transaction, so that a record's effects, its id and
 * its partition's next offset commit together or not at all.
 */
export class Bookkeeping {
  readonly #selectOffset: Database.Statement<[string, number], number>;
  readonly #selectOffsets: Database.Statement<[], StoredOffset>;
  readonly #upsertOffset: Database.Statement<[string, number, number]>;
  readonly #insertProcessed: Database.Statement<[Buffer | string, number | null]>;
  readonly #selectProcessed: Database.Statement<[Buffer | string], number>;
  readonly #insertProcessedUuids: Database.Statement<[string]>;
  readonly #deleteProcessedBefore: Database.Statement<[number]>;
  readonly #insertDeadLetter: Database.Statement<unknown[]>;
  /** Facts of executions nominally at or before this instant may carry a bare-id key (projection_meta). */
  readonly #bareFactKeysUntil: number | undefined;

  constructor(sqlite: Database.Database) {
    this.#selectOffset = sqlite
      .prepare<[string, number], number>(
        'select next_offset from consumer_offsets where topic = ? and partition = ?',
      )
      .pluck();
    this.#selectOffsets = sqlite.prepare(
      'select topic, partition, next_offset as nextOffset from consumer_offsets order by topic, partition',
    );
    this.#upsertOffset = sqlite.prepare(
      'insert into consumer_offsets (topic, partition, next_offset) values (?, ?, ?) ' +
        'on conflict (topic, partition) do update set next_offset = excluded.next_offset',
    );
    this.#insertProcessed = sqlite.prepare(
      'insert into processed_events (event_id, at) values (?, ?) on conflict do nothing',
    );
    this.#selectProcessed = sqlite
      .prepare<[Buffer | string], number>('select 1 from processed_events where event_id = ?')
      .pluck();
    this.#insertProcessedUuids = sqlite.prepare(
      "insert into processed_events (event_id) select unhex(value, '-') from json_each(?) where true " +
        'on conflict do nothing',
    );
    this.#deleteProcessedBefore = sqlite.prepare('delete from processed_events where at < ?');
    this.#insertDeadLetter = sqlite.prepare(
      'insert into dead_letters (topic, partition, offset, key, value, issues, at) values (?, ?, ?, ?, ?, ?, ?) ' +
        'on conflict do nothing',
    );
    this.#bareFactKeysUntil =
      sqlite
        .prepare<[], number>("select value from projection_meta where key = 'bare_fact_keys_until'")
        .pluck()
        .get() ?? undefined;
  }

  nextOffset(topic: string, partition: number): number | undefined {
    return this.#selectOffset.get(topic, partition);
  }

  storedOffsets(): StoredOffset[] {
    return this.#selectOffsets.all();
  }

  saveOffset(topic: string, partition: number, nextOffset: number): void {
    this.#upsertOffset.run(topic, partition, nextOffset);
  }

  /**
   * Records an event id (`at`: when, for a service that forgets ids: `forgetProcessedBefore`);
   * false when it was already recorded (the same event published twice).
   */
  markProcessed(eventId: string, at?: number): boolean {
    return this.#insertProcessed.run(eventKey(eventId), at ?? null).changes === 1;
  }

  /**
   * `markProcessed` for an execution fact, keyed by its execution's nominal instant and its id
   * (`factKey`: facts arrive roughly in instant order, so the inserts land on the B-tree's
   * right-most leaves instead of a random one each).
   */
  markFactProcessed(eventId: string, nominalTime: number, at?: number): boolean {
    const bareUntil = this.#bareFactKeysUntil;
    // A fact recorded before facts were keyed by instant was recorded under its bare id: a read, not a write.
    if (
      bareUntil !== undefined &&
      nominalTime <= bareUntil &&
      this.#selectProcessed.get(eventKey(eventId)) === 1
    )
      return false;
    return this.#insertProcessed.run(factKey(eventId, nominalTime), at ?? null).changes === 1;
  }

  /**
   * Records many ids at once, canonical UUIDs in slices of a JSON array (a statement per
   * slice, not per id; `unhex(id, '-')` is eventKey's 16 bytes): a rebuild's ids, written in
   * key order once its projection is done.
   */
  recordProcessedIds(uuids: readonly string[], others: readonly string[]): void {
    for (let from = 0; from < uuids.length; from += IDS_PER_STATEMENT)
      this.#insertProcessedUuids.run(JSON.stringify(uuids.slice(from, from + IDS_PER_STATEMENT)));
    for (const id of others) this.#insertProcessed.run(eventKey(id), null);
  }

  /** Forgets the ids recorded before `at` (a fact republished later than that would be taken in again). */
  forgetProcessedBefore(at: number): number {
    return this.#deleteProcessedBefore.run(at).changes;
  }

  deadLetter(entry: DeadLetter): void {
    this.#insertDeadLetter.run(
      entry.topic,
      entry.partition,
      entry.offset,
      entry.key,
      entry.value,
      JSON.stringify(entry.issues),
      entry.at,
    );
  }
}
