import { describe, expect, it } from 'vitest';
import { clusterFacts } from '../testing/facts.js';
import { type ClusterEvent, type Member, anyLive, isClusterEvent, membershipChange } from './membership.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const cluster = (event: ReturnType<typeof clusterFacts.joined>): ClusterEvent => {
  if (!isClusterEvent(event)) throw new TypeError(event.type);
  return event;
};
const members = (entries: Record<string, [boolean, number]>): Map<string, Member> =>
  new Map(Object.entries(entries).map(([id, [live, changedAt]]) => [id, { live, changedAt }]));

describe('membershipChange', () => {
  it('a join makes a scheduler live; a second join of a live one is no news', () => {
    const first = membershipChange(new Map(), cluster(clusterFacts.joined('a', T0)), T0);
    expect(first.joined).toEqual(['a']);
    expect(first.updates.get('a')).toEqual({ live: true, changedAt: T0 });
    const again = membershipChange(
      members({ a: [true, T0] }),
      cluster(clusterFacts.joined('a', T0 + 5)),
      T0 + 5,
    );
    expect(again.joined).toEqual([]);
  });

  it('a goodbye is a departure, once; one never seen joining counts too', () => {
    const left = membershipChange(
      members({ a: [true, T0] }),
      cluster(clusterFacts.left('a', T0 + 1)),
      T0 + 1,
    );
    expect(left.departed).toEqual([{ schedulerId: 'a', reason: 'shutdown', detectedBy: 'a' }]);
    expect(
      membershipChange(members({ a: [false, T0 + 1] }), cluster(clusterFacts.left('a', T0 + 2)), T0 + 2)
        .departed,
    ).toEqual([]);
    expect(membershipChange(new Map(), cluster(clusterFacts.left('z', T0)), T0).departed).toHaveLength(1);
  });

  it("a live scheduler missing from a survivor's member list has vanished (killed: it said nothing)", () => {
    const change = membershipChange(
      members({ a: [true, T0], b: [true, T0] }),
      cluster(clusterFacts.ownershipChanged('a', ['a'], T0 + 10)),
      T0 + 10,
    );
    expect(change.departed).toEqual([{ schedulerId: 'b', reason: 'vanished', detectedBy: 'a' }]);
    expect(change.updates.get('b')).toEqual({ live: false, changedAt: T0 + 10 });
  });

  it('members listed by a survivor that were not known live have joined', () => {
    const change = membershipChange(
      members({ a: [true, T0] }),
      cluster(clusterFacts.ownershipChanged('a', ['a', 'c'], T0 + 10)),
      T0 + 10,
    );
    expect(change.joined).toEqual(['c']);
  });

  it('a fact older than the one that set a member does not undo it (spooled facts arrive late)', () => {
    const change = membershipChange(
      members({ b: [true, T0 + 100] }),
      cluster(clusterFacts.ownershipChanged('a', ['a'], T0 + 50)),
      T0 + 50,
    );
    expect(change.departed).toEqual([]);
    expect(change.updates.has('b')).toBe(false);
  });

  it('anyLive sees the members with the updates applied', () => {
    const known = members({ a: [true, T0] });
    expect(anyLive(known, new Map())).toBe(true);
    expect(anyLive(known, new Map([['a', { live: false, changedAt: T0 + 1 }]]))).toBe(false);
    expect(anyLive(new Map(), new Map())).toBe(false);
  });
});
