import {
  type CancelRequest,
  type ZkClient,
  type ZkOutbox,
  type ZnodeLayout,
  cancelRequestDocument,
  isZkError,
  triggerRequestDocument,
} from '@nono/coordination';
import { type NonoEvent, type SchedulerTask, formatIssues, parseStoredTask } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { ApiError, ApiErrorCode } from '../errors.js';
import { mapZkError, recordWithOutbox } from '../zk-errors.js';
import { TaskIndex } from './task-index.js';
import { type TaskStore, type TriggerRequest, type VersionedTask } from './task-store.js';

/**
 * TaskStore over ZooKeeper. Each change follows the outbox protocol:
 *   1. stage the audit event (`/outbox/e-<seq>`, uncommitted),
 *   2. make the change with a versioned op,
 *   3. commit the entry (or discard it if the change was refused).
 * A crash between 1 and 3 leaves an uncommitted entry the relay judges later.
 */
export class ZkTaskStore implements TaskStore {
  readonly #zk: ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #outbox: ZkOutbox;
  readonly #log: Logger;
  readonly #index: TaskIndex;

  constructor(options: { zk: ZkClient; layout: ZnodeLayout; outbox: ZkOutbox; log: Logger }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#outbox = options.outbox;
    this.#log = options.log;
    this.#index = new TaskIndex(options);
  }

  async get(taskId: string): Promise<VersionedTask | undefined> {
    try {
      const { data, stat } = await this.#zk.get(this.#layout.task(taskId));
      return { task: this.#decode(taskId, data), version: stat.version };
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw mapZkError(error, 'read', taskId);
    }
  }

  /** From the watch-maintained index: a read view, never the basis of a write. */
  async list(): Promise<readonly VersionedTask[]> {
    try {
      return await this.#index.list();
    } catch (error) {
      throw mapZkError(error, 'read');
    }
  }

  create(task: SchedulerTask, event: NonoEvent): Promise<VersionedTask> {
    return this.#withOutbox(event, task.id, async () => {
      await this.#zk.create(this.#layout.task(task.id), JSON.stringify(task), 'persistent');
      // The create returns no stat; mzxid 0 lets the watch's read (with the real one) win.
      this.#index.recordWrite(task, { version: 0, mzxid: 0 });
      return { task, version: 0 };
    });
  }

  replace(current: VersionedTask, next: SchedulerTask, event: NonoEvent): Promise<VersionedTask> {
    return this.#withOutbox(event, next.id, async () => {
      const stat = await this.#zk.set(this.#layout.task(next.id), JSON.stringify(next), current.version);
      this.#index.recordWrite(next, stat);
      return { task: next, version: stat.version };
    });
  }

  async remove(current: VersionedTask, event: NonoEvent): Promise<void> {
    const taskId = current.task.id;
    await this.#withOutbox(event, taskId, () => this.#zk.delete(this.#layout.task(taskId), current.version));
    this.#index.recordDelete(taskId);
    // Best effort: a scheduler that still owns the task reads no definition and stops; leftovers are harmless.
    try {
      await this.#zk.deleteTree(this.#layout.fireState(taskId));
      for (const path of await this.#triggerPaths(taskId)) await this.#zk.deleteTree(path);
      for (const path of await this.#childrenOf(this.#layout.backfills, taskId))
        await this.#zk.deleteTree(path);
    } catch (error) {
      this.#log.warn(
        { err: error, taskId },
        'could not clean up the fire state and triggers of a deleted task',
      );
    }
  }

  /** Pending trigger requests of one task (flat `/triggers/<taskId>@<requestId>` nodes). */
  #triggerPaths(taskId: string): Promise<string[]> {
    return this.#childrenOf(this.#layout.triggers, taskId);
  }

  /** The task's nodes in a flat `<taskId>@<id>` folder (triggers, backfills). */
  async #childrenOf(parent: string, taskId: string): Promise<string[]> {
    const prefix = `${parent}/${taskId}@`;
    let names: string[];
    try {
      names = await this.#zk.children(parent);
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return [];
      throw error;
    }
    return names.map((name) => `${parent}/${name}`).filter((path) => path.startsWith(prefix));
  }

  async requestTrigger(taskId: string, request: TriggerRequest, event: NonoEvent): Promise<boolean> {
    try {
      await this.#zk.ensurePath(this.#layout.triggers);
    } catch (error) {
      throw mapZkError(error, 'write', taskId);
    }
    try {
      await this.#withOutbox(event, taskId, () =>
        this.#zk.create(
          this.#layout.trigger(taskId, request.requestId),
          triggerRequestDocument.encode(request),
          'persistent',
        ),
      );
      return true;
    } catch (error) {
      // The same request id again: the first request stands (and was audited then).
      if (error instanceof ApiError && error.code === ApiErrorCode.TaskExists) return false;
      throw error;
    }
  }

  async requestCancel(taskId: string, executionId: string, request: CancelRequest): Promise<boolean> {
    try {
      await this.#zk.ensurePath(this.#layout.cancels);
      await this.#zk.create(this.#layout.cancel(taskId, executionId), cancelRequestDocument.encode(request));
      return true;
    } catch (error) {
      if (isZkError(error) && error.isNodeExists) return false;
      throw mapZkError(error, 'write', taskId);
    }
  }

  #withOutbox<T>(event: NonoEvent, taskId: string, change: () => Promise<T>): Promise<T> {
    return recordWithOutbox(this.#outbox, event, change, (error, during) =>
      mapZkError(error, during, taskId),
    );
  }

  #decode(taskId: string, data: Buffer): SchedulerTask {
    let json: unknown;
    try {
      json = JSON.parse(data.toString('utf8'));
    } catch {
      json = undefined;
    }
    const parsed = parseStoredTask(json);
    // A malformed znode is someone else's bug; refuse to serve it rather than guess.
    if (!parsed.ok) throw new Error(`stored task ${taskId} is malformed: ${formatIssues(parsed.issues)}`);
    return parsed.value;
  }
}
