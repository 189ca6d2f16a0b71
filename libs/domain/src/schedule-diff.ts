import { type EpochMs } from './instant.js';
import { type TaskTiming, nextTaskFireTime } from './task.js';

/** What a change of timing does to the instants of a window: those it adds, those it removes. */
export interface ScheduleDiff {
  readonly from: EpochMs;
  readonly until: EpochMs;
  /**
   * How far both schedules were walked: `until`, unless one of them has more than
   * `maxInstants` instants in the window (a per-second cron has 604,800 a week); the counts
   * are then those of the window up to here.
   */
  readonly checkedUntil: EpochMs;
  readonly added: InstantChanges;
  readonly removed: InstantChanges;
  /** Instants both timings have. */
  readonly kept: number;
}

export interface InstantChanges {
  readonly count: number;
  /** The earliest ones, at most `listLimit`. */
  readonly first: readonly EpochMs[];
}

export interface ScheduleDiffOptions {
  readonly listLimit?: number;
  readonly maxInstants?: number;
}

/**
 * The nominal instants in `(from, until]` that `after` has and `before` has not (added), and
 * the reverse (removed): what an operator should see before saving a schedule change. Both
 * timings are walked in step, so the cost is the number of instants, at most `maxInstants`
 * of each (default 100,000).
 */
export function diffSchedules(
  before: TaskTiming,
  after: TaskTiming,
  from: EpochMs,
  until: EpochMs,
  options: ScheduleDiffOptions = {},
): ScheduleDiff {
  const listLimit = options.listLimit ?? 20;
  const maxInstants = options.maxInstants ?? 100_000;
  const added: EpochMs[] = [];
  const removed: EpochMs[] = [];
  let addedCount = 0;
  let removedCount = 0;
  let kept = 0;
  let walked = 0;
  const next = (timing: TaskTiming, cursor: EpochMs): EpochMs | undefined => {
    const instant = nextTaskFireTime(timing, cursor);
    return instant === undefined || instant > until ? undefined : instant;
  };
  let a = next(before, from);
  let b = next(after, from);
  let checkedUntil = until;
  while (a !== undefined || b !== undefined) {
    if (walked >= maxInstants) {
      // Everything before the smaller cursor has been compared on both sides.
      checkedUntil = Math.min(a ?? until, b ?? until) - 1;
      break;
    }
    walked++;
    if (a !== undefined && (b === undefined || a < b)) {
      if (removed.length < listLimit) removed.push(a);
      removedCount++;
      a = next(before, a);
    } else if (b !== undefined && (a === undefined || b < a)) {
      if (added.length < listLimit) added.push(b);
      addedCount++;
      b = next(after, b);
    } else if (a !== undefined) {
      const both = a;
      kept++;
      a = next(before, both);
      b = next(after, both);
    }
  }
  return {
    from,
    until,
    checkedUntil,
    added: { count: addedCount, first: added },
    removed: { count: removedCount, first: removed },
    kept,
  };
}
