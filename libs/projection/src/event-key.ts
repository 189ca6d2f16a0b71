import { writeInstantPrefix } from '@nono/domain';

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The `processed_events` key of an event id: a canonical (lowercase) UUID, which every id
 * nono derives is, as its 16 bytes (a third of the text's size, so a smaller and faster
 * B-tree); any other id as its text. SQLite orders and compares blobs and text apart, and
 * only the canonical spelling is packed, so two different ids never share a key.
 * Migrations that convert stored ids (history's 0001, alerts' 0002) use the same rule.
 */
export function eventKey(eventId: string): Buffer | string {
  return CANONICAL_UUID.test(eventId) ? Buffer.from(eventId.replaceAll('-', ''), 'hex') : eventId;
}

/**
 * The key of an execution fact: its execution's nominal instant (6 bytes, big-endian
 * milliseconds) followed by the event id's 16 bytes, 22 bytes in all.
 *
 * Why the prefix: event ids are derived hashes, so a bare id lands on a random leaf of the
 * B-tree, and each of a batch's thousands of inserts dirties a page of its own that the
 * commit then writes to the WAL (the largest cost of the projection in every profile).
 * Facts arrive roughly in nominal order, so prefixed keys land on the few right-most
 * leaves. The prefix keeps the key exact: an event id names one fact of one execution
 * (executionEventId), and an execution's nominal instant is part of its identity (the
 * execution id is derived from it, or fixed by the claim of a manual trigger), so every
 * copy of a fact has the same key. Lengths keep the forms apart: 16 bytes is a bare id
 * (other events, and facts recorded before a database keyed them by instant: projection_meta), 22 bytes a prefixed one.
 */
export function factKey(eventId: string, nominalTime: number): Buffer | string {
  if (!CANONICAL_UUID.test(eventId)) return eventId;
  const key = Buffer.allocUnsafe(22);
  writeInstantPrefix(key, nominalTime);
  key.write(eventId.replaceAll('-', ''), 6, 'hex');
  return key;
}
