import { type IncomingHttpHeaders } from 'node:http';

/** Which call this is, as nono's headers say. */
export interface CallIdentity {
  readonly taskId: string | undefined;
  readonly executionId: string | undefined;
  /** The same for every attempt and every re-delivery of one execution (the execution id). */
  readonly idempotencyKey: string | undefined;
  /** 1 for the first call, 2 for the first retry, … */
  readonly attempt: number;
  /** Grows with every fire across the cluster: carry it into writes (`… WHERE token <= $token`). */
  readonly fencingToken: number | undefined;
  /** The instant the schedule names (RFC 3339), not the time of the call. */
  readonly nominalTime: string | undefined;
  /**
   * A shard of a `shard` task's instant (`Nono-Shard: index/count`): this call runs shard
   * `index` (0-based) of `count`; its parameters, if the task gives shard i any, are `parameters`.
   */
  readonly shard: { readonly index: number; readonly count: number } | undefined;
  /** The instant a shard or broadcast execution belongs to (`Nono-Instant-Id`): the same for all its shards and members. */
  readonly instantId: string | undefined;
}

/** What a job gets: the call's identity, its body, and a signal to stop by. */
export interface JobContext extends CallIdentity {
  /** When this call must be done: nono's `Nono-Deadline`, or sooner if the worker's own limit says so. */
  readonly deadline: Date;
  /** Aborts at the deadline, when nono hangs up, or when a drain runs out of time: stop then. */
  readonly signal: AbortSignal;
  /** A manual run's trigger parameters (the default body's `parameters`). */
  readonly parameters: Readonly<Record<string, unknown>> | undefined;
  /** The body, parsed as JSON (undefined when empty or not JSON). */
  readonly body: unknown;
  readonly rawBody: string;
  readonly method: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

/** The nono headers of a call, checked: a malformed one is the caller's error (400), named. */
export interface CallHeaders extends CallIdentity {
  readonly deadlineMs: number | undefined;
}

export function readCallHeaders(headers: IncomingHttpHeaders): CallHeaders | { readonly problem: string } {
  const header = (name: string): string | undefined => {
    const value = headers[name];
    const text = Array.isArray(value) ? value[0] : value;
    return text === undefined || text === '' ? undefined : text;
  };
  const fencingText = header('nono-fencing-token');
  const fencingToken = fencingText === undefined ? undefined : Number(fencingText);
  if (fencingToken !== undefined && !(Number.isSafeInteger(fencingToken) && fencingToken >= 0))
    return { problem: `Nono-Fencing-Token must be a non-negative integer (got "${fencingText}")` };
  const attemptText = header('nono-attempt') ?? '1';
  const attempt = Number(attemptText);
  if (!Number.isSafeInteger(attempt) || attempt < 1)
    return { problem: `Nono-Attempt must be a positive integer (got "${attemptText}")` };
  const shardText = header('nono-shard');
  const shardMatch = shardText === undefined ? undefined : /^(\d{1,4})\/(\d{1,4})$/.exec(shardText);
  const shard =
    shardMatch === undefined || shardMatch === null
      ? undefined
      : { index: Number(shardMatch[1]), count: Number(shardMatch[2]) };
  if (shardText !== undefined && (shard === undefined || shard.index >= shard.count))
    return { problem: `Nono-Shard must be index/count with index < count (got "${shardText}")` };
  const deadlineText = header('nono-deadline');
  const deadlineMs = deadlineText === undefined ? undefined : Date.parse(deadlineText);
  if (deadlineMs !== undefined && Number.isNaN(deadlineMs))
    return { problem: `Nono-Deadline must be an RFC 3339 instant (got "${deadlineText}")` };
  return {
    taskId: header('nono-task-id'),
    executionId: header('nono-execution-id'),
    idempotencyKey: header('idempotency-key'),
    attempt,
    fencingToken,
    nominalTime: header('nono-nominal-time'),
    shard,
    instantId: header('nono-instant-id'),
    deadlineMs,
  };
}

/** A job's failure with the status nono should see (a 4xx is not retried by the worker's health checks). */
export class JobError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'JobError';
    this.status = status;
  }
}
