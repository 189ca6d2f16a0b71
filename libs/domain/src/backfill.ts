import { type EpochMs } from './instant.js';
import { type TaskTiming, nextTaskFireTime } from './task.js';

/**
 * Backfill: re-firing the past instants of a task under their original execution ids
 * (`scheduledExecutionId(taskId, nominal)`), so a worker that keeps idempotency keys
 * recognises an instant it already did. Pure: the API plans with these functions, the
 * scheduler decodes the plan's instants with them.
 */

/**
 * The most instants one backfill may list, whatever the override: the plan is one ZooKeeper
 * document (1 MiB at most) rewritten at every claim, and its in-flight set and counters must
 * stay small next to it.
 */
export const BACKFILL_HARD_MAX_INSTANTS = 10_000;

/** Without `allowLargeWindow`, a backfill window may span at most this long (7 days). */
export const DEFAULT_BACKFILL_MAX_WINDOW_MS = 7 * 24 * 3_600_000;

/**
 * The nominal instants the task's schedule names in `[from, to]` (both inclusive), within its
 * `startAt`/`endAt`, oldest first; `tooMany` when there are more than `maxInstants`.
 */
export function backfillInstants(
  task: TaskTiming,
  from: EpochMs,
  to: EpochMs,
  maxInstants: number,
): { ok: true; instants: EpochMs[] } | { ok: false; tooMany: true } {
  const instants: EpochMs[] = [];
  for (let next = nextTaskFireTime(task, from - 1); next !== undefined && next <= to;) {
    if (instants.length >= maxInstants) return { ok: false, tooMany: true };
    instants.push(next);
    next = nextTaskFireTime(task, next);
  }
  return { ok: true, instants };
}

/** What history knows of an instant's execution before the backfill. */
export interface PriorExecution {
  readonly status: string;
  /** The highest attempt number it reached (0: never attempted). */
  readonly attempts: number;
}

/** One instant the backfill will fire, and the attempt number its first call carries. */
export interface BackfillFire {
  readonly nominal: EpochMs;
  /**
   * One past the execution's earlier attempts: the backfill's calls are further attempts of
   * the same execution, so history keeps every attempt and the ledger does not take the
   * backfill's first call for a second start of the original one (a double).
   */
  readonly firstAttempt: number;
}

export interface BackfillSelection {
  readonly fire: BackfillFire[];
  /** Instants left out because they already succeeded (none with `force`). */
  readonly alreadySucceeded: EpochMs[];
}

/** Which of the window's instants the backfill fires: all but those that succeeded, unless forced. */
export function selectBackfillFires(
  instants: readonly EpochMs[],
  prior: ReadonlyMap<EpochMs, PriorExecution>,
  force: boolean,
): BackfillSelection {
  const fire: BackfillFire[] = [];
  const alreadySucceeded: EpochMs[] = [];
  for (const nominal of instants) {
    const before = prior.get(nominal);
    if (before?.status === 'succeeded' && !force) {
      alreadySucceeded.push(nominal);
      continue;
    }
    fire.push({ nominal, firstAttempt: (before?.attempts ?? 0) + 1 });
  }
  return { fire, alreadySucceeded };
}

/**
 * Instants as runs of an arithmetic progression, `[first, stepMs, count]`: a schedule's
 * instants are mostly evenly spaced, so a day of minutes is one run instead of 1,440 numbers,
 * and the plan document stays small although it is rewritten at every claim.
 */
export type InstantRun = [first: EpochMs, stepMs: number, count: number];

export function encodeInstantRuns(instants: readonly EpochMs[]): InstantRun[] {
  const runs: InstantRun[] = [];
  let i = 0;
  while (i < instants.length) {
    const first = instants[i] as EpochMs;
    const second = instants[i + 1];
    if (second === undefined) {
      runs.push([first, 0, 1]);
      break;
    }
    const step = second - first;
    let count = 2;
    while (
      i + count < instants.length &&
      (instants[i + count] as EpochMs) - (instants[i + count - 1] as EpochMs) === step
    )
      count += 1;
    runs.push([first, step, count]);
    i += count;
  }
  return runs;
}

export function decodeInstantRuns(runs: readonly InstantRun[]): EpochMs[] {
  const instants: EpochMs[] = [];
  for (const [first, step, count] of runs) for (let k = 0; k < count; k++) instants.push(first + k * step);
  return instants;
}

/** The attempt numbers of a plan as runs `[firstIndex, attempt, count]`: mostly all 1. */
export type AttemptRun = [firstIndex: number, attempt: number, count: number];

export function encodeAttemptRuns(fires: readonly BackfillFire[]): AttemptRun[] {
  const runs: AttemptRun[] = [];
  fires.forEach((fire, index) => {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === fire.firstAttempt && last[0] + last[2] === index) last[2] += 1;
    else runs.push([index, fire.firstAttempt, 1]);
  });
  return runs;
}

/** The first attempt number of the plan's `index`th instant (1 when no run names it). */
export function attemptAt(runs: readonly AttemptRun[], index: number): number {
  for (const [first, attempt, count] of runs) if (index >= first && index < first + count) return attempt;
  return 1;
}
