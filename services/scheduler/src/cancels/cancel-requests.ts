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
 * Operators' cancel requests (`/cancels/<taskId>@<executionId>`, written by the API), as the
 * children watch lists them. The task's owner cancels the execution if it runs here, then
 * deletes the request, which is also how a request for an execution that is not running
 * (finished, not started yet) ends; a request for a task this scheduler does not own is left
 * to its owner. Each request is read once per process.
 */
export class CancelRequests {
  readonly #zk: () => ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #log: Logger;
  readonly #cancel: (taskId: string, executionId: string, operator: OperatorCancel) => CancelResult;
  /** Requests being handled, so a second listing does not start them twice. */
  readonly #handling = new Set<string>();

  constructor(options: {
    zk: () => ZkClient;
    layout: ZnodeLayout;
    log: Logger;
    cancel: (taskId: string, executionId: string, operator: OperatorCancel) => CancelResult;
  }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#log = options.log;
    this.#cancel = options.cancel;
  }

  handle(names: readonly string[]): void {
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
      if (result === 'not-owned') return;
      this.#log.info({ taskId, executionId, result, actor: request.actor.id }, 'cancel request handled');
      await zk.delete(path);
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return;
      // The next listing (a watch, or the next ZooKeeper session) tries again.
      this.#log.warn({ err: error, request: name }, 'could not handle a cancel request');
    }
  }
}
