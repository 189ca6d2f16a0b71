import { type ZkClient, type ZnodeLayout, isZkError } from '@nono/coordination';
import { type FireReason } from '@nono/domain';

/**
 * The fence: a task's fire state in ZooKeeper, advanced only by compare-and-set. Whoever
 * wins the CAS for an instant fires it; whoever loses re-reads and stands down. The
 * winning write's zxid is the fencing token, monotonic across the whole ensemble.
 */
export interface InflightExecution {
  readonly nominal: number;
  readonly schedulerId: string;
  readonly startedAt: number;
  /** After this instant, an execution whose scheduler is gone counts as lost. */
  readonly deadlineAt: number;
  readonly reason: FireReason;
  readonly fencingToken: number;
  /** The claiming process and its claim number: its open-executions record says whether this one ended. */
  readonly incarnation?: string;
  readonly seq?: number;
}

export interface FireState {
  /** Every instant at or before this one has been handled (fired, skipped or expired). */
  readonly lastNominal: number;
  readonly runCount: number;
  /** The scheduler that made the last claim: tells a new owner it is taking over. */
  readonly firedBy?: string;
  readonly inflight: Readonly<Record<string, InflightExecution>>;
}

export interface VersionedFireState {
  readonly state: FireState;
  readonly version: number;
}

export type ClaimResult =
  { readonly ok: true; readonly version: number; readonly fencingToken: number } | { readonly ok: false };

/** What the engine needs of the fence: the ZooKeeper one below, or an in-memory one in unit tests. */
export type FencePort = Pick<FireFence, 'read' | 'claim'>;

export class FireFence {
  readonly #zk: () => ZkClient;
  readonly #layout: ZnodeLayout;

  /** `zk` is a getter: the session is replaced after an expiry, the fence is not. */
  constructor(zk: () => ZkClient, layout: ZnodeLayout) {
    this.#zk = zk;
    this.#layout = layout;
  }

  /** Reads the state, creating it (starting at `initialLastNominal`) when the task has never fired. */
  async read(taskId: string, initialLastNominal: number): Promise<VersionedFireState> {
    const path = this.#layout.fireState(taskId);
    for (;;) {
      try {
        const { data, stat } = await this.#zk().get(path);
        return { state: parseFireState(data, initialLastNominal), version: stat.version };
      } catch (error) {
        if (!(isZkError(error) && error.isNoNode)) throw error;
      }
      const initial: FireState = { lastNominal: initialLastNominal, runCount: 0, inflight: {} };
      try {
        await this.#zk().create(path, JSON.stringify(initial));
      } catch (error) {
        if (!(isZkError(error) && error.isNodeExists)) throw error;
      }
    }
  }

  /** Writes `next` only if the state is still at `expectedVersion`. */
  async claim(taskId: string, expectedVersion: number, next: FireState): Promise<ClaimResult> {
    try {
      const stat = await this.#zk().set(
        this.#layout.fireState(taskId),
        JSON.stringify(next),
        expectedVersion,
      );
      return { ok: true, version: stat.version, fencingToken: stat.mzxid };
    } catch (error) {
      if (isZkError(error) && (error.isBadVersion || error.isNoNode)) return { ok: false };
      throw error;
    }
  }

  async remove(taskId: string): Promise<void> {
    try {
      await this.#zk().delete(this.#layout.fireState(taskId));
    } catch (error) {
      if (!(isZkError(error) && error.isNoNode)) throw error;
    }
  }
}

function parseFireState(data: Buffer, initialLastNominal: number): FireState {
  try {
    const raw = JSON.parse(data.toString('utf8')) as Partial<FireState>;
    return {
      lastNominal: typeof raw.lastNominal === 'number' ? raw.lastNominal : initialLastNominal,
      runCount: typeof raw.runCount === 'number' ? raw.runCount : 0,
      ...(typeof raw.firedBy === 'string' ? { firedBy: raw.firedBy } : {}),
      inflight: typeof raw.inflight === 'object' && raw.inflight !== null ? raw.inflight : {},
    };
  } catch {
    // A corrupt fire state must not stop the task forever; starting from "now" never refires the past.
    return { lastNominal: initialLastNominal, runCount: 0, inflight: {} };
  }
}
