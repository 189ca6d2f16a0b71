import { type Stat, type WatchEvent, type ZkClient, type ZnodeLayout, isZkError } from '@nono/coordination';
import { formatIssues, parseStoredTask } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { lowerBound } from './task-query.js';
import { type VersionedTask } from './task-store.js';

interface Indexed extends VersionedTask {
  /** ZooKeeper's transaction id of the last change: orders updates from watches and own writes. */
  readonly mzxid: number;
}

/**
 * Every task definition, kept current by ZooKeeper watches, so listing does not read N
 * znodes per request (500 tasks: about 4 lists/s without it). It is a read model:
 * eventually consistent with ZooKeeper, updated at once by this process's own writes (so
 * a client reads its own writes here), and never used to decide a write: writes are
 * compare-and-set on the version the client sent or just read from ZooKeeper itself.
 */
export class TaskIndex {
  readonly #zk: ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #log: Logger;
  readonly #tasks = new Map<string, Indexed>();
  /** The same entries in ascending id order, kept sorted on every change (binary search, no re-sort per list). */
  readonly #sorted: Indexed[] = [];
  /** Ids with a data watch registered: each needs exactly one read, then watches keep it current. */
  readonly #watched = new Set<string>();
  #synced: Promise<void> | undefined;
  #syncing = false;
  #syncAgain = false;

  constructor(options: { zk: ZkClient; layout: ZnodeLayout; log: Logger }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#log = options.log;
  }

  /**
   * All tasks in ascending id order; the first call loads them and starts watching. The
   * array is the index itself, not a copy (a copy of 10,000 entries per list was most of a
   * list's garbage): read it synchronously, before the next await.
   */
  async list(): Promise<readonly VersionedTask[]> {
    this.#synced ??= this.#syncChildren().catch((error: unknown) => {
      this.#synced = undefined; // try again on the next call
      throw error;
    });
    await this.#synced;
    return this.#sorted;
  }

  /** Records a write this process made (read-your-writes for its own clients). */
  recordWrite(task: VersionedTask['task'], stat: Pick<Stat, 'version' | 'mzxid'>): void {
    this.#apply(task.id, { task, version: stat.version, mzxid: stat.mzxid });
  }

  recordDelete(taskId: string): void {
    this.#drop(taskId);
  }

  #apply(taskId: string, entry: Indexed): void {
    const known = this.#tasks.get(taskId);
    if (known === undefined || entry.mzxid >= known.mzxid) this.#put(taskId, entry);
  }

  #put(taskId: string, entry: Indexed): void {
    const at = lowerBound(this.#sorted, taskId);
    if (this.#tasks.has(taskId)) this.#sorted[at] = entry;
    else this.#sorted.splice(at, 0, entry);
    this.#tasks.set(taskId, entry);
  }

  #drop(taskId: string): void {
    if (!this.#tasks.delete(taskId)) return;
    this.#sorted.splice(lowerBound(this.#sorted, taskId), 1);
  }

  async #syncChildren(): Promise<void> {
    let ids: string[];
    try {
      ids = await this.#zk.children(this.#layout.tasks, (event) => this.#onChildren(event));
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return;
      throw error;
    }
    const live = new Set(ids);
    for (const id of [...this.#tasks.keys()]) if (!live.has(id)) this.#drop(id);
    // Only unwatched ids need a read: watched ones are kept current by their data watch.
    await Promise.all(ids.filter((id) => !this.#watched.has(id)).map((id) => this.#load(id)));
  }

  #onChildren(event: WatchEvent): void {
    if (event.type === 'session') return;
    this.#requestSync();
  }

  /**
   * One children sync at a time, plus at most one queued behind it. Every create fires the
   * children watch, and each sync lists every task: without coalescing, creating N tasks
   * in a burst cost N full listings (quadratic; 10,000 creates never finished).
   */
  #requestSync(): void {
    if (this.#syncing) {
      this.#syncAgain = true;
      return;
    }
    this.#syncing = true;
    this.#syncChildren()
      .catch((error: unknown) => {
        this.#log.warn({ err: error }, 'task index: could not re-read the task list; the next list retries');
        this.#synced = undefined;
      })
      .finally(() => {
        this.#syncing = false;
        if (this.#syncAgain) {
          this.#syncAgain = false;
          this.#requestSync();
        }
      });
  }

  async #load(taskId: string): Promise<void> {
    try {
      this.#watched.add(taskId);
      const { data, stat } = await this.#zk.get(this.#layout.task(taskId), (event) =>
        this.#onData(taskId, event),
      );
      const parsed = parseStoredTask(JSON.parse(data.toString('utf8')) as unknown);
      if (!parsed.ok) {
        this.#log.error(
          { taskId, issues: formatIssues(parsed.issues) },
          'task index: malformed stored task left out',
        );
        this.#drop(taskId);
        return;
      }
      this.#apply(taskId, { task: parsed.value, version: stat.version, mzxid: stat.mzxid });
    } catch (error) {
      // No node, no watch: a get that fails registers none.
      this.#watched.delete(taskId);
      if (isZkError(error) && error.isNoNode) this.#drop(taskId);
      else throw error;
    }
  }

  #onData(taskId: string, event: WatchEvent): void {
    // A data watch fires once: whatever happened, this id is no longer watched.
    this.#watched.delete(taskId);
    if (event.type === 'deleted') {
      this.#drop(taskId);
      return;
    }
    if (event.type !== 'changed') return;
    this.#load(taskId).catch((error: unknown) => {
      // Forget it rather than serve a stale copy; the next children sync reloads it.
      this.#drop(taskId);
      this.#synced = undefined;
      this.#log.warn({ err: error, taskId }, 'task index: could not re-read a changed task');
    });
  }
}
