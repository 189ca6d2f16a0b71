import { fnv1a32 } from './hash.js';
import { type WorkerRoute, normaliseMemberUrl } from './worker-group.js';

/** What a route decides with, besides the members: everything that varies is an argument. */
export interface RouteContext {
  readonly taskId: string;
  /** How many calls of this task were routed before this one (round-robin's position). */
  readonly sequence: number;
  /** A number in [0, 1) the caller drew (random's choice). */
  readonly random: number;
  /** Calls running at a member (by normalised URL), as the caller counts them (least-in-flight). */
  readonly inFlight: (memberUrl: string) => number;
  /** The members (normalised URLs) earlier attempts of this execution went to. */
  readonly tried: ReadonlySet<string>;
  /** The shard this call runs (route shard): shard i goes to member i mod the members. */
  readonly shardIndex?: number;
}

/**
 * Picks the member for one attempt from `members` (the group's callable members, in group
 * order). An attempt goes to a member no earlier attempt of the same execution went to while
 * there is one, so a retry lands elsewhere; once all were tried the choice starts over.
 *
 * - round-robin: the task's calls take the members in turn;
 * - random: uniformly;
 * - consistent-hash: rendezvous hashing of the task id, so a task sticks to one member while
 *   the membership is stable, and a member leaving moves only its own tasks;
 * - least-in-flight: the fewest calls running, ties in turn;
 * - failover: the first in order (a retry therefore goes to the next one);
 * - shard: shard i to member i mod the count, so an instant's shards spread evenly (a retry
 *   goes to one of the members it has not tried, by the same rule);
 * - broadcast: each unit is pinned to its member by the caller; alone, the first in order.
 */
export function pickMember<M extends { readonly url: string }>(
  route: WorkerRoute,
  members: readonly M[],
  context: RouteContext,
): M | undefined {
  const untried = members.filter((member) => !context.tried.has(normaliseMemberUrl(member.url)));
  const candidates = untried.length > 0 ? untried : members;
  const count = candidates.length;
  if (count === 0) return undefined;
  const turn = ((context.sequence % count) + count) % count;
  switch (route) {
    case 'round-robin':
      return candidates[turn];
    case 'random':
      return candidates[Math.min(count - 1, Math.floor(context.random * count))];
    case 'consistent-hash': {
      let best: M | undefined;
      let bestScore = -1;
      for (const member of candidates) {
        const score = rendezvousScore(context.taskId, member.url);
        if (score > bestScore) {
          best = member;
          bestScore = score;
        }
      }
      return best;
    }
    case 'least-in-flight': {
      let best: M | undefined;
      let fewest = Infinity;
      for (let offset = 0; offset < count; offset++) {
        const member = candidates[(turn + offset) % count];
        if (member === undefined) continue;
        const running = context.inFlight(normaliseMemberUrl(member.url));
        if (running < fewest) {
          best = member;
          fewest = running;
        }
      }
      return best;
    }
    case 'shard':
      return candidates[(context.shardIndex ?? turn) % count];
    case 'failover':
    case 'broadcast':
      return candidates[0];
  }
}

/**
 * The rendezvous (highest random weight) score of a task on a member. FNV-1a alone spreads
 * similar strings (URLs differing in one port digit) badly, so its output goes through
 * MurmurHash3's 32-bit finaliser.
 */
export function rendezvousScore(taskId: string, memberUrl: string): number {
  let hash = fnv1a32(`${taskId}|${normaliseMemberUrl(memberUrl)}`);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
