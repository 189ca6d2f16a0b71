import {
  type CallOutcome,
  type FencingStore,
  type GroupMembershipOptions,
  type IdempotencyStore,
  type JobContext,
  JobError,
  NonoWorker,
  type WorkerLog,
} from '@nono/worker';
import { FencedRegister } from './fenced-register.js';
import { createJobs } from './jobs.js';

export interface ExampleWorkerOptions {
  /** The longest a job runs, whatever the deadline nono sends (WORKER_TIME_BUDGET_MS). */
  readonly maxJobMs: number;
  /** nono's Standard Webhooks secrets (WORKER_WEBHOOK_SECRETS); none: calls are not verified. */
  readonly webhookSecrets?: readonly string[];
  /** Where Idempotency-Keys and fencing tokens are kept (memory by default; SQLite with WORKER_STATE_DB). */
  readonly idempotency?: IdempotencyStore;
  readonly fencing?: FencingStore;
  /** Joins a worker group (WORKER_GROUP and friends). */
  readonly group?: GroupMembershipOptions;
  readonly drainTimeoutMs?: number;
  readonly log?: WorkerLog;
  readonly now?: () => number;
}

const TIME_BUDGET_HEADER = 'x-time-budget-ms';

/**
 * A task may ask for less time than nono's deadline gives (`X-Time-Budget-Ms` in its
 * `target.headers`): the job then runs under a signal that also aborts when that budget ends,
 * and the call is answered 503 saying so.
 */
async function withinTimeBudget<T>(
  context: JobContext,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const text = context.headers[TIME_BUDGET_HEADER];
  const asked = typeof text === 'string' ? Number(text) : Number.NaN;
  if (!(Number.isFinite(asked) && asked > 0)) return run(context.signal);
  const budget = AbortSignal.timeout(asked);
  try {
    return await run(AbortSignal.any([context.signal, budget]));
  } catch (error) {
    if (budget.aborted && !context.signal.aborted)
      throw new JobError(503, `the time budget of ${asked} ms ran out`);
    throw error;
  }
}

/** What the worker keeps per task: the last execution that wrote its result. */
export interface LastRun {
  readonly executionId: string | undefined;
  readonly nominalTime: string | undefined;
  readonly job: string;
  readonly attempt: number;
}

interface Counts {
  succeeded: number;
  failed: number;
  replayed: number;
  refused: number;
}

/**
 * The example worker on the SDK (`@nono/worker`): three jobs at `/jobs/<name>`, and `/state`.
 * The SDK handles nono's contract for each call (signature, Idempotency-Key, stale fencing
 * tokens, the deadline as an AbortSignal, group membership, the drain); the jobs are plain
 * functions of their context. Each job writes its task's last result fenced by the token, the
 * pattern for a side effect that must not go backwards.
 */
export function buildWorker(options: ExampleWorkerOptions): NonoWorker {
  const lastRuns = new FencedRegister<LastRun>();
  const counts: Record<string, Counts> = {};
  const countFor = (job: string): Counts =>
    (counts[job] ??= { succeeded: 0, failed: 0, replayed: 0, refused: 0 });
  const observe = ({ path, outcome }: CallOutcome): void => {
    const job = path.replace(/^\/jobs\//, '');
    if (outcome === 'succeeded' || outcome === 'failed' || outcome === 'replayed')
      countFor(job)[outcome] += 1;
    else if (outcome === 'duplicate' || outcome === 'stale') countFor(job).refused += 1;
  };
  const worker = new NonoWorker({
    maxJobMs: options.maxJobMs,
    observe,
    ...(options.webhookSecrets === undefined ? {} : { webhookSecrets: options.webhookSecrets }),
    ...(options.idempotency === undefined ? {} : { idempotency: options.idempotency }),
    ...(options.fencing === undefined ? {} : { fencing: options.fencing }),
    ...(options.group === undefined ? {} : { group: options.group }),
    ...(options.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: options.drainTimeoutMs }),
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  for (const [name, job] of Object.entries(createJobs())) {
    worker.job(`/jobs/${name}`, async (context: JobContext) => {
      const result = await withinTimeBudget(context, (signal) => job({ ...context, signal }));
      if (!result.ok) throw new JobError(500, result.error);
      // false: a call with a newer fencing token already wrote this task's result, so this
      // (older) one did its work but did not overwrite it.
      const write = lastRuns.write(
        context.taskId ?? 'anonymous',
        {
          executionId: context.executionId,
          nominalTime: context.nominalTime,
          job: name,
          attempt: context.attempt,
        },
        context.fencingToken ?? 0,
      );
      return {
        job: name,
        taskId: context.taskId,
        executionId: context.executionId,
        attempt: context.attempt,
        detail: result.detail,
        applied: write.applied,
      };
    });
  }
  worker.read('/state', () => ({ counts, lastRuns: lastRuns.snapshot() }));
  return worker;
}
