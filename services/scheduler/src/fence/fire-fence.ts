import {
  type FireState,
  type ZkClient,
  type ZnodeLayout,
  fireStateDocument,
  isZkError,
} from '@nono/coordination';
import { formatIssues } from '@nono/domain';

export { type FireState, type InflightExecution } from '@nono/coordination';

export interface VersionedFireState {
  readonly state: FireState;
  readonly version: number;
}

/** A stored state that does not parse: kept apart so the writer decides what replaces it. */
export interface StoredFireState {
  readonly version: number;
  readonly state: FireState | undefined;
  readonly problem?: string;
}

export type FenceWrite =
  | { readonly ok: true; readonly version: number; readonly fencingToken: number }
  | { readonly ok: false; readonly reason: 'conflict' | 'absent' };

/** What the fire-state writer needs of ZooKeeper: the adapter below, or an in-memory one in unit tests. */
export interface FencePort {
  /** Undefined when the task has no fire state. */
  read(taskId: string): Promise<StoredFireState | undefined>;
  /** False when a state exists already. */
  create(taskId: string, state: FireState): Promise<boolean>;
  /** Writes `next` only if the state is still at `expectedVersion`. */
  write(taskId: string, expectedVersion: number, next: FireState): Promise<FenceWrite>;
}

/**
 * The fence: a task's fire state in ZooKeeper (`/fire-state/<taskId>`), advanced only by
 * compare-and-set. Whoever wins the write for an instant fires it; whoever loses re-reads and
 * stands down. The winning write's zxid is the fencing token, monotonic across the ensemble.
 * Every read and write goes through the fire-state document's schema.
 */
export class FireFence implements FencePort {
  readonly #zk: () => ZkClient;
  readonly #layout: ZnodeLayout;

  /** `zk` is a getter: the session is replaced after an expiry, the fence is not. */
  constructor(zk: () => ZkClient, layout: ZnodeLayout) {
    this.#zk = zk;
    this.#layout = layout;
  }

  async read(taskId: string): Promise<StoredFireState | undefined> {
    try {
      const { data, stat } = await this.#zk().get(this.#layout.fireState(taskId));
      const parsed = fireStateDocument.parse(data);
      return parsed.ok
        ? { version: stat.version, state: parsed.value }
        : { version: stat.version, state: undefined, problem: formatIssues(parsed.issues) };
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw error;
    }
  }

  async create(taskId: string, state: FireState): Promise<boolean> {
    try {
      await this.#zk().create(this.#layout.fireState(taskId), fireStateDocument.encode(state));
      return true;
    } catch (error) {
      if (isZkError(error) && error.isNodeExists) return false;
      throw error;
    }
  }

  async write(taskId: string, expectedVersion: number, next: FireState): Promise<FenceWrite> {
    try {
      const stat = await this.#zk().set(
        this.#layout.fireState(taskId),
        fireStateDocument.encode(next),
        expectedVersion,
      );
      return { ok: true, version: stat.version, fencingToken: stat.mzxid };
    } catch (error) {
      if (isZkError(error) && error.isBadVersion) return { ok: false, reason: 'conflict' };
      if (isZkError(error) && error.isNoNode) return { ok: false, reason: 'absent' };
      throw error;
    }
  }
}
