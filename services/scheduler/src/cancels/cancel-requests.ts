import {
  type CancelRequest,
  type ZkClient,
  type ZnodeLayout,
  cancelRequestDocument,
  isZkError,
} from '@nono/coordination';
import { type Logger } from '@nono/runtime';
import { type OperatorCancel } from '../runner/cancellation.js';

/** What the engine answers for one request (see Engine.cancelRunning). */
export type CancelResult = 'cancelled' | 'not-running' | 'not-owned';

/**
 * A request nobody carried out within this long names an execution that ended long ago (or a
 * task nobody owns): it is deleted, so requests do not pile up in ZooKeeper.
 */
export const CANCEL_REQUEST_STALE_MS = 60 * 60_000;

/**
 * Operators' cancel requests (`/cancels/<taskId>@<executionId>`, written by the API), as the
 * children watch lists them. The task's owner cancels the execution if it runs here, then
 * deletes the request, which is also how a request for an execution that is not running
 * (finished, not started yet) ends; a request for a task this scheduler does not own is left
 * to its owner. Two kinds of request have no owner to end them, and any scheduler deletes
 * them: one whose task is gone (deleted with the request pending), and one older than
 * `CANCEL_REQUEST_STALE_MS`. Requests left to an owner are looked at again at each listing and
 * every `recheckMs`, so a task deleted later does not leave its request behind.
 */
export class CancelRequests {
  readonly #zk: () => ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #log: Logger;
  readonly #cancel: (taskId: string, executionId: string, operator: OperatorCancel) => CancelResult;
  readonly #now: () => number;
  /** Requests being handled, so a second listing does not start them twice. */
  readonly #handling = new Set<string>();
  /** The latest listing, looked at again every `recheckMs`. */
  #listed: readonly string[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: {
    zk: () => ZkClient;
    layout: ZnodeLayout;
    log: Logger;
    cancel: (taskId: string, executionId: string, operator: OperatorCancel) => CancelResult;
    now: () => number;
    recheckMs?: number;
  }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#log = options.log;
    this.#cancel = options.cancel;
    this.#now = options.now;
    this.#timer = setInterval(() => this.handle(this.#listed), options.recheckMs ?? 60_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  handle(names: readonly string[]): void {
    this.#listed = names;
    for (const name of names) {
      if (this.#handling.has(name)) continue;
      this.#handling.add(name);
      void this.#handleOne(name).finally(() => this.#handling.delete(name));
    }
  }

  async #handleOne(name: string): Promise<void> {
    const at = name.indexOf('@');
    if (at <= 0) return;
    const taskId = name.slice(0, at);
    const executionId = name.slice(at + 1);
    const path = `${this.#layout.cancels}/${name}`;
    try {
      const zk = this.#zk();
      const { data } = await zk.get(path);
      const parsed = cancelRequestDocument.parse(data);
      if (!parsed.ok) {
        this.#log.warn({ request: name, issues: parsed.issues }, 'cancel request does not parse: deleted');
        await zk.delete(path);
        return;
      }
      const request: CancelRequest = parsed.value;
      const result = this.#cancel(taskId, executionId, {
        actor: request.actor,
        ...(request.note === undefined ? {} : { note: request.note }),
      });
      if (result === 'not-owned') {
        const why = await this.#ownerless(taskId, request);
        if (why === undefined) return;
        this.#log.warn({ taskId, executionId, actor: request.actor.id }, `cancel request deleted: ${why}`);
        await zk.delete(path);
        return;
      }
      this.#log.info({ taskId, executionId, result, actor: request.actor.id }, 'cancel request handled');
      await zk.delete(path);
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return;
      // The next listing (a watch, or the next ZooKeeper session) tries again.
      this.#log.warn({ err: error, request: name }, 'could not handle a cancel request');
    }
  }

  /** Why no owner will ever carry this request out, or undefined if one may. */
  async #ownerless(taskId: string, request: CancelRequest): Promise<string | undefined> {
    const age = this.#now() - Date.parse(request.requestedAt);
    if (age > CANCEL_REQUEST_STALE_MS)
      return `nobody carried it out in ${Math.round(age / 60_000)} minutes (its execution ended long ago)`;
    return (await this.#zk().exists(this.#layout.task(taskId))) ? undefined : 'its task no longer exists';
  }
}
