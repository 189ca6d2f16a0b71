import { type OutcomeQuery } from '@nono/events';
import { createLogger } from '@nono/runtime';
import { describe, expect, it } from 'vitest';
import { ConcludedExecutions } from './concluded-executions.js';

const log = createLogger('concluded-executions-test', 'silent');

describe('ConcludedExecutions', () => {
  it('answers the questions of one takeover with one search', async () => {
    const searches: Array<readonly OutcomeQuery[]> = [];
    const concluded = new ConcludedExecutions({
      log,
      batchWindowMs: 5,
      search: (queries) => {
        searches.push(queries);
        return Promise.resolve({ concluded: new Set(['a1', 'b2']), complete: true });
      },
    });
    const [a, b] = await Promise.all([
      concluded.of({ taskId: 'a', executionIds: ['a1', 'a2'], since: 1 }),
      concluded.of({ taskId: 'b', executionIds: ['b2'], since: 2 }),
    ]);
    expect([...a]).toEqual(['a1']);
    expect([...b]).toEqual(['b2']);
    expect(searches).toHaveLength(1);
    expect(searches[0]?.map((q) => q.taskId)).toEqual(['a', 'b']);

    // Known ids are not searched for again; only the unknown one is.
    expect([...(await concluded.of({ taskId: 'a', executionIds: ['a1', 'a2'], since: 1 }))]).toEqual(['a1']);
    expect(searches[1]).toEqual([{ taskId: 'a', executionIds: ['a2'], since: 1 }]);
  });

  it('answers "none found" when the search fails, so the execution is reported lost as before', async () => {
    const concluded = new ConcludedExecutions({
      log,
      batchWindowMs: 1,
      search: () => Promise.reject(new Error('broker unreachable')),
    });
    expect((await concluded.of({ taskId: 'a', executionIds: ['a1'], since: 1 })).size).toBe(0);
  });
});
