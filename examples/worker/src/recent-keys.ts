/**
 * The worker's memory of executions it has already completed, by `Idempotency-Key`.
 *
 * nono delivers at least once: a scheduler that dies after the worker answered but before it
 * recorded the outcome, or a retry after a timeout whose first call did finish, sends the same
 * execution again, with the same key. Remembering the keys of recent successes turns those
 * repeats into a replay of the first answer instead of a second run.
 *
 * Only successes are remembered: a failed attempt must run again when nono retries it (with the
 * same key). A key whose first call is still running is "in flight": a concurrent duplicate gets
 * 409 (the IETF Idempotency-Key draft's answer), and nono's retry finds it completed later.
 *
 * Memory is bounded by count and age. A real worker with more than one replica keeps this in its
 * database, ideally in the same transaction as the job's effect (a unique index on the key).
 */
export interface CompletedCall {
  readonly status: number;
  readonly body: unknown;
  readonly completedAt: number;
}

export type KeyState =
  | { readonly kind: 'new' }
  | { readonly kind: 'in-flight' }
  | { readonly kind: 'completed'; readonly call: CompletedCall };

export class RecentKeys {
  readonly #completed = new Map<string, CompletedCall>();
  readonly #inFlight = new Set<string>();
  readonly #capacity: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: { capacity: number; ttlMs: number; now: () => number }) {
    this.#capacity = options.capacity;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now;
  }

  get size(): number {
    return this.#completed.size;
  }

  /** Looks the key up and, when it is new, marks it in flight (check and claim are one step). */
  claim(key: string): KeyState {
    this.#evictExpired();
    const call = this.#completed.get(key);
    if (call !== undefined) return { kind: 'completed', call };
    if (this.#inFlight.has(key)) return { kind: 'in-flight' };
    this.#inFlight.add(key);
    return { kind: 'new' };
  }

  /** The call succeeded: remember its answer for replays. */
  complete(key: string, status: number, body: unknown): void {
    this.#inFlight.delete(key);
    this.#completed.set(key, { status, body, completedAt: this.#now() });
    // A Map iterates in insertion order, so the first keys are the oldest.
    while (this.#completed.size > this.#capacity) {
      const oldest = this.#completed.keys().next();
      if (oldest.done === true) break;
      this.#completed.delete(oldest.value);
    }
  }

  /** The call failed: forget it, so that nono's retry (same key) runs the job again. */
  release(key: string): void {
    this.#inFlight.delete(key);
  }

  #evictExpired(): void {
    const horizon = this.#now() - this.#ttlMs;
    for (const [key, call] of this.#completed) {
      if (call.completedAt >= horizon) break;
      this.#completed.delete(key);
    }
  }
}
