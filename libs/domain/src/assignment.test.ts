import { describe, expect, it } from 'vitest';
import { type Assignment, ownerIndex, rebalance, sameOwnership } from './assignment.js';

const taskIds = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `task-${String(i).padStart(4, '0')}`);
const loads = (a: Assignment): number[] => Object.values(a.owners).map((tasks) => tasks.length);
const moved = (before: Assignment, after: Assignment): number => {
  const was = ownerIndex(before);
  return [...ownerIndex(after)].filter(([task, owner]) => was.has(task) && was.get(task) !== owner).length;
};

describe('rebalance', () => {
  it.each([
    [300, 3],
    [10, 3],
    [1, 4],
    [10_000, 7],
    [0, 2],
  ])('spreads %i tasks over %i members with at most ceil(N/M) each, every task owned once', (n, m) => {
    const members = Array.from({ length: m }, (_, i) => `s${i}`);
    const result = rebalance(undefined, members, taskIds(n));
    expect(Math.max(...loads(result))).toBeLessThanOrEqual(Math.ceil(n / m));
    expect(Math.max(...loads(result)) - Math.min(...loads(result))).toBeLessThanOrEqual(1);
    expect(ownerIndex(result).size).toBe(n);
  });

  it('moves only the dead member’s tasks when one dies', () => {
    const before = rebalance(undefined, ['a', 'b', 'c'], taskIds(300));
    const after = rebalance(before, ['a', 'b'], taskIds(300));
    expect(moved(before, after)).toBe(100); // exactly c's tasks change owner
    for (const survivor of ['a', 'b'])
      expect(after.owners[survivor]).toEqual(expect.arrayContaining([...before.owners[survivor]!]));
    expect(after.owners.a!.length + after.owners.b!.length).toBe(300);
    expect(Math.max(...loads(after))).toBe(150);
    expect(after.generation).toBe(before.generation + 1);
  });

  it('moves only enough tasks to the newcomer to balance when one joins', () => {
    const before = rebalance(undefined, ['a', 'b'], taskIds(300));
    const after = rebalance(before, ['a', 'b', 'c'], taskIds(300));
    expect(moved(before, after)).toBe(100);
    expect(loads(after)).toEqual([100, 100, 100]);
  });

  it('gives a new task to the least loaded and forgets deleted ones without moving others', () => {
    const before = rebalance(undefined, ['a', 'b'], ['t1', 't2', 't3']);
    const after = rebalance(before, ['a', 'b'], ['t1', 't3', 't4', 't5']);
    expect(moved(before, after)).toBe(0);
    expect(ownerIndex(after).size).toBe(4);
    expect(Math.max(...loads(after))).toBe(2);
  });

  it('is deterministic and idempotent', () => {
    const once = rebalance(undefined, ['b', 'a', 'c'], taskIds(50));
    expect(rebalance(undefined, ['c', 'b', 'a'], [...taskIds(50)].reverse())).toEqual(once);
    const again = rebalance(once, ['a', 'b', 'c'], taskIds(50));
    expect(sameOwnership(once, again)).toBe(true);
  });

  it('owns nothing when there are no members', () => {
    expect(rebalance(undefined, [], ['t1']).owners).toEqual({});
  });
});
