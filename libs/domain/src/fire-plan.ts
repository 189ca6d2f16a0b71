import { decideCatchUp } from './fire-decisions.js';
import { type EpochMs } from './instant.js';
import { type SchedulerTask, nextTaskFireTime } from './task.js';

/**
 * What to do with the instants that are due for a task, given how far its fire state
 * has advanced (`lastNominal`) and the time now. Pure, so failover and long pauses are
 * tested with a manual clock instead of killed processes.
 *
 * A due instant at most `misfireThresholdMs` old is *on time* and fires, however many
 * there are (a scheduler that stalled for two seconds fires both instants, late); older
 * due instants were *missed* (nobody owned the task, or every scheduler was down) and
 * follow the task's misfire policy, within its catch-up window and maximum count.
 */
export interface FirePlan {
  /** Instants to fire, oldest first. */
  readonly fire: ReadonlyArray<{ readonly nominal: EpochMs; readonly onTime: boolean }>;
  /** Missed instants with what the policy decided; each becomes an `execution.misfired` event. */
  readonly misfired: ReadonlyArray<{ readonly nominal: EpochMs; readonly action: 'fire' | 'skip' }>;
  /** Due instants older than the catch-up window: never fired, each recorded as skipped (`catch-up-window`). */
  readonly expired: readonly EpochMs[];
  /** Instants the policy would fire but `maxRuns` does not allow: each recorded as skipped (`max-runs`). */
  readonly overRunLimit: readonly EpochMs[];
  /**
   * Due instants on a date an exclusion calendar of the task excludes: never fired, never
   * counted as runs, each recorded as skipped (`calendar`).
   */
  readonly excluded: ReadonlyArray<{ readonly nominal: EpochMs; readonly calendar: string }>;
  /** The fire state's new `lastNominal` once the plan is carried out (undefined: nothing was due). */
  readonly advanceTo: EpochMs | undefined;
}

export interface FirePlanOptions {
  readonly misfireThresholdMs: number;
  /** How many more runs `maxRuns` allows (Infinity when unbounded). */
  readonly runsLeft: number;
  /**
   * Plan the instants due up to here (default: `now`). A scheduler claims instants a little
   * before they fall due, so the fence write is not on the path of the fire; such future
   * instants are on time.
   */
  readonly until?: EpochMs;
  /** Safety cap on how many due instants are examined in one plan. */
  readonly maxExamined?: number;
  /** The exclusion calendar that rules the instant out, if any (see calendar.ts). */
  readonly excludedBy?: (nominal: EpochMs) => string | undefined;
}

export function planDueFires(
  task: SchedulerTask,
  lastNominal: EpochMs,
  now: EpochMs,
  options: FirePlanOptions,
): FirePlan {
  const maxExamined = options.maxExamined ?? 100_000;
  const until = Math.max(now, options.until ?? now);
  const windowStart = now - task.misfire.catchUpWindowMs;
  const due: EpochMs[] = [];
  const expired: EpochMs[] = [];
  const excluded: Array<{ nominal: EpochMs; calendar: string }> = [];
  let lastDue: EpochMs | undefined;
  for (let cursor = lastNominal, examined = 0; examined < maxExamined; examined++) {
    const next = nextTaskFireTime(task, cursor);
    if (next === undefined || next > until) break;
    lastDue = next;
    cursor = next;
    const calendar = options.excludedBy?.(next);
    if (calendar !== undefined) excluded.push({ nominal: next, calendar });
    else if (next < windowStart) expired.push(next);
    else due.push(next);
  }
  if (lastDue === undefined)
    return { fire: [], misfired: [], expired: [], overRunLimit: [], excluded: [], advanceTo: undefined };

  // Late is not missed: every due instant within the threshold still fires on its own.
  const onTime = due.filter((nominal) => now - nominal <= options.misfireThresholdMs);
  const missed = due.filter((nominal) => now - nominal > options.misfireThresholdMs);

  const catchUp = decideCatchUp(task.misfire.policy, missed, onTime.length, task.misfire.maxCatchUp);
  const catchUpSet = new Set(catchUp);
  const fire = [
    ...catchUp.map((nominal) => ({ nominal, onTime: false })),
    ...onTime.map((nominal) => ({ nominal, onTime: true })),
  ];
  // A run limit keeps the newest: of a backlog, the latest instants matter most.
  const cut = fire.length - Math.max(0, Math.min(fire.length, options.runsLeft));
  const allowed = fire.slice(cut);
  return {
    fire: allowed,
    misfired: missed.map((nominal) => ({
      nominal,
      action: catchUpSet.has(nominal) && allowed.some((f) => f.nominal === nominal) ? 'fire' : 'skip',
    })),
    expired,
    overRunLimit: fire.slice(0, cut).map((f) => f.nominal),
    excluded,
    advanceTo: lastDue,
  };
}
