/**
 * The `processed_events` ids of a fresh file being bulk loaded (a rebuild), kept in memory
 * and written once, in key order, after `drain`: the ids of events other than execution
 * facts (those are keyed by instant, `factKey`, and written as they come). A bare id is a
 * random-key insert into that B-tree (~4-5 µs on a 2-core dev machine when every event
 * took one); the same ids appended in key order cost a fraction of that. Only valid for a
 * table that starts empty and is written by nothing else until `drain` (as AbsenceFilter):
 * an id is then a duplicate exactly when it is in this set.
 *
 * Adds are journaled so a rolled-back transaction or savepoint (per-record isolation) can
 * take its ids back with `undoTo`, as SQLite would have taken back its rows.
 */
export class DeferredEventIds {
  readonly #ids = new Set<string>();
  readonly #journal: string[] = [];

  /** False when the id was already added (a republished duplicate). */
  add(eventId: string): boolean {
    if (this.#ids.has(eventId)) return false;
    this.#ids.add(eventId);
    this.#journal.push(eventId);
    return true;
  }

  /** A mark to undo to: the number of journaled adds. */
  mark(): number {
    return this.#journal.length;
  }

  /** Takes back every add since `mark`. */
  undoTo(mark: number): void {
    for (let i = this.#journal.length - 1; i >= mark; i -= 1) this.#ids.delete(this.#journal[i] as string);
    this.#journal.length = Math.min(this.#journal.length, mark);
  }

  /** Forgets the journal (nothing before this point can be rolled back any more). */
  settle(): void {
    this.#journal.length = 0;
  }

  /**
   * Every id, and empties the set: `uuids`, the canonical lowercase UUIDs (stored as their
   * 16 bytes, see eventKey) in key order, so the B-tree is filled in order; `others`, the
   * rest (stored as text), in no particular order.
   */
  drain(): { uuids: string[]; others: string[] } {
    const uuids: string[] = [];
    const others: string[] = [];
    for (const id of this.#ids) (CANONICAL_UUID.test(id) ? uuids : others).push(id);
    this.#ids.clear();
    this.#journal.length = 0;
    return { uuids: sortUuids(uuids), others };
  }
}

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Canonical UUIDs in key order (the order of their 16 bytes, which is their string order).
 * A string sort of a million ids takes about a second; instead each id's leading bits and
 * its index are packed into one exact float64 (53 bits), the Float64Array is sorted
 * natively, and the rare runs sharing those leading bits are sorted as strings.
 */
function sortUuids(uuids: readonly string[]): string[] {
  const n = uuids.length;
  const indexBits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const prefixBits = Math.min(32, 53 - indexBits);
  const indexScale = 2 ** indexBits;
  const prefixScale = 2 ** (32 - prefixBits);
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i += 1) {
    const prefix = Math.floor(Number.parseInt((uuids[i] as string).slice(0, 8), 16) / prefixScale);
    packed[i] = prefix * indexScale + i;
  }
  packed.sort();
  const sorted = new Array<string>(n);
  for (let i = 0; i < n; i += 1) sorted[i] = uuids[(packed[i] as number) % indexScale] as string;
  // Ids sharing the packed prefix are in arrival order: sort each such run.
  for (let start = 0; start < n;) {
    const prefix = Math.floor((packed[start] as number) / indexScale);
    let end = start + 1;
    while (end < n && Math.floor((packed[end] as number) / indexScale) === prefix) end += 1;
    if (end - start > 1) {
      const run = sorted.slice(start, end).sort();
      for (let i = 0; i < run.length; i += 1) sorted[start + i] = run[i] as string;
    }
    start = end;
  }
  return sorted;
}
