import {
  type TriggerRequest,
  type ZkClient,
  ZnodeLayout,
  isZkError,
  triggerRequestDocument,
} from '@nono/coordination';
import { formatIssues } from '@nono/domain';

/** A trigger request as read: absent (already handled and deleted), or its document (or why it does not parse). */
export type TriggerRead =
  | { readonly kind: 'absent' }
  | { readonly kind: 'request'; readonly request: TriggerRequest }
  | { readonly kind: 'malformed'; readonly problem: string };

/** Where trigger requests live; ZooKeeper errors other than "no node" propagate (a hiccup is not "handled"). */
export interface TriggerStore {
  read(name: string): Promise<TriggerRead>;
  /** Removes a handled request; one already gone is fine. */
  delete(name: string): Promise<void>;
}

/**
 * The manual trigger requests this scheduler knows of (`/triggers/<taskId>@<requestId>`),
 * kept between children changes: a request may arrive before its task is owned here or its
 * definition loaded, and must be offered again when it is, not wait for another request to
 * change the children list. `take` hands out each request once until it is `done`.
 */
export class TriggerInbox {
  /** Pending request names by task id, as of the latest children list. */
  #byTask = new Map<string, Set<string>>();
  /** Requests being handled: not handed out twice. */
  readonly #taken = new Set<string>();

  /** The current children list; returns the task ids that have pending requests. */
  replace(names: readonly string[]): string[] {
    const byTask = new Map<string, Set<string>>();
    for (const name of names) {
      const parsed = ZnodeLayout.parseTriggerName(name);
      if (parsed === undefined) continue;
      let set = byTask.get(parsed.taskId);
      if (set === undefined) byTask.set(parsed.taskId, (set = new Set()));
      set.add(name);
    }
    this.#byTask = byTask;
    for (const name of this.#taken) if (!this.#has(name)) this.#taken.delete(name);
    return [...byTask.keys()];
  }

  /** The task's pending requests not yet handed out (marked taken). */
  take(taskId: string): Array<{ name: string; requestId: string }> {
    const taken: Array<{ name: string; requestId: string }> = [];
    for (const name of this.#byTask.get(taskId) ?? []) {
      if (this.#taken.has(name)) continue;
      const parsed = ZnodeLayout.parseTriggerName(name);
      if (parsed === undefined) continue;
      this.#taken.add(name);
      taken.push({ name, requestId: parsed.requestId });
    }
    return taken;
  }

  /** Handled (or to be offered again after a failure: `done` then the next `take` hands it out). */
  done(name: string): void {
    this.#taken.delete(name);
  }

  #has(name: string): boolean {
    const parsed = ZnodeLayout.parseTriggerName(name);
    return parsed !== undefined && (this.#byTask.get(parsed.taskId)?.has(name) ?? false);
  }
}

/** Trigger requests as znodes under `/triggers`. */
export class ZkTriggerStore implements TriggerStore {
  readonly #zk: () => ZkClient;
  readonly #layout: ZnodeLayout;

  constructor(zk: () => ZkClient, layout: ZnodeLayout) {
    this.#zk = zk;
    this.#layout = layout;
  }

  async read(name: string): Promise<TriggerRead> {
    let data: Buffer;
    try {
      ({ data } = await this.#zk().get(`${this.#layout.triggers}/${name}`));
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return { kind: 'absent' };
      throw error;
    }
    const parsed = triggerRequestDocument.parse(data);
    return parsed.ok
      ? { kind: 'request', request: parsed.value }
      : { kind: 'malformed', problem: formatIssues(parsed.issues) };
  }

  async delete(name: string): Promise<void> {
    try {
      await this.#zk().delete(`${this.#layout.triggers}/${name}`);
    } catch (error) {
      if (!(isZkError(error) && error.isNoNode)) throw error;
    }
  }
}
