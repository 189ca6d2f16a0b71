import { fnv1a32 } from './hash.js';
import { type SchedulerTask } from './task.js';

/**
 * Exponential backoff with deterministic jitter: attempt n (the one that just failed)
 * waits base = initial * multiplier^(n-1), capped, then a hash-chosen point in
 * [base/2, base] ("equal jitter"), so concurrent failures spread out but a replayed
 * decision is the same.
 */
export function retryDelayMs(
  retry: SchedulerTask['retry'],
  failedAttempt: number,
  executionId: string,
): number {
  const base = Math.min(
    retry.maxBackoffMs,
    retry.initialBackoffMs * retry.multiplier ** Math.max(0, failedAttempt - 1),
  );
  const half = Math.floor(base / 2);
  return half + (fnv1a32(`${executionId}|${failedAttempt}`) % (base - half + 1));
}

export function shouldRetry(retry: SchedulerTask['retry'], failedAttempt: number): boolean {
  return failedAttempt < retry.maxAttempts;
}

/** The task's success contract: accepted statuses (default any 2xx) and an optional body pattern. */
/** The status half of the success contract (a caller can skip reading the body when it fails). */
export function isAcceptedStatus(success: SchedulerTask['target']['success'], status: number): boolean {
  return success.statusCodes === undefined
    ? status >= 200 && status < 300
    : success.statusCodes.includes(status);
}

export function isSuccessfulResponse(
  success: SchedulerTask['target']['success'],
  status: number,
  body: string,
): boolean {
  if (!isAcceptedStatus(success, status)) return false;
  return success.bodyPattern === undefined || new RegExp(success.bodyPattern).test(body);
}

/**
 * How long an execution may take in the worst case: every attempt timing out, with maximal
 * backoff between them. Until then a fact about a started execution may still be on its way.
 */
export function executionBudgetMs(task: Pick<SchedulerTask, 'retry' | 'target'>): number {
  const attempts = task.retry.maxAttempts;
  return attempts * task.target.timeoutMs + (attempts - 1) * task.retry.maxBackoffMs;
}
