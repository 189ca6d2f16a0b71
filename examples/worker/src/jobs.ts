/**
 * The example jobs. Each takes the call's context (the SDK's `JobContext` fits) with an
 * AbortSignal that fires at the call's deadline; a job that cannot finish in time stops
 * instead of working for a caller that has already given up.
 */
export interface JobContext {
  readonly executionId: string | undefined;
  readonly attempt: number;
  readonly query: URLSearchParams;
  readonly signal: AbortSignal;
}

export type JobResult =
  { readonly ok: true; readonly detail: string } | { readonly ok: false; readonly error: string };

export type Job = (context: JobContext) => Promise<JobResult>;

/** FNV-1a, 32 bits: a stable hash, so "random" failures are reproducible per execution and attempt. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('aborted', { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('aborted', { cause: signal.reason }));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export const DEFAULT_SLOW_MS = 4_000;

export function createJobs(): Record<string, Job> {
  let anonymousCalls = 0;
  return {
    ok: async () => ({ ok: true, detail: 'done' }),

    // Fails about one call in three. The choice hashes the execution id and the attempt, so a
    // retry (same execution, next attempt) usually succeeds, and a test can predict it.
    flaky: async ({ executionId, attempt }) => {
      anonymousCalls += 1;
      const seed = executionId === undefined ? `call-${anonymousCalls}` : `${executionId}:${attempt}`;
      return fnv1a32(seed) % 3 === 0
        ? { ok: false, error: 'flaky job failed (it fails about one call in three)' }
        : { ok: true, detail: 'done, this time' };
    },

    // Takes `?ms=` milliseconds (default 4 s), unless the time budget ends first.
    slow: async ({ query, signal }) => {
      const requested = Number(query.get('ms') ?? DEFAULT_SLOW_MS);
      const ms =
        Number.isFinite(requested) && requested >= 0 ? Math.min(requested, 600_000) : DEFAULT_SLOW_MS;
      await sleep(ms, signal);
      return { ok: true, detail: `done after ${ms} ms` };
    },
  };
}
