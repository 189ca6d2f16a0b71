/**
 * The worker's memory of what it did, behind two small ports so that a worker with several
 * processes (the members of a group) can share it: `MemoryIdempotencyStore`/`MemoryFencingStore`
 * for one process, the SQLite ones (`@nono/worker/sqlite`) for processes sharing a file, or your
 * own over your database (ideally in the same transaction as the job's effect).
 */

/** A completed call, replayed to a repeat of its Idempotency-Key. */
export interface CompletedCall {
  readonly status: number;
  /** The JSON body it was answered with. */
  readonly body: string;
}

export type KeyClaim =
  | { readonly kind: 'new' }
  /** Another call with this key is running (until its claim expires). */
  | { readonly kind: 'running' }
  | { readonly kind: 'completed'; readonly call: CompletedCall };

/**
 * Idempotency-Keys: nono sends the same key with every attempt and every re-delivery of one
 * execution. A key is claimed before the job runs (check and claim are one step), completed
 * with its answer when the job succeeded, released when it failed (a retry must run it again).
 * A claim lapses at `until` (the call's deadline), so a process that died mid-job does not hold
 * its key forever.
 */
export interface IdempotencyStore {
  claim(key: string, until: number, now: number): Promise<KeyClaim> | KeyClaim;
  complete(key: string, call: CompletedCall, now: number): Promise<void> | void;
  release(key: string): Promise<void> | void;
}

/**
 * Fencing tokens per task: `Nono-Fencing-Token` grows with every fire across the cluster, so a
 * call carrying a lower token than one this worker already admitted for the task comes from an
 * owner that has since been replaced. `admit` records the token when it is not lower.
 */
export interface FencingStore {
  admit(taskId: string, token: number): Promise<FencingVerdict> | FencingVerdict;
}

export type FencingVerdict =
  { readonly admitted: true } | { readonly admitted: false; readonly newest: number };

/** Keys in this process's memory: bounded by count and age (oldest completions go first). */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #completed = new Map<string, CompletedCall & { readonly at: number }>();
  readonly #running = new Map<string, number>();
  readonly #capacity: number;
  readonly #ttlMs: number;

  constructor(options: { capacity?: number; ttlMs?: number } = {}) {
    this.#capacity = options.capacity ?? 10_000;
    this.#ttlMs = options.ttlMs ?? 3_600_000;
  }

  claim(key: string, until: number, now: number): KeyClaim {
    for (const [oldKey, call] of this.#completed) {
      // A Map iterates in insertion order: the first completions are the oldest.
      if (call.at >= now - this.#ttlMs) break;
      this.#completed.delete(oldKey);
    }
    const call = this.#completed.get(key);
    if (call !== undefined) return { kind: 'completed', call: { status: call.status, body: call.body } };
    const claimedUntil = this.#running.get(key);
    if (claimedUntil !== undefined && claimedUntil > now) return { kind: 'running' };
    this.#running.set(key, until);
    return { kind: 'new' };
  }

  complete(key: string, call: CompletedCall, now: number): void {
    this.#running.delete(key);
    this.#completed.set(key, { ...call, at: now });
    while (this.#completed.size > this.#capacity) {
      const oldest = this.#completed.keys().next();
      if (oldest.done === true) break;
      this.#completed.delete(oldest.value);
    }
  }

  release(key: string): void {
    this.#running.delete(key);
  }

  get size(): number {
    return this.#completed.size;
  }
}

/** The newest token per task in this process's memory. */
export class MemoryFencingStore implements FencingStore {
  readonly #newest = new Map<string, number>();

  admit(taskId: string, token: number): FencingVerdict {
    const newest = this.#newest.get(taskId);
    if (newest !== undefined && token < newest) return { admitted: false, newest };
    this.#newest.set(taskId, token);
    return { admitted: true };
  }
}
