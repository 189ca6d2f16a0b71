import { describe, expect, it } from 'vitest';
import {
  type ReplicaHealth,
  type ReplicaState,
  UNPROBED,
  judgeFailure,
  judgeReadiness,
  readOrder,
  summariseReplicas,
} from './replica-choice.js';

const MAX_LAG = 1_000;

function replica(state: ReplicaState, lag?: number, name?: string): ReplicaHealth {
  return { state, lag, name, detail: state };
}

describe('judgeReadiness', () => {
  it.each([
    [200, { status: 'ready', lag: 0, replica: 'a' }, 'current', 0, 'ready'],
    [200, { status: 'ready', lag: 1_000 }, 'current', 1_000, 'ready'],
    [200, { status: 'ready' }, 'current', undefined, 'ready'],
    [200, { status: 'ready', lag: 1_001 }, 'behind', 1_001, '1001 events behind, more than 1000'],
    [503, { status: 'not-ready', lag: 42 }, 'behind', 42, 'catching up, 42 events behind'],
    [503, { status: 'not-ready', lagKnown: false }, 'behind', undefined, 'not ready (503)'],
    [404, 'not json', 'behind', undefined, 'not ready (404)'],
  ] as const)('%i %j is %s', (status, body, state, lag, detail) => {
    expect(judgeReadiness(status, body, MAX_LAG, UNPROBED)).toMatchObject({ state, lag, detail });
  });

  it('keeps the name a replica reported once, and takes a new one', () => {
    const named = judgeReadiness(200, { lag: 0, replica: 'a' }, MAX_LAG, UNPROBED);
    expect(named.name).toBe('a');
    expect(judgeFailure(named, 'did not answer')).toMatchObject({ state: 'down', name: 'a', lag: 0 });
    expect(judgeReadiness(503, {}, MAX_LAG, named).name).toBe('a');
    expect(judgeReadiness(200, { replica: 'b' }, MAX_LAG, named).name).toBe('b');
  });
});

describe('readOrder', () => {
  it.each([
    {
      case: 'nothing probed yet: the configured order',
      replicas: [UNPROBED, UNPROBED, UNPROBED],
      sticky: undefined,
      order: [0, 1, 2],
    },
    {
      case: 'the sticky replica first while it is current',
      replicas: [replica('current', 0), replica('current', 0)],
      sticky: 1,
      order: [1, 0],
    },
    {
      case: 'a current replica before the sticky one once that one is behind',
      replicas: [replica('current', 5), replica('behind', 5_000)],
      sticky: 1,
      order: [0, 1],
    },
    {
      case: 'a current replica before a down one, even the sticky one',
      replicas: [replica('down'), replica('current', 0)],
      sticky: 0,
      order: [1, 0],
    },
    {
      case: 'behind replicas least behind first, an unknown lag last among them',
      replicas: [replica('behind'), replica('behind', 9_000), replica('behind', 2_000)],
      sticky: undefined,
      order: [2, 1, 0],
    },
    {
      case: 'current, behind, unknown, down',
      replicas: [replica('down'), UNPROBED, replica('behind', 10), replica('current', 3)],
      sticky: undefined,
      order: [3, 2, 1, 0],
    },
    {
      case: 'every replica down: still tried, in the configured order',
      replicas: [replica('down'), replica('down')],
      sticky: 1,
      order: [0, 1],
    },
  ])('$case', ({ replicas, sticky, order }) => {
    expect(readOrder(replicas, sticky)).toEqual(order);
  });
});

describe('summariseReplicas', () => {
  it.each([
    [[replica('current', 0)], 0, { reachable: true, detail: 'current' }],
    [[replica('down')], 0, { reachable: false, detail: 'the history service did not answer' }],
    [
      [replica('down'), replica('current', 0, 'b')],
      1,
      { reachable: true, detail: '1 of 2 replicas current; reads go to replica 2 (b)' },
    ],
    [
      [replica('behind', 40), replica('down')],
      0,
      { reachable: true, detail: '0 of 2 replicas current; reads go to replica 1' },
    ],
    [
      [replica('down'), replica('down')],
      0,
      { reachable: false, detail: '0 of 2 replicas current; none answers' },
    ],
  ])('%j', (replicas, readsTo, summary) => {
    expect(summariseReplicas(replicas, readsTo)).toEqual(summary);
  });
});
