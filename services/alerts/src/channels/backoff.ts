import { jitterOffsetMs } from '@nono/domain';

export interface RetryPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A notification still undelivered this long after it was decided is marked failed. */
  readonly giveUpAfterMs: number;
}

/**
 * The delay before attempt `attempts + 1`: doubling from `initialMs` up to `maxMs`, plus up
 * to a tenth of it of jitter derived from the key (deterministic, so the same notification
 * backs off the same way, and many notifications to one receiver spread out).
 */
export function retryDelayMs(policy: RetryPolicy, attempts: number, key: string): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempts - 1));
  return base + jitterOffsetMs(key, attempts, Math.floor(base / 10));
}
