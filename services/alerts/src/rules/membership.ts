import { type NonoEvent } from '@nono/domain';

/** What the cluster topic says of one scheduler. */
export interface Member {
  readonly live: boolean;
  /** The time of the fact that said so. */
  readonly changedAt: number;
}

export type ClusterEvent = Extract<
  NonoEvent,
  { type: 'nono.scheduler.joined.v1' | 'nono.scheduler.left.v1' | 'nono.ownership.changed.v1' }
>;

export function isClusterEvent(event: NonoEvent): event is ClusterEvent {
  return (
    event.type === 'nono.scheduler.joined.v1' ||
    event.type === 'nono.scheduler.left.v1' ||
    event.type === 'nono.ownership.changed.v1'
  );
}

export interface Departure {
  readonly schedulerId: string;
  /** `shutdown` (it said so), or how a survivor saw it go (`vanished`: missing from its member list). */
  readonly reason: string;
  readonly detectedBy: string;
}

export interface MembershipChange {
  /** The members whose state this fact changes. */
  readonly updates: ReadonlyMap<string, Member>;
  readonly joined: readonly string[];
  readonly departed: readonly Departure[];
}

/**
 * What one cluster fact says about who is live. A scheduler announces itself (`joined`)
 * on every new ZooKeeper session and says goodbye (`left`) only on a graceful stop; one
 * that is killed says nothing, so the member list a survivor publishes with each ownership
 * change (`members`, read from ZooKeeper) is what tells of it. Facts reach the topic
 * through each scheduler's spool, so one can arrive late: a fact older than what set a
 * member's state does not undo it.
 */
export function membershipChange(
  members: ReadonlyMap<string, Member>,
  event: ClusterEvent,
  at: number,
): MembershipChange {
  const updates = new Map<string, Member>();
  const joined: string[] = [];
  const departed: Departure[] = [];
  const applies = (id: string): boolean => (members.get(id)?.changedAt ?? -Infinity) <= at;
  const join = (id: string): void => {
    if (!applies(id)) return;
    updates.set(id, { live: true, changedAt: at });
    if (members.get(id)?.live !== true) joined.push(id);
  };
  const leave = (departure: Departure): void => {
    if (!applies(departure.schedulerId)) return;
    updates.set(departure.schedulerId, { live: false, changedAt: at });
    // A goodbye from a scheduler never seen joining is still a departure (it joined before
    // the topic's retention); one already known gone is not a second one.
    if (members.get(departure.schedulerId)?.live !== false) departed.push(departure);
  };
  switch (event.type) {
    case 'nono.scheduler.joined.v1':
      join(event.data.schedulerId);
      break;
    case 'nono.scheduler.left.v1':
      leave({
        schedulerId: event.data.schedulerId,
        reason: event.data.reason,
        detectedBy: event.data.detectedBy,
      });
      break;
    case 'nono.ownership.changed.v1': {
      const listed = new Set([...event.data.members, event.data.schedulerId]);
      for (const id of listed) join(id);
      for (const [id, member] of members)
        if (member.live && !listed.has(id))
          leave({ schedulerId: id, reason: 'vanished', detectedBy: event.data.schedulerId });
      break;
    }
  }
  return { updates, joined, departed };
}

/** Whether any scheduler is live once `updates` apply. */
export function anyLive(members: ReadonlyMap<string, Member>, updates: ReadonlyMap<string, Member>): boolean {
  for (const [id, member] of members) if ((updates.get(id) ?? member).live) return true;
  for (const member of updates.values()) if (member.live) return true;
  return false;
}
