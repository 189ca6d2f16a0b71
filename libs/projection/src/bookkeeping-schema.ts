import { blob, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * The bookkeeping tables of a service that keeps its own database of what it read from the
 * topics (history, alerts): where each partition stands, which events it has seen, what it
 * could not read, and its settings. One definition each: every service re-exports these from
 * its schema, so drizzle-kit writes each service's migrations from the same tables.
 */

export const consumerOffsets = sqliteTable(
  'consumer_offsets',
  {
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    /** The offset of the next record to read (Kafka's committed-offset convention). */
    nextOffset: integer('next_offset').notNull(),
  },
  (table) => [primaryKey({ columns: [table.topic, table.partition] })],
);

/**
 * The ids of the events already taken in: what drops the same fact published twice. A
 * canonical (lowercase) UUID is stored as its 16 bytes, an execution fact's as its nominal
 * instant and its 16 bytes, any other id as its text (see event-key.ts), in a WITHOUT ROWID
 * table (one B-tree instead of a table plus an index). drizzle cannot declare WITHOUT ROWID:
 * the services' migrations create the table by hand.
 */
export const processedEvents = sqliteTable('processed_events', {
  eventId: blob('event_id', { mode: 'buffer' }).primaryKey(),
  /** When it was taken in, for a service that forgets ids after a while (alerts); null where ids are kept for good (history). */
  at: integer('at'),
});

/**
 * Settings of the consumer's own bookkeeping. `bare_fact_keys_until`: facts of executions
 * nominally at or before this instant may have been recorded under their bare id (before
 * the database keyed facts by instant), so they are also looked up that way.
 */
export const projectionMeta = sqliteTable('projection_meta', {
  key: text('key').primaryKey(),
  value: integer('value').notNull(),
});

/** Records that are not valid events, kept with what was wrong (never guessed at). */
export const deadLetters = sqliteTable(
  'dead_letters',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    offset: integer('offset').notNull(),
    key: text('key'),
    value: text('value'),
    issues: text('issues', { mode: 'json' }).notNull(),
    at: integer('at').notNull(),
  },
  (table) => [uniqueIndex('dead_letters_record').on(table.topic, table.partition, table.offset)],
);
