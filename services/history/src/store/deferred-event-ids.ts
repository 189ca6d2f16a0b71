/**
 * The `processed_events` ids of a fresh file being bulk loaded (a rebuild), kept in memory
 * and written once, in key order, by `drain`. Every projected event id is a random-key
 * insert into that B-tree (~4-5 µs on a 2-core dev machine, the largest single cost of a
 * rebuild); the same ids appended in key order cost a fraction of that. Only valid for a
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
   * Every id, sorted (a canonical lowercase UUID sorts as its 16-byte key does, so the
   * B-tree is filled in order), and empties the set.
   */
  drain(): string[] {
    const ids = [...this.#ids].sort();
    this.#ids.clear();
    this.#journal.length = 0;
    return ids;
  }
}
