import { type ZkClient, ZkOutbox, type ZnodeLayout, isZkError } from '@nono/coordination';
import {
  type Clock,
  type SchedulerTask,
  changedEvent,
  parseStoredTask,
  reviseTask,
  taskSpecOf,
} from '@nono/domain';
import { type Logger } from '@nono/runtime';

/** Pauses a task the way an operator would, as the scheduler (a `system` actor). */
export interface TaskPauser {
  /**
   * Pauses `task` with `note` if its stored definition is still that revision and running;
   * `changed` when someone changed, paused or deleted it meanwhile (nothing is written then).
   */
  pause(task: SchedulerTask, note: string): Promise<'paused' | 'changed'>;
}

export interface ZkTaskPauserOptions {
  /** The current session's client (it changes when a session is re-established). */
  readonly zk: () => ZkClient;
  readonly layout: ZnodeLayout;
  readonly clock: Clock;
  readonly log: Logger;
  readonly schedulerId: string;
  /** The CloudEvents source of the pause event. */
  readonly source: string;
}

/**
 * Writes the pause through the audit outbox, exactly as the API writes a change: the
 * `nono.task.paused.v1` event is staged, the definition set at its read version, the entry
 * committed; the API's relay publishes it. A task paused this way is resumed like any other.
 */
export class ZkTaskPauser implements TaskPauser {
  readonly #o: ZkTaskPauserOptions;

  constructor(options: ZkTaskPauserOptions) {
    this.#o = options;
  }

  async pause(task: SchedulerTask, note: string): Promise<'paused' | 'changed'> {
    const { layout, clock, log, schedulerId, source } = this.#o;
    const zk = this.#o.zk();
    const path = layout.task(task.id);
    try {
      const { data, stat } = await zk.get(path);
      const stored = parseStoredTask(JSON.parse(data.toString('utf8')));
      if (!stored.ok) return 'changed';
      const current = stored.value;
      if (current.revision !== task.revision || current.paused) return 'changed';
      const now = clock.now();
      const next = reviseTask(current, { ...taskSpecOf(current), paused: true, pausedNote: note }, now);
      const event = changedEvent(
        'nono.task.paused.v1',
        current,
        next,
        { actor: { id: schedulerId, kind: 'system' }, source, now },
        note,
      );
      // The API creates the outbox when it starts; a cluster may run schedulers before any API.
      await zk.ensurePath(layout.outbox);
      const outbox = new ZkOutbox({ zk, zkRoot: layout.root, clock, log });
      await outbox.record(event, () => zk.set(path, JSON.stringify(next), stat.version));
      return 'paused';
    } catch (error) {
      if (isZkError(error) && (error.isBadVersion || error.isNoNode)) return 'changed';
      throw error;
    }
  }
}
