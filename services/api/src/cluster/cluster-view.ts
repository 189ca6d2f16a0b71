import { type ZkClient, type ZnodeLayout, isZkError } from '@nono/coordination';
import { mapZkError } from '../zk-errors.js';

/** A live scheduler as it registered itself under /schedulers. */
export interface SchedulerMember {
  readonly id: string;
  readonly host?: string;
  readonly pid?: number;
  readonly version?: string;
  readonly startedAt?: string;
  readonly opsUrl?: string;
}

/** The leader's assignment; absent until a leader has written one. */
export interface Assignment {
  readonly generation: number;
  readonly members: readonly string[];
  readonly owners: Readonly<Record<string, readonly string[]>>;
  readonly updatedAt?: string;
}

/** Read-only view of the scheduler cluster. */
export interface ClusterView {
  members(): Promise<SchedulerMember[]>;
  assignment(): Promise<Assignment | undefined>;
}

const ownerIndexes = new WeakMap<Assignment, ReadonlyMap<string, string>>();
const NO_OWNERS: ReadonlyMap<string, string> = new Map();

/** Task id → owning scheduler; built once per assignment (the view caches assignments). */
export function ownerIndex(assignment: Assignment | undefined): ReadonlyMap<string, string> {
  if (assignment === undefined) return NO_OWNERS;
  const known = ownerIndexes.get(assignment);
  if (known !== undefined) return known;
  const index = new Map<string, string>();
  for (const [schedulerId, taskIds] of Object.entries(assignment.owners)) {
    for (const taskId of taskIds) index.set(taskId, schedulerId);
  }
  ownerIndexes.set(assignment, index);
  return index;
}

/**
 * Reads what the schedulers write. Their JSON is another service's output, so every
 * field is checked and anything unexpected is left out rather than passed through.
 */
export class ZkClusterView implements ClusterView {
  readonly #zk: ZkClient;
  readonly #layout: ZnodeLayout;
  /**
   * The parsed /assignment, kept until its data watch fires. It names every task, so
   * with 10,000 tasks reading and parsing it (and indexing its owners) per `GET /tasks`
   * cost more than the page itself.
   */
  #assignment: Promise<Assignment | undefined> | undefined;

  constructor(zk: ZkClient, layout: ZnodeLayout) {
    this.#zk = zk;
    this.#layout = layout;
  }

  async members(): Promise<SchedulerMember[]> {
    let ids: string[];
    try {
      ids = await this.#zk.children(this.#layout.schedulers);
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return [];
      throw mapZkError(error, 'read');
    }
    const members = await Promise.all(ids.map((id) => this.#member(id)));
    return members.filter((member): member is SchedulerMember => member !== undefined);
  }

  assignment(): Promise<Assignment | undefined> {
    if (this.#assignment !== undefined) return this.#assignment;
    const reading = this.#readAssignment();
    this.#assignment = reading;
    // Not cached: a failed read, or no assignment yet (a get on a missing node leaves no watch).
    reading.then(
      (assignment) => {
        if (assignment === undefined && this.#assignment === reading) this.#assignment = undefined;
      },
      () => {
        if (this.#assignment === reading) this.#assignment = undefined;
      },
    );
    return reading;
  }

  async #readAssignment(): Promise<Assignment | undefined> {
    // Any event (changed, deleted, or a session event: disconnected, expired) ends the cache.
    const json = await this.#readJson(this.#layout.assignment, () => {
      this.#assignment = undefined;
    });
    if (!isRecord(json)) return undefined;
    const owners: Record<string, string[]> = {};
    if (isRecord(json.owners)) {
      for (const [schedulerId, taskIds] of Object.entries(json.owners)) {
        if (Array.isArray(taskIds))
          owners[schedulerId] = taskIds.filter((id): id is string => typeof id === 'string');
      }
    }
    return {
      generation: typeof json.generation === 'number' ? json.generation : 0,
      members: Array.isArray(json.members)
        ? json.members.filter((id): id is string => typeof id === 'string')
        : [],
      owners,
      ...(typeof json.updatedAt === 'string' ? { updatedAt: json.updatedAt } : {}),
    };
  }

  async #member(id: string): Promise<SchedulerMember | undefined> {
    const json = await this.#readJson(this.#layout.scheduler(id));
    // An ephemeral node that vanished between listing and reading: the member left.
    if (json === undefined) return undefined;
    const info = isRecord(json) ? json : {};
    return {
      id,
      ...(typeof info.host === 'string' ? { host: info.host } : {}),
      ...(typeof info.pid === 'number' ? { pid: info.pid } : {}),
      ...(typeof info.version === 'string' ? { version: info.version } : {}),
      ...(typeof info.startedAt === 'string' ? { startedAt: info.startedAt } : {}),
      ...(typeof info.opsUrl === 'string' ? { opsUrl: info.opsUrl } : {}),
    };
  }

  async #readJson(path: string, watch?: () => void): Promise<unknown> {
    try {
      const { data } = await this.#zk.get(path, watch);
      try {
        return JSON.parse(data.toString('utf8')) as unknown;
      } catch {
        return null;
      }
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw mapZkError(error, 'read');
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
