import { describe, expect, it } from 'vitest';
import { type ApiError } from '../errors.js';
import { type VersionedTask } from './task-store.js';
import { lowerBound, parseTaskQuery, selectTasks } from './task-query.js';

/** Sorted by id, as the task index keeps them; `p` paused, `x` labelled team:x. */
const tasks = ['a', 'b', 'bp', 'c', 'dx', 'ep', 'fx'].map((id) => ({
  version: 0,
  task: { id, paused: id.endsWith('p'), labels: id.endsWith('x') ? { team: 'x' } : {} },
})) as unknown as VersionedTask[];
const owners = new Map([
  ['b', 'sched-1'],
  ['dx', 'sched-1'],
  ['fx', 'sched-2'],
]);
const page = (query: Parameters<typeof parseTaskQuery>[0]) => {
  const result = selectTasks(tasks, parseTaskQuery(query), (id) => owners.get(id));
  return { ids: result.items.map((item) => item.task.id), nextCursor: result.nextCursor };
};

describe('task queries', () => {
  it('refuses malformed filters, naming them', () => {
    try {
      parseTaskQuery({ label: 'nocolon', paused: 'maybe' });
      expect.fail('should throw');
    } catch (error) {
      expect((error as ApiError).issues.map((i) => i.field)).toEqual(['label', 'paused']);
    }
  });

  it.each([
    [{ limit: 2 }, ['a', 'b'], 'b'],
    [{ limit: 2, after: 'b' }, ['bp', 'c'], 'c'],
    // A cursor that is no longer a task (deleted since) still pages from where it sorts.
    [{ limit: 2, after: 'bb' }, ['bp', 'c'], 'c'],
    [{ limit: 3, after: 'c' }, ['dx', 'ep', 'fx'], undefined],
    [{ limit: 5, after: 'fx' }, [], undefined],
    [{ limit: 7 }, ['a', 'b', 'bp', 'c', 'dx', 'ep', 'fx'], undefined],
    [{ paused: 'true' }, ['bp', 'ep'], undefined],
    [{ paused: 'false', limit: 1, after: 'a' }, ['b'], 'b'],
    [{ label: 'team:x' }, ['dx', 'fx'], undefined],
    [{ label: ['team:x', 'other:y'] }, [], undefined],
    [{ owner: 'sched-1', limit: 1 }, ['b'], 'b'],
    [{ owner: 'sched-1', limit: 1, after: 'b' }, ['dx'], undefined],
    [{ owner: 'sched-2', label: 'team:x' }, ['fx'], undefined],
  ])('%j → %j, next cursor %s', (query, ids, nextCursor) => {
    expect(page(query)).toEqual({ ids, nextCursor });
  });

  it('a next cursor is set only when more matches follow the page', () => {
    // Exactly `limit` matches left: no empty last page.
    expect(page({ label: 'team:x', limit: 2 }).nextCursor).toBeUndefined();
    expect(page({ label: 'team:x', limit: 1 })).toEqual({ ids: ['dx'], nextCursor: 'dx' });
  });

  it.each([
    ['', 0],
    ['a', 0],
    ['b', 1],
    ['ba', 2],
    ['fx', 6],
    ['z', 7],
  ])('lowerBound(%s) = %i', (id, index) => {
    expect(lowerBound(tasks, id)).toBe(index);
  });
});
