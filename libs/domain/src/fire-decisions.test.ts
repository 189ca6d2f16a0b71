import { describe, expect, it } from 'vitest';
import {
  type MisfirePolicyName,
  type OverlapDecision,
  type OverlapPolicy,
  decideCatchUp,
  decideOverlap,
} from './fire-decisions.js';

describe('decideCatchUp', () => {
  it.each<[MisfirePolicyName, string[], number, number, string[]]>([
    ['skip', ['a', 'b'], 0, 100, []],
    ['fire-once', ['a', 'b', 'c'], 0, 100, ['c']],
    ['fire-once', ['a', 'b'], 1, 100, []], // an on-time fire stands for the missed ones
    ['fire-once', [], 0, 100, []],
    ['fire-all', ['a', 'b', 'c'], 1, 100, ['a', 'b', 'c']],
    ['fire-all', ['a', 'b', 'c'], 0, 2, ['b', 'c']], // the newest of the backlog
    ['fire-all', [], 0, 2, []],
  ])('%s of %j with %i on time (max %i) catches up %j', (policy, missed, onTime, max, expected) => {
    expect(decideCatchUp(policy, missed, onTime, max)).toEqual(expected);
  });
});

describe('decideOverlap', () => {
  const none: OverlapDecision<string> = {
    start: [],
    wait: [],
    skip: [],
    dropWaiting: false,
    cancelRunning: false,
  };
  it.each<[OverlapPolicy, boolean, string[], Partial<OverlapDecision<string>>]>([
    ['allow', false, ['a', 'b'], { start: ['a', 'b'] }],
    ['allow', true, ['a'], { start: ['a'] }],
    ['skip', false, ['a'], { start: ['a'] }],
    // A caught-up backlog is not called back to back: the oldest starts, the rest overlap it.
    ['skip', false, ['a', 'b', 'c'], { start: ['a'], skip: ['b', 'c'] }],
    ['skip', true, ['a', 'b'], { skip: ['a', 'b'] }],
    ['buffer-one', false, ['a', 'b'], { start: ['b'], skip: ['a'] }],
    ['buffer-one', true, ['a', 'b'], { wait: ['b'], skip: ['a'], dropWaiting: true }],
    ['buffer-all', false, ['a', 'b', 'c'], { start: ['a'], wait: ['b', 'c'] }],
    ['buffer-all', true, ['a', 'b'], { wait: ['a', 'b'] }],
    ['cancel-running', false, ['a', 'b'], { start: ['b'], skip: ['a'] }],
    ['cancel-running', true, ['a'], { start: ['a'], cancelRunning: true }],
    ['skip', true, [], {}],
  ])('%s (busy: %s) with %j', (policy, busy, fires, expected) => {
    expect(decideOverlap(policy, busy, fires)).toEqual({ ...none, ...expected });
  });
});
