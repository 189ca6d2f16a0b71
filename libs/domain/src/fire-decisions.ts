import { type Static } from '@sinclair/typebox';
import { type MisfirePolicySchema, type OverlapPolicySchema } from './task.js';

/**
 * The two decisions a scheduler takes about instants that are due, as pure functions: the
 * misfire policy (what to do with instants found late) and the overlap policy (what to do
 * with fires while the task is still running). The scheduler takes each in one place only:
 * the misfire decision when it plans a claim (`planDueFires`) and again when a claimed
 * instant is reached too late; the overlap decision at the moment an instant starts.
 */
export type MisfirePolicyName = Static<typeof MisfirePolicySchema>['policy'];
export type OverlapPolicy = Static<typeof OverlapPolicySchema>;

/**
 * Which of the missed instants are caught up. `onTimeCount` is how many instants fire on
 * time in the same decision: with `fire-once` an on-time fire already stands for the missed
 * ones. `maxCatchUp` keeps the newest of a `fire-all` backlog.
 */
export function decideCatchUp<T>(
  policy: MisfirePolicyName,
  missed: readonly T[],
  onTimeCount: number,
  maxCatchUp = Infinity,
): T[] {
  switch (policy) {
    case 'skip':
      return [];
    case 'fire-once':
      return onTimeCount === 0 && missed.length > 0 ? [missed.at(-1) as T] : [];
    case 'fire-all':
      return missed.slice(-Math.max(1, Math.min(maxCatchUp, missed.length)));
  }
}

export interface OverlapDecision<T> {
  /** Start now. */
  readonly start: readonly T[];
  /** Wait for the running execution (appended to what waits already, unless `dropWaiting`). */
  readonly wait: readonly T[];
  /** Recorded as skipped (reason `overlap`). */
  readonly skip: readonly T[];
  /** The executions already waiting are skipped too (buffer-one keeps only the newest). */
  readonly dropWaiting: boolean;
  /** The running executions are cancelled first (cancel-running). */
  readonly cancelRunning: boolean;
}

/**
 * What happens to `fires` (oldest first) falling due together while the task is `busy`
 * (an execution running or waiting). Catch-up fires are fires like any other: with `skip`
 * a backlog of missed instants starts its oldest and skips the rest instead of calling the
 * worker back to back; `buffer-all` is the policy that runs a backlog one after another.
 *
 * | policy         | not busy                          | busy                                 |
 * | -------------- | --------------------------------- | ------------------------------------ |
 * | allow          | all start                         | all start                            |
 * | skip           | oldest starts, others skipped     | all skipped                          |
 * | buffer-one     | newest starts, others skipped     | newest waits, older and waiting skipped |
 * | buffer-all     | oldest starts, others wait        | all wait                             |
 * | cancel-running | newest starts, others skipped     | running cancelled, newest starts, others skipped |
 */
export function decideOverlap<T>(
  policy: OverlapPolicy,
  busy: boolean,
  fires: readonly T[],
): OverlapDecision<T> {
  const none: OverlapDecision<T> = {
    start: [],
    wait: [],
    skip: [],
    dropWaiting: false,
    cancelRunning: false,
  };
  if (fires.length === 0) return none;
  const oldest = fires[0] as T;
  const newest = fires.at(-1) as T;
  switch (policy) {
    case 'allow':
      return { ...none, start: fires };
    case 'skip':
      return busy ? { ...none, skip: fires } : { ...none, start: [oldest], skip: fires.slice(1) };
    case 'buffer-one':
      return busy
        ? { ...none, wait: [newest], skip: fires.slice(0, -1), dropWaiting: true }
        : { ...none, start: [newest], skip: fires.slice(0, -1) };
    case 'buffer-all':
      return busy ? { ...none, wait: fires } : { ...none, start: [oldest], wait: fires.slice(1) };
    case 'cancel-running':
      return { ...none, start: [newest], skip: fires.slice(0, -1), cancelRunning: busy };
  }
}
