import {
  type MemberLeaseRecord,
  type WatchEvent,
  type ZkClient,
  type ZnodeLayout,
  describeParseFailure,
  isZkError,
  memberLeaseDocument,
  workerGroupDocument,
} from '@nono/coordination';
import {
  type TargetPolicy,
  type WorkerGroup,
  checkRunnableGroup,
  formatIssues,
  liveMembers,
  parseInstant,
} from '@nono/domain';
import { WatchPerPath } from '../cluster/watch-per-path.js';
import { type Logger } from '@nono/runtime';
import { type ProbeTarget } from './member-prober.js';
import { type GroupDirectory, type GroupView } from './member-router.js';

interface LeaseEntry {
  readonly lease: MemberLeaseRecord;
  readonly version: number;
  /** The target policy allows its URL. */
  readonly allowed: boolean;
}

interface GroupEntry {
  definition: WorkerGroup | undefined;
  /** Static member URLs the target policy refuses: they get no calls. */
  refused: ReadonlySet<string>;
  readonly leases: Map<string, LeaseEntry>;
}

/**
 * The worker groups as ZooKeeper holds them, kept current by watches: each definition
 * (`/worker-groups/<name>`) and each dynamic member's lease (`/worker-leases/<name>/<id>`). A
 * registration shows here within a watch round trip; a heartbeat rewrites the lease, whose
 * data watch re-reads it. Whether a lease is current is judged at each lookup by this process's
 * clock against the lease's `expiresAt`, so a member whose lease lapsed gets no call from the
 * instant it lapsed, even before anyone deletes its record. Member URLs are checked against the
 * target policy as task URLs are: one the policy refuses is skipped, with an error log.
 */
export class WorkerGroupBook implements GroupDirectory {
  readonly #zk: () => ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #policy: TargetPolicy;
  readonly #log: Logger;
  readonly #groups = new Map<string, GroupEntry>();
  /** Watches registered on the current ZooKeeper session, by kind and path. */
  readonly #watches = new WatchPerPath();

  constructor(options: { zk: () => ZkClient; layout: ZnodeLayout; policy: TargetPolicy; log: Logger }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#policy = options.policy;
    this.#log = options.log;
  }

  /** A new ZooKeeper session: the old one's watches are gone; read everything again. */
  async onSessionConnected(): Promise<void> {
    this.#watches.reset();
    await this.#guard('worker groups', () => this.#readGroupList());
  }

  lookup(name: string, now: number): GroupView | undefined {
    const entry = this.#groups.get(name);
    const definition = entry?.definition;
    if (entry === undefined || definition === undefined) return undefined;
    const leases = [...entry.leases.values()].filter((item) => item.allowed).map((item) => item.lease);
    const members = liveMembers(definition, leases, now).filter((member) => !entry.refused.has(member.url));
    return { passiveHealth: definition.passiveHealth, members };
  }

  /** The live members of the groups that ask for health probes, with their probe settings. */
  probeTargets(now: number): ProbeTarget[] {
    const targets: ProbeTarget[] = [];
    for (const [name, entry] of this.#groups) {
      const policy = entry.definition?.activeHealth;
      if (policy === undefined) continue;
      for (const member of this.lookup(name, now)?.members ?? [])
        targets.push({ group: name, url: member.url, policy });
    }
    return targets;
  }

  /**
   * Deletes the lease records that lapsed more than one lease period ago (the leader does this,
   * so records do not pile up; until then the API shows them as lapsed). At the version read:
   * a member renewing meanwhile keeps its record.
   */
  async sweepLapsed(now: number): Promise<void> {
    for (const [name, entry] of this.#groups) {
      const leaseMs = entry.definition?.leaseMs ?? 0;
      for (const [memberId, { lease, version }] of entry.leases) {
        const expiresAt = parseInstant(lease.expiresAt) ?? 0;
        if (expiresAt + Math.max(leaseMs, lease.leaseMs) > now) continue;
        try {
          await this.#zk().delete(this.#layout.workerLease(name, memberId), version);
          this.#log.info(
            { group: name, memberId, url: lease.url },
            'removed the record of a lapsed member lease',
          );
        } catch (error) {
          if (!(isZkError(error) && (error.isNoNode || error.isBadVersion))) throw error;
        }
      }
    }
  }

  /** A watch for `key` that runs `then` when it fires, unless one is armed already. */
  #watchOnce(key: string, then: () => Promise<void>): ((event: WatchEvent) => void) | undefined {
    return this.#watches.watcher(key, () => void this.#guard(key, then));
  }

  async #guard(what: string, read: () => Promise<void>): Promise<void> {
    try {
      await read();
    } catch (error) {
      // The next watch or ZooKeeper session reads again; until then the last view stays.
      this.#log.warn({ err: error, what }, 'could not read worker groups from ZooKeeper');
    }
  }

  async #readGroupList(): Promise<void> {
    const parent = this.#layout.workerGroups;
    const key = `children:${parent}`;
    let names: string[];
    try {
      names = await this.#zk().children(
        parent,
        this.#watchOnce(key, () => this.#readGroupList()),
      );
    } catch (error) {
      this.#watches.forget(key);
      throw error;
    }
    for (const name of [...this.#groups.keys()]) if (!names.includes(name)) this.#groups.delete(name);
    await Promise.all(
      names
        .filter((name) => !this.#groups.has(name))
        .map(async (name) => {
          this.#groups.set(name, { definition: undefined, refused: new Set(), leases: new Map() });
          await Promise.all([this.#readGroup(name), this.#readLeaseList(name)]);
        }),
    );
  }

  async #readGroup(name: string): Promise<void> {
    const path = this.#layout.workerGroup(name);
    const key = `data:${path}`;
    let data: Buffer;
    try {
      ({ data } = await this.#zk().get(
        path,
        this.#watchOnce(key, () => this.#readGroup(name)),
      ));
    } catch (error) {
      this.#watches.forget(key);
      if (isZkError(error) && error.isNoNode) {
        this.#groups.delete(name);
        return;
      }
      throw error;
    }
    const entry = this.#groups.get(name);
    if (entry === undefined) return;
    const parsed = workerGroupDocument.parse(data);
    if (!parsed.ok || parsed.value.name !== name) {
      this.#log.error(
        {
          group: name,
          problem: parsed.ok
            ? `name "${parsed.value.name}" is not its znode's`
            : describeParseFailure('worker group', parsed),
        },
        'worker group definition in ZooKeeper is invalid: its tasks find no member',
      );
      entry.definition = undefined;
      return;
    }
    const issues = checkRunnableGroup(parsed.value, this.#policy);
    if (issues.length > 0)
      this.#log.error(
        { group: name, problem: formatIssues(issues) },
        'worker group has members the target policy refuses: they get no calls',
      );
    entry.definition = parsed.value;
    entry.refused = new Set(
      parsed.value.members
        .filter((member) => this.#policy.check(member.url, 'url').length > 0)
        .map((member) => member.url),
    );
  }

  async #readLeaseList(name: string): Promise<void> {
    const path = this.#layout.workerLeasesOf(name);
    const key = `children:${path}`;
    let ids: string[];
    try {
      ids = await this.#zk().children(
        path,
        this.#watchOnce(key, () => this.#readLeaseList(name)),
      );
    } catch (error) {
      this.#watches.forget(key);
      if (!(isZkError(error) && error.isNoNode)) throw error;
      // No member ever registered: learn when the parent appears.
      const existsKey = `exists:${path}`;
      const stat = await this.#zk().exists(
        path,
        this.#watchOnce(existsKey, () => this.#readLeaseList(name)),
      );
      if (stat !== undefined) await this.#readLeaseList(name);
      return;
    }
    const entry = this.#groups.get(name);
    if (entry === undefined) return;
    for (const id of [...entry.leases.keys()]) if (!ids.includes(id)) entry.leases.delete(id);
    await Promise.all(ids.filter((id) => !entry.leases.has(id)).map((id) => this.#readLease(name, id)));
  }

  async #readLease(name: string, memberId: string): Promise<void> {
    const path = this.#layout.workerLease(name, memberId);
    const key = `data:${path}`;
    let data: Buffer;
    let version: number;
    try {
      ({
        data,
        stat: { version },
      } = await this.#zk().get(
        path,
        this.#watchOnce(key, () => this.#readLease(name, memberId)),
      ));
    } catch (error) {
      this.#watches.forget(key);
      if (isZkError(error) && error.isNoNode) {
        this.#groups.get(name)?.leases.delete(memberId);
        return;
      }
      throw error;
    }
    const entry = this.#groups.get(name);
    if (entry === undefined) return;
    const parsed = memberLeaseDocument.parse(data);
    if (!parsed.ok) {
      this.#log.error(
        { group: name, memberId, problem: describeParseFailure('member lease', parsed) },
        'member lease in ZooKeeper is invalid: the member gets no calls',
      );
      entry.leases.delete(memberId);
      return;
    }
    const refused = this.#policy.check(parsed.value.url, 'url');
    if (refused.length > 0 && entry.leases.get(memberId)?.lease.url !== parsed.value.url)
      this.#log.error(
        { group: name, memberId, problem: formatIssues(refused) },
        'member lease names a URL the target policy refuses: the member gets no calls',
      );
    entry.leases.set(memberId, { lease: parsed.value, version, allowed: refused.length === 0 });
  }
}
