import { describe, expect, it } from 'vitest';
import { type ApiError } from '../errors.js';
import { parseTaskQuery, selectTasks } from './task-query.js';

describe('task queries', () => {
  it('refuses malformed filters, naming them', () => {
    try {
      parseTaskQuery({ label: 'nocolon', paused: 'maybe' });
      expect.fail('should throw');
    } catch (error) {
      expect((error as ApiError).issues.map((i) => i.field)).toEqual(['label', 'paused']);
    }
  });
  it('pages by id after filtering', () => {
    const tasks = ['c', 'a', 'b'].map((id) => ({
      version: 0,
      task: { id, paused: false, labels: {} },
    })) as never[];
    const page = selectTasks(tasks, parseTaskQuery({ limit: 2 }), () => undefined);
    expect(page.nextCursor).toBe('b');
    expect(
      selectTasks(tasks, parseTaskQuery({ limit: 2, after: 'b' }), () => undefined).nextCursor,
    ).toBeUndefined();
  });
});
