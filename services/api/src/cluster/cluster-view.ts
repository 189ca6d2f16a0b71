import {
  type ZkClient,
  type ZnodeDocument,
  type ZnodeLayout,
  assignmentDocument,
  isZkError,
  memberDocument,
} from '@nono/coordination';
import { type TSchema, type Static } from '@sinclair/typebox';
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
 * Reads what the schedulers write, through the same documents (schemas) they write with. A
 * document that does not parse is left out (a member) or read as none (the assignment).
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
    const assignment = await this.#read(this.#layout.assignment, assignmentDocument, () => {
      this.#assignment = undefined;
    });
    return assignment ?? undefined;
  }

  async #member(id: string): Promise<SchedulerMember | undefined> {
    // An ephemeral node that vanished between listing and reading: the member left.
    const info = await this.#read(this.#layout.scheduler(id), memberDocument);
    if (info === undefined) return undefined;
    if (info === null) return { id }; // live, but what it says of itself does not parse
    const { host, pid, version, startedAt, opsUrl } = info;
    return { id, host, pid, version, startedAt, ...(opsUrl === undefined ? {} : { opsUrl }) };
  }

  async #read<S extends TSchema>(
    path: string,
    document: ZnodeDocument<S>,
    watch?: () => void,
  ): Promise<Static<S> | null | undefined> {
    let data: Buffer;
    try {
      ({ data } = await this.#zk.get(path, watch));
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw mapZkError(error, 'read');
    }
    // null: present but malformed (undefined: absent).
    const parsed = document.parse(data);
    return parsed.ok ? parsed.value : null;
  }
}
