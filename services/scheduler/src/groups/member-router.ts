import {
  type GroupMember,
  type PassiveHealth,
  type SchedulerTask,
  isGroupTarget,
  memberCallUrl,
  normaliseMemberUrl,
  pickMember,
} from '@nono/domain';
import { type MemberHealth } from './member-health.js';

/** What the router needs to know of a group at one instant. */
export interface GroupView {
  readonly passiveHealth: PassiveHealth;
  /** Its live members (static, then dynamic with a current lease), in order, allowed by the target policy. */
  readonly members: readonly GroupMember[];
}

/** The groups as this scheduler knows them (WorkerGroupBook follows them in ZooKeeper). */
export interface GroupDirectory {
  /** Undefined: no such group, or its definition is unusable. */
  lookup(name: string, now: number): GroupView | undefined;
}

/** Where one attempt goes. */
export type CallDestination =
  | { readonly kind: 'url'; readonly url: string }
  | {
      readonly kind: 'member';
      /** The URL called: the member's with the target's path. */
      readonly url: string;
      readonly member: { readonly group: string; readonly url: string };
      readonly passiveHealth: PassiveHealth;
    }
  /** A group target with nobody to call: the attempt fails with `error`, without a call. */
  | { readonly kind: 'none'; readonly label: string; readonly error: string };

/** How an attempt at a member went, as far as the member's health is concerned. */
export type MemberVerdict = 'answered' | 'failed' | 'neutral';

/**
 * Chooses the member each attempt of a group-targeted task goes to (the route is a pure
 * function, `pickMember` in libs/domain), and keeps what the routes need between calls: each
 * task's round-robin position, the calls running at each member, and the members' passive
 * health. Members taken out by passive health get no calls while another member is in; when
 * every live member is out, all of them are tried anyway (health is a hint: refusing every
 * call would turn a shared hiccup into an outage).
 */
export class MemberRouter {
  readonly #directory: GroupDirectory;
  readonly #health: MemberHealth;
  readonly #random: () => number;
  readonly #sequences = new Map<string, number>();
  readonly #inFlight = new Map<string, number>();

  constructor(options: { directory: GroupDirectory; health: MemberHealth; random?: () => number }) {
    this.#directory = options.directory;
    this.#health = options.health;
    this.#random = options.random ?? Math.random;
  }

  /**
   * The destination of the next attempt. `tried` holds the members (normalised URLs) the
   * execution's earlier attempts went to; the chosen member is added to it. A shard goes by
   * its index (route shard); a broadcast unit goes to its own member, live or not (it was
   * live at the claim: a call that fails there is that member's outcome).
   */
  destination(
    task: SchedulerTask,
    tried: Set<string>,
    now: number,
    unit: { readonly shard?: { readonly index: number }; readonly member?: string } = {},
  ): CallDestination {
    const target = task.target;
    if (!isGroupTarget(target)) return { kind: 'url', url: target.url };
    const label = `group:${target.group}`;
    const view = this.#directory.lookup(target.group, now);
    if (view === undefined)
      return { kind: 'none', label, error: `worker group "${target.group}" is not defined (or not usable)` };
    if (unit.member !== undefined) {
      const memberUrl = normaliseMemberUrl(unit.member);
      tried.add(memberUrl);
      return {
        kind: 'member',
        url: memberCallUrl(memberUrl, target.path),
        member: { group: target.group, url: memberUrl },
        passiveHealth: view.passiveHealth,
      };
    }
    const healthy = view.members.filter((member) => !this.#health.isOut(target.group, member.url, now));
    const callable = healthy.length > 0 ? healthy : view.members;
    const sequence = this.#sequences.get(task.id) ?? 0;
    const member = pickMember(target.route, callable, {
      taskId: task.id,
      sequence,
      random: this.#random(),
      inFlight: (url) => this.#inFlight.get(`${target.group}|${url}`) ?? 0,
      tried,
      ...(unit.shard === undefined ? {} : { shardIndex: unit.shard.index }),
    });
    if (member === undefined)
      return { kind: 'none', label, error: `worker group "${target.group}" has no live member` };
    this.#sequences.set(task.id, sequence + 1);
    const memberUrl = normaliseMemberUrl(member.url);
    tried.add(memberUrl);
    return {
      kind: 'member',
      url: memberCallUrl(memberUrl, target.path),
      member: { group: target.group, url: memberUrl },
      passiveHealth: view.passiveHealth,
    };
  }

  /**
   * The members a broadcast instant claimed now goes to: the group's live members (passive
   * health aside: a member taken out still gets its own execution, whose outcome says how it
   * went). None when the task targets no usable group.
   */
  broadcastMembers(task: SchedulerTask, now: number): string[] {
    const target = task.target;
    if (!isGroupTarget(target)) return [];
    const view = this.#directory.lookup(target.group, now);
    return view === undefined ? [] : view.members.map((member) => normaliseMemberUrl(member.url));
  }

  /** The call to a destination starts (least-in-flight counts it). */
  started(destination: CallDestination): void {
    if (destination.kind !== 'member') return;
    const key = `${destination.member.group}|${destination.member.url}`;
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
  }

  /** The call ended: it no longer counts as running, and its verdict goes to the member's health. */
  finished(destination: CallDestination, verdict: MemberVerdict, error: string, now: number): void {
    if (destination.kind !== 'member') return;
    const { group, url } = destination.member;
    const key = `${group}|${url}`;
    const running = (this.#inFlight.get(key) ?? 1) - 1;
    if (running > 0) this.#inFlight.set(key, running);
    else this.#inFlight.delete(key);
    if (verdict === 'answered') this.#health.succeeded(group, url);
    else if (verdict === 'failed') this.#health.failed(group, url, error, destination.passiveHealth, now);
  }

  /** A task no longer here: its round-robin position goes. */
  forget(taskId: string): void {
    this.#sequences.delete(taskId);
  }
}
