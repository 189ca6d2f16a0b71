const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The `processed_events` key of an event id: a canonical (lowercase) UUID, which every id
 * nono derives is, as its 16 bytes (a third of the text's size, so a smaller and faster
 * B-tree); any other id as its text. SQLite orders and compares blobs and text apart, and
 * only the canonical spelling is packed, so two different ids never share a key.
 * Migration 0001 converts stored ids with the same rule.
 */
export function eventKey(eventId: string): Buffer | string {
  return CANONICAL_UUID.test(eventId) ? Buffer.from(eventId.replaceAll('-', ''), 'hex') : eventId;
}
