import { type SchedulerTask, type TimerHandle } from '@nono/domain';
import { type VersionedFireState } from '../fence/fire-fence.js';
import { type Cancellation } from '../runner/cancellation.js';
import { type RunnableFire } from '../runner/execution-runner.js';
import { type ClaimedFire } from './engine.js';

/** What the engine holds for one task it owns (or has just released and still runs). */
export interface TaskRuntime {
  readonly taskId: string;
  /** The current definition; undefined when deleted or invalid. */
  task: SchedulerTask | undefined;
  /** The last valid definition seen, kept after a deletion so the facts of claimed instants can still be written. */
  lastKnown: SchedulerTask | undefined;
  fire: VersionedFireState | undefined;
  /** Instants at or before this are never planned (e.g. those that passed while paused). */
  baseline: number;
  /** Taken over from another scheduler at this instant: its late fires say "failover". */
  takenOverAt: number | undefined;
  readonly running: Map<string, Cancellation>;
  /** Waiting for the running execution (overlap `buffer-one`/`buffer-all`). */
  buffered: RunnableFire[];
  /** Claimed, not yet started, by `fireAt`. They start even after a release: the fence gave them to us. */
  pending: ClaimedFire[];
  /** Ended (here, or per a dead scheduler's record), still listed in the fire state: removed by the next claim or a delayed write. */
  readonly finished: Set<string>;
  finishFlush: TimerHandle | undefined;
  chain: Promise<void>;
  released: boolean;
  lostCheck: TimerHandle | undefined;
  /** Whether this process is still doing something with the execution (running, claimed, waiting or ended). */
  tracks(executionId: string): boolean;
}

export function newTaskRuntime(taskId: string): TaskRuntime {
  const runtime: TaskRuntime = {
    taskId,
    task: undefined,
    lastKnown: undefined,
    fire: undefined,
    baseline: -Infinity,
    takenOverAt: undefined,
    running: new Map(),
    buffered: [],
    pending: [],
    finished: new Set(),
    finishFlush: undefined,
    chain: Promise.resolve(),
    released: false,
    lostCheck: undefined,
    tracks: (executionId) =>
      runtime.running.has(executionId) ||
      runtime.finished.has(executionId) ||
      runtime.pending.some((fire) => holds(fire, executionId)) ||
      runtime.buffered.some((fire) => holds(fire, executionId)),
  };
  return runtime;
}

/** Whether a claimed fire is the execution, or an instant one of whose units it is. */
function holds(fire: RunnableFire, executionId: string): boolean {
  return (
    fire.executionId === executionId ||
    (fire.units?.some((unit) => unit.executionId === executionId) ?? false)
  );
}
