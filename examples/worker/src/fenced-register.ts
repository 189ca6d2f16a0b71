/**
 * The pattern for a side effect that must not go backwards: every write carries the fencing
 * token nono sent (`Nono-Fencing-Token`, ZooKeeper's transaction id of the fire, monotonic
 * across the cluster), and the store refuses a write older than the last one it accepted.
 *
 * Why: a scheduler that lost ownership of a task (paused by GC, cut off from ZooKeeper) may
 * still be in the middle of a call it started before. The new owner's later fire carries a
 * higher token. Without the check, the late call of the old owner would overwrite the newer
 * result. With a database this is `UPDATE ... SET value = $1, token = $2 WHERE key = $3 AND token <= $2`.
 */
export interface RegisterEntry<T> {
  readonly value: T;
  readonly fencingToken: number;
}

export class FencedRegister<T> {
  readonly #entries = new Map<string, RegisterEntry<T>>();

  /** Stores `value` unless a write with a higher token came first; says which. */
  write(key: string, value: T, fencingToken: number): { applied: boolean; current: RegisterEntry<T> } {
    const current = this.#entries.get(key);
    if (current !== undefined && current.fencingToken > fencingToken) return { applied: false, current };
    const next = { value, fencingToken };
    this.#entries.set(key, next);
    return { applied: true, current: next };
  }

  snapshot(): Record<string, RegisterEntry<T>> {
    return Object.fromEntries(this.#entries);
  }
}
