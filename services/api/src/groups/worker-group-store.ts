import {
  type MemberLeaseRecord,
  type WorkerHealthRecord,
  type ZkClient,
  type ZkOutbox,
  type ZnodeLayout,
  isZkError,
  memberLeaseDocument,
  workerGroupDocument,
  workerHealthDocument,
} from '@nono/coordination';
import { type NonoEvent, type WorkerGroup, formatIssues } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { ApiError, ApiErrorCode } from '../errors.js';
import { mapZkError, recordWithOutbox } from '../zk-errors.js';

/** A group as stored, with the znode version every later write must match. */
export interface VersionedGroup {
  readonly group: WorkerGroup;
  readonly version: number;
}

/** A dynamic member's lease as stored, with its znode version. */
export interface VersionedLease {
  readonly lease: MemberLeaseRecord;
  readonly version: number;
}

/**
 * Worker groups and their dynamic members in ZooKeeper. Every change of a definition, and
 * every member joining or leaving, carries its audit event through the outbox (stage, change,
 * commit), as task changes do; a heartbeat (the same member renewing its lease) is not audited.
 * Errors are ApiErrors: WorkerGroupNotFound, WorkerGroupExists, RevisionConflict,
 * CoordinationUnavailable, OutcomeUnknown.
 */
export interface WorkerGroupStore {
  get(name: string): Promise<VersionedGroup | undefined>;
  /** Every group, by name. */
  list(): Promise<VersionedGroup[]>;
  create(group: WorkerGroup, event: NonoEvent): Promise<VersionedGroup>;
  replace(current: VersionedGroup, next: WorkerGroup, event: NonoEvent): Promise<VersionedGroup>;
  /** Deletes the group and its members' leases. */
  remove(current: VersionedGroup, event: NonoEvent): Promise<void>;
  leases(name: string): Promise<VersionedLease[]>;
  lease(name: string, memberId: string): Promise<VersionedLease | undefined>;
  /** Creates the lease (`previous` undefined) or rewrites it at `previous.version`; `event` when the member joins. */
  putLease(
    name: string,
    lease: MemberLeaseRecord,
    previous: VersionedLease | undefined,
    event: NonoEvent | undefined,
  ): Promise<VersionedLease>;
  removeLease(name: string, current: VersionedLease, event: NonoEvent): Promise<void>;
  /** What each live scheduler's passive health took out. */
  ejections(): Promise<WorkerHealthRecord[]>;
}

export class ZkWorkerGroupStore implements WorkerGroupStore {
  readonly #zk: ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #outbox: ZkOutbox;
  readonly #log: Logger;

  constructor(options: { zk: ZkClient; layout: ZnodeLayout; outbox: ZkOutbox; log: Logger }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#outbox = options.outbox;
    this.#log = options.log;
  }

  async get(name: string): Promise<VersionedGroup | undefined> {
    try {
      const { data, stat } = await this.#zk.get(this.#layout.workerGroup(name));
      return { group: this.#decode(name, data), version: stat.version };
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw mapGroupError(error, 'read', name);
    }
  }

  async list(): Promise<VersionedGroup[]> {
    const names = await this.#children(this.#layout.workerGroups, '');
    const groups = await Promise.all(names.map((name) => this.get(name)));
    return groups.filter((group): group is VersionedGroup => group !== undefined);
  }

  create(group: WorkerGroup, event: NonoEvent): Promise<VersionedGroup> {
    return this.#withOutbox(event, group.name, async () => {
      await this.#zk.create(this.#layout.workerGroup(group.name), workerGroupDocument.encode(group));
      return { group, version: 0 };
    });
  }

  replace(current: VersionedGroup, next: WorkerGroup, event: NonoEvent): Promise<VersionedGroup> {
    return this.#withOutbox(event, next.name, async () => {
      const stat = await this.#zk.set(
        this.#layout.workerGroup(next.name),
        workerGroupDocument.encode(next),
        current.version,
      );
      return { group: next, version: stat.version };
    });
  }

  async remove(current: VersionedGroup, event: NonoEvent): Promise<void> {
    const name = current.group.name;
    await this.#withOutbox(event, name, () =>
      this.#zk.delete(this.#layout.workerGroup(name), current.version),
    );
    // Best effort: the schedulers call no member of a group that is gone; leftovers are harmless.
    try {
      await this.#zk.deleteTree(this.#layout.workerLeasesOf(name));
    } catch (error) {
      this.#log.warn({ err: error, group: name }, 'could not remove the member leases of a deleted group');
    }
  }

  async leases(name: string): Promise<VersionedLease[]> {
    const ids = await this.#children(this.#layout.workerLeasesOf(name), name);
    const leases = await Promise.all(ids.map((id) => this.lease(name, id)));
    return leases.filter((lease): lease is VersionedLease => lease !== undefined);
  }

  async lease(name: string, memberId: string): Promise<VersionedLease | undefined> {
    let read: { data: Buffer; stat: { version: number } };
    try {
      read = await this.#zk.get(this.#layout.workerLease(name, memberId));
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw mapGroupError(error, 'read', name);
    }
    const parsed = memberLeaseDocument.parse(read.data);
    if (!parsed.ok) {
      // Someone else's bug: such a member gets no calls either (the schedulers skip it).
      this.#log.warn(
        { group: name, memberId, problem: formatIssues(parsed.issues) },
        'malformed member lease',
      );
      return undefined;
    }
    return { lease: parsed.value, version: read.stat.version };
  }

  async putLease(
    name: string,
    lease: MemberLeaseRecord,
    previous: VersionedLease | undefined,
    event: NonoEvent | undefined,
  ): Promise<VersionedLease> {
    const path = this.#layout.workerLease(name, lease.memberId);
    const data = memberLeaseDocument.encode(lease);
    const write = async (): Promise<VersionedLease> => {
      try {
        if (previous !== undefined) {
          const stat = await this.#zk.set(path, data, previous.version);
          return { lease, version: stat.version };
        }
        await this.#zk.ensurePath(this.#layout.workerLeasesOf(name));
        await this.#zk.create(path, data);
        return { lease, version: 0 };
      } catch (error) {
        // Another registration of the same member id, or the leader removing its lapsed lease, came first.
        if (isZkError(error) && (error.isNodeExists || error.isNoNode || error.isBadVersion))
          throw new ApiError(
            ApiErrorCode.RevisionConflict,
            `the lease of member "${lease.memberId}" changed meanwhile: register again`,
          );
        throw error;
      }
    };
    if (event !== undefined) return this.#withOutbox(event, name, write);
    try {
      return await write();
    } catch (error) {
      throw mapGroupError(error, 'write', name);
    }
  }

  removeLease(name: string, current: VersionedLease, event: NonoEvent): Promise<void> {
    const { memberId } = current.lease;
    return this.#withOutbox(event, name, async () => {
      try {
        await this.#zk.delete(this.#layout.workerLease(name, memberId), current.version);
      } catch (error) {
        if (isZkError(error) && error.isNoNode)
          throw new ApiError(
            ApiErrorCode.MemberNotFound,
            `no member "${memberId}" in worker group "${name}"`,
          );
        if (isZkError(error) && error.isBadVersion)
          throw new ApiError(ApiErrorCode.RevisionConflict, `member "${memberId}" renewed meanwhile: retry`);
        throw error;
      }
    });
  }

  async ejections(): Promise<WorkerHealthRecord[]> {
    const ids = await this.#children(this.#layout.workerHealth, '');
    const records = await Promise.all(
      ids.map(async (id) => {
        try {
          const parsed = workerHealthDocument.parse(
            (await this.#zk.get(this.#layout.workerHealthOf(id))).data,
          );
          return parsed.ok ? parsed.value : undefined;
        } catch (error) {
          // Its scheduler left between the list and the read.
          if (isZkError(error) && error.isNoNode) return undefined;
          throw mapZkError(error, 'read');
        }
      }),
    );
    return records.filter((record): record is WorkerHealthRecord => record !== undefined);
  }

  async #children(path: string, name: string): Promise<string[]> {
    try {
      return await this.#zk.children(path);
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return [];
      throw mapGroupError(error, 'read', name);
    }
  }

  #withOutbox<T>(event: NonoEvent, name: string, change: () => Promise<T>): Promise<T> {
    return recordWithOutbox(this.#outbox, event, change, (error, during) =>
      mapGroupError(error, during, name),
    );
  }

  #decode(name: string, data: Buffer): WorkerGroup {
    const parsed = workerGroupDocument.parse(data);
    // A malformed znode is someone else's bug; refuse to serve it rather than guess.
    if (!parsed.ok)
      throw new Error(`stored worker group ${name} is malformed: ${formatIssues(parsed.issues)}`);
    return parsed.value;
  }
}

/** ZooKeeper's answers in the words of groups; the rest as for tasks. */
function mapGroupError(error: unknown, during: 'read' | 'write', name: string): unknown {
  if (isZkError(error) && error.isNoNode)
    return new ApiError(ApiErrorCode.WorkerGroupNotFound, `no worker group "${name}"`);
  if (isZkError(error) && error.isNodeExists)
    return new ApiError(ApiErrorCode.WorkerGroupExists, `worker group "${name}" already exists`);
  return mapZkError(error, during);
}
