import { describe, expect, it } from 'vitest';
import {
  EXECUTION_ID_PATTERN,
  instantIdOf,
  instantOutcome,
  planBroadcastUnits,
  planShardUnits,
  shardExecutionId,
} from './instant-units.js';
import { pickMember } from './member-routing.js';
import { scheduledExecutionId } from './occurrence.js';

const INSTANT = scheduledExecutionId('report', Date.parse('2026-12-02T10:00:00Z'));

describe('shard units', () => {
  it('makes one unit per shard, ids derived from the instant and the index, parameters by index', () => {
    const units = planShardUnits(INSTANT, 3, [{ region: 'eu' }, { region: 'us' }]);
    expect(units).toEqual([
      {
        executionId: `${INSTANT}.shard-0`,
        instantId: INSTANT,
        shard: { index: 0, count: 3 },
        parameters: { region: 'eu' },
      },
      {
        executionId: `${INSTANT}.shard-1`,
        instantId: INSTANT,
        shard: { index: 1, count: 3 },
        parameters: { region: 'us' },
      },
      { executionId: `${INSTANT}.shard-2`, instantId: INSTANT, shard: { index: 2, count: 3 } },
    ]);
  });

  it('derives the same ids wherever it is computed, different for every shard and instant', () => {
    const other = scheduledExecutionId('report', Date.parse('2026-12-02T10:01:00Z'));
    expect(planShardUnits(INSTANT, 1000, undefined).map((u) => u.executionId)).toEqual(
      planShardUnits(INSTANT, 1000, undefined).map((u) => u.executionId),
    );
    const ids = new Set([
      ...planShardUnits(INSTANT, 1000, undefined).map((u) => u.executionId),
      ...planShardUnits(other, 1000, undefined).map((u) => u.executionId),
    ]);
    expect(ids.size).toBe(2000);
  });

  it.each([
    ['a plain execution id', INSTANT, true],
    ['a shard id', shardExecutionId(INSTANT, 999), true],
    ['a broadcast id', `${INSTANT}.member-0a1b2c3d`, true],
    ['a suffix nono never makes', `${INSTANT}.other`, false],
  ])('accepts %s as an execution id: %s', (_what, id, accepted) => {
    expect(new RegExp(EXECUTION_ID_PATTERN).test(id)).toBe(accepted);
  });

  it('finds the instant a unit belongs to', () => {
    expect(instantIdOf(shardExecutionId(INSTANT, 7))).toBe(INSTANT);
    expect(instantIdOf(INSTANT)).toBe(INSTANT);
  });

  it('spreads shards over members by index, and a retry over the members not tried', () => {
    const members = [{ url: 'http://a' }, { url: 'http://b' }, { url: 'http://c' }];
    const context = (shardIndex: number, tried: string[] = []) => ({
      taskId: 't',
      sequence: 0,
      random: 0,
      inFlight: () => 0,
      tried: new Set(tried),
      shardIndex,
    });
    const first = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => pickMember('shard', members, context(i))?.url);
    expect(first).toEqual([
      'http://a',
      'http://b',
      'http://c',
      'http://a',
      'http://b',
      'http://c',
      'http://a',
      'http://b',
      'http://c',
      'http://a',
    ]);
    expect(pickMember('shard', members, context(1, ['http://b']))?.url).toBe('http://c');
    expect(pickMember('shard', members, context(0, ['http://a']))?.url).toBe('http://b');
  });
});

describe('broadcast units', () => {
  it('makes one unit per member, each URL once, pinned to it', () => {
    const units = planBroadcastUnits(INSTANT, ['http://a:1/', 'http://b:2', 'http://a:1']);
    expect(units.map((u) => u.member)).toEqual(['http://a:1', 'http://b:2']);
    expect(new Set(units.map((u) => u.executionId)).size).toBe(2);
    expect(
      units.every((u) => u.instantId === INSTANT && u.executionId.startsWith(`${INSTANT}.member-`)),
    ).toBe(true);
  });

  it('gives a member the same id at every instant it is computed', () => {
    expect(planBroadcastUnits(INSTANT, ['http://b:2', 'http://a:1'])[1]?.executionId).toBe(
      planBroadcastUnits(INSTANT, ['http://a:1'])[0]?.executionId,
    );
  });

  it('makes no unit without members', () => {
    expect(planBroadcastUnits(INSTANT, [])).toEqual([]);
  });
});

describe('an instant made of units', () => {
  it.each([
    [['succeeded', 'succeeded', 'succeeded'], 'succeeded'],
    [['succeeded', 'running', 'failed'], 'running'],
    [['succeeded', 'retrying'], 'running'],
    [['succeeded', 'failed', 'lost'], 'failed'],
    [['succeeded', 'timed-out', 'lost'], 'timed-out'],
    [['succeeded', 'lost'], 'lost'],
    [['skipped', 'skipped'], 'skipped'],
    [[], 'scheduled'],
  ])('units %j: the instant is %s', (statuses, status) => {
    expect(instantOutcome(statuses).status).toBe(status);
  });

  it('counts the units in each status', () => {
    expect(instantOutcome(['succeeded', 'failed', 'succeeded'])).toEqual({
      status: 'failed',
      units: 3,
      byStatus: { succeeded: 2, failed: 1 },
    });
  });
});
