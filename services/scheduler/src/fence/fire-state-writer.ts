import { type Clock, parseInstant } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type FencePort, type FireState, type VersionedFireState } from './fire-fence.js';

/** The identity of a task's incarnation: a task re-created under the same id is another one. */
export interface TaskIncarnation {
  readonly id: string;
  readonly createdAt: string;
}

export type FireStateUpdate =
  | { readonly kind: 'written'; readonly fire: VersionedFireState; readonly fencingToken: number }
  | { readonly kind: 'unchanged'; readonly fire: VersionedFireState }
  /** The state is gone (the task was deleted): nothing is written, nothing is re-created. */
  | { readonly kind: 'gone' };

/** How many times a housekeeping write re-reads and retries after losing a compare-and-set. */
const UPDATE_ATTEMPTS = 10;

/**
 * Every write to a task's fire state goes through here. Two kinds:
 *
 * - `claim`: one compare-and-set. Losing it means another scheduler claimed the instants:
 *   the caller stands down, never retries with the same instants.
 * - `update(mutate)`: housekeeping (taking ended executions off, settling lost ones, recording
 *   a manual fire). On a lost compare-and-set it re-reads and applies `mutate` to the fresh
 *   state, so `mutate` must be a pure function of the state it is given.
 *
 * `load` is the only place a state is created, and it ties the state to the task's
 * incarnation (its `createdAt`): the state a deleted task left is never adopted by a new task
 * of the same id, whose instants begin at its own creation.
 */
export class FireStateWriter {
  readonly #fence: FencePort;
  readonly #clock: Clock;
  readonly #log: Logger;

  constructor(fence: FencePort, clock: Clock, log: Logger) {
    this.#fence = fence;
    this.#clock = clock;
    this.#log = log;
  }

  /** The task's state for this incarnation, created (starting at the task's creation) when missing. */
  async load(task: TaskIncarnation): Promise<VersionedFireState> {
    const createdAt = parseInstant(task.createdAt) ?? this.#clock.now();
    const fresh = (inflight: FireState['inflight'] = {}): FireState => ({
      taskIncarnation: task.createdAt,
      lastNominal: createdAt,
      runCount: 0,
      inflight,
      manualDone: [],
    });
    for (;;) {
      const stored = await this.#fence.read(task.id);
      if (stored === undefined) {
        await this.#fence.create(task.id, fresh()); // lost a race to another creator: read theirs
        continue;
      }
      const { state } = stored;
      if (state !== undefined && sameIncarnation(state, task.createdAt, createdAt))
        return { state: { ...state, taskIncarnation: task.createdAt }, version: stored.version };
      let replacement: FireState;
      if (state === undefined) {
        // A corrupt state must not stop the task forever; starting from now never refires the past.
        this.#log.error(
          { taskId: task.id, problem: stored.problem },
          'fire state unreadable: starting it anew from now',
        );
        replacement = { ...fresh(), lastNominal: Math.max(createdAt, this.#clock.now()) };
      } else {
        // Left by a deleted task of the same id. Its executions stay listed, marked as theirs,
        // so they are still settled (and never re-run under this definition).
        const previous = state.taskIncarnation ?? 'before-incarnations';
        const inflight = Object.fromEntries(
          Object.entries(state.inflight).map(([id, entry]) => [
            id,
            { ...entry, taskIncarnation: entry.taskIncarnation ?? previous },
          ]),
        );
        this.#log.info(
          { taskId: task.id, previous },
          'fire state of an earlier task with this id: starting anew',
        );
        replacement = fresh(inflight);
      }
      const written = await this.#fence.write(task.id, stored.version, replacement);
      if (written.ok) return { state: replacement, version: written.version };
    }
  }

  claim(taskId: string, current: VersionedFireState, next: FireState) {
    return this.#fence.write(taskId, current.version, next);
  }

  async update(
    taskId: string,
    current: VersionedFireState | undefined,
    mutate: (state: FireState) => FireState | undefined,
  ): Promise<FireStateUpdate> {
    let base = current;
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      if (base === undefined) {
        const stored = await this.#fence.read(taskId);
        if (stored?.state === undefined) return { kind: 'gone' };
        base = { state: stored.state, version: stored.version };
      }
      const next = mutate(base.state);
      if (next === undefined) return { kind: 'unchanged', fire: base };
      const written = await this.#fence.write(taskId, base.version, next);
      if (written.ok)
        return {
          kind: 'written',
          fire: { state: next, version: written.version },
          fencingToken: written.fencingToken,
        };
      if (written.reason === 'absent') return { kind: 'gone' };
      base = undefined;
    }
    throw new Error(`fire state of ${taskId}: ${UPDATE_ATTEMPTS} compare-and-set conflicts in a row`);
  }
}

/**
 * A state stored before incarnations were recorded belongs to this task unless it ends before
 * the task was created: a task's state starts at its creation and only moves forward.
 */
function sameIncarnation(state: FireState, incarnation: string, createdAt: number): boolean {
  return state.taskIncarnation === undefined
    ? state.lastNominal >= createdAt
    : state.taskIncarnation === incarnation;
}
