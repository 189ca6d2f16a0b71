import { describe, expect, it } from 'vitest';
import { pickMember, rendezvousScore, type RouteContext } from './member-routing.js';
import { TargetPolicy } from './target-policy.js';
import { checkRunnableTask, createTask, isGroupTarget, parseStoredTask, parseTaskSpec } from './task.js';
import {
  type GroupMember,
  checkRunnableGroup,
  createWorkerGroup,
  liveMembers,
  memberCallUrl,
  parseStoredWorkerGroup,
  parseWorkerGroupSpec,
  reviseWorkerGroup,
  workerGroupSpecOf,
} from './worker-group.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const policy = new TargetPolicy(['127.0.0.1'], [{ name: 'ZooKeeper', host: '127.0.0.1', port: 2181 }], 'X');

describe('parseWorkerGroupSpec', () => {
  it('applies the documented defaults', () => {
    expect(parseWorkerGroupSpec({ members: [{ url: 'http://127.0.0.1:7761' }] })).toEqual({
      ok: true,
      value: {
        description: '',
        members: [{ url: 'http://127.0.0.1:7761' }],
        leaseMs: 15_000,
        passiveHealth: { consecutiveFailures: 3, backoffMs: 30_000 },
      },
    });
    expect(parseWorkerGroupSpec({})).toMatchObject({ ok: true, value: { members: [] } });
  });

  it('takes active health probes with their defaults, and only when asked', () => {
    expect(parseWorkerGroupSpec({ activeHealth: {} })).toMatchObject({
      ok: true,
      value: {
        activeHealth: {
          path: '/healthz',
          intervalMs: 10_000,
          timeoutMs: 2_000,
          unhealthyAfter: 2,
          healthyAfter: 1,
        },
      },
    });
    const without = parseWorkerGroupSpec({});
    expect(without.ok && 'activeHealth' in without.value).toBe(false);
  });

  it.each([
    ['a relative member URL', { members: [{ url: '/jobs' }] }, 'members[0].url'],
    ['a file member URL', { members: [{ url: 'file:///etc/passwd' }] }, 'members[0].url'],
    ['a member URL with a query', { members: [{ url: 'http://127.0.0.1:1/?a=1' }] }, 'members[0].url'],
    ['a member URL with credentials', { members: [{ url: 'http://u:p@127.0.0.1:1' }] }, 'members[0].url'],
    [
      'the same member twice (a trailing slash is the same URL)',
      { members: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:1/' }] },
      'members[1].url',
    ],
    ['an unknown field', { replicas: 3 }, 'replicas'],
    ['a lease under a second', { leaseMs: 10 }, 'leaseMs'],
    [
      'a zero failure threshold',
      { passiveHealth: { consecutiveFailures: 0 } },
      'passiveHealth.consecutiveFailures',
    ],
    ['a member without url', { members: [{}] }, 'members[0].url'],
    ['a probe path with a query', { activeHealth: { path: '/healthz?x=1' } }, 'activeHealth.path'],
    [
      'a probe timeout as long as its interval',
      { activeHealth: { intervalMs: 2_000, timeoutMs: 2_000 } },
      'activeHealth.timeoutMs',
    ],
  ])('names the field for %s', (_what, input, field) => {
    const result = parseWorkerGroupSpec(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((issue) => issue.field)).toContain(field);
  });

  it('checks each member against the target policy, naming the member', () => {
    const parsed = parseWorkerGroupSpec({
      members: [
        { url: 'http://127.0.0.1:7761' },
        { url: 'http://127.0.0.1:2181' },
        { url: 'http://10.0.0.1' },
      ],
    });
    if (!parsed.ok) throw new Error('valid spec refused');
    const group = createWorkerGroup('g', parsed.value, NOW);
    expect(checkRunnableGroup(group, policy).map((issue) => issue.field)).toEqual([
      'members[1].url',
      'members[2].url',
    ]);
  });

  it('round-trips a stored group and revises it keeping its identity', () => {
    const parsed = parseWorkerGroupSpec({ description: 'renderers' });
    if (!parsed.ok) throw new Error('valid spec refused');
    const group = createWorkerGroup('renderers', parsed.value, NOW);
    expect(parseStoredWorkerGroup(JSON.parse(JSON.stringify(group)))).toEqual({ ok: true, value: group });
    const next = reviseWorkerGroup(group, { ...workerGroupSpecOf(group), leaseMs: 5_000 }, NOW + 1_000);
    expect(next).toMatchObject({
      name: 'renderers',
      createdAt: group.createdAt,
      revision: 2,
      leaseMs: 5_000,
    });
    expect(() => createWorkerGroup('Bad Name', parsed.value, NOW)).toThrow(/name/);
  });
});

describe('group targets', () => {
  const base = { name: 'n', schedule: { kind: 'interval', everyMs: 1000 } };

  it('reads { group, route } with the defaults of the shared fields, and a URL target as before', () => {
    const group = parseTaskSpec(
      { ...base, target: { group: 'renderers', route: 'failover', path: '/jobs/r?x=1' } },
      NOW,
    );
    expect(group).toMatchObject({
      ok: true,
      value: {
        target: {
          group: 'renderers',
          route: 'failover',
          path: '/jobs/r?x=1',
          method: 'POST',
          headers: {},
          timeoutMs: 30_000,
          success: {},
        },
      },
    });
    const routeDefault = parseTaskSpec({ ...base, target: { group: 'renderers' } }, NOW);
    expect(routeDefault).toMatchObject({ ok: true, value: { target: { route: 'round-robin' } } });
    expect(parseTaskSpec({ ...base, target: { url: 'http://127.0.0.1:1/x' } }, NOW)).toMatchObject({
      ok: true,
      value: { target: { url: 'http://127.0.0.1:1/x', method: 'POST' } },
    });
  });

  it.each([
    ['an unknown route', { group: 'g', route: 'sharding' }, 'target.route'],
    ['route shard without shards', { group: 'g', route: 'shard' }, 'target.shards'],
    ['shards on another route', { group: 'g', route: 'round-robin', shards: 3 }, 'target.shards'],
    ['more than 1,000 shards', { group: 'g', route: 'shard', shards: 1001 }, 'target.shards'],
    [
      'parameters for more shards than there are',
      { group: 'g', route: 'shard', shards: 1, shardParameters: [{}, {}] },
      'target.shardParameters',
    ],
    ['a bad group name', { group: 'Not A Name' }, 'target.group'],
    ['a path without a leading slash', { group: 'g', path: 'jobs' }, 'target.path'],
    ['a path with a space', { group: 'g', path: '/a b' }, 'target.path'],
    ['both a url and a group', { group: 'g', url: 'http://127.0.0.1/' }, 'target.url'],
    ['a timeout under 100 ms on a group target', { group: 'g', timeoutMs: 1 }, 'target.timeoutMs'],
    ['neither', { method: 'GET' }, 'target.url'],
    ['a reserved header', { group: 'g', headers: { 'Nono-Attempt': '1' } }, 'target.headers.Nono-Attempt'],
  ])('names the field for %s', (_what, target, field) => {
    const result = parseTaskSpec({ ...base, target }, NOW);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((issue) => issue.field)).toEqual([field]);
  });

  it('a stored group task reads back, and the target policy does not apply to it (its members are checked)', () => {
    const spec = parseTaskSpec({ ...base, target: { group: 'g' } }, NOW);
    if (!spec.ok) throw new Error('valid spec refused');
    const task = createTask('t', spec.value, NOW);
    expect(isGroupTarget(task.target)).toBe(true);
    expect(parseStoredTask(JSON.parse(JSON.stringify(task)))).toEqual({ ok: true, value: task });
    expect(checkRunnableTask(task, policy)).toEqual([]);
  });

  it('joins a member URL and a path', () => {
    expect(memberCallUrl('http://127.0.0.1:1', '/jobs/a?x=1')).toBe('http://127.0.0.1:1/jobs/a?x=1');
    expect(memberCallUrl('http://127.0.0.1:1/base/', '/jobs')).toBe('http://127.0.0.1:1/base/jobs');
    expect(memberCallUrl('http://127.0.0.1:1/base', undefined)).toBe('http://127.0.0.1:1/base');
  });
});

describe('liveMembers', () => {
  const lease = (memberId: string, url: string, registeredAt: number, expiresAt: number) => ({
    memberId,
    url,
    registeredAt: new Date(registeredAt).toISOString(),
    expiresAt: new Date(expiresAt).toISOString(),
  });

  it('lists static members in order, then dynamic ones by registration, without lapsed leases or repeats', () => {
    const members = liveMembers(
      { members: [{ url: 'http://127.0.0.1:2' }, { url: 'http://127.0.0.1:1' }] },
      [
        lease('late', 'http://127.0.0.1:5', NOW - 1_000, NOW + 5_000),
        lease('early', 'http://127.0.0.1:4', NOW - 9_000, NOW + 5_000),
        lease('lapsed', 'http://127.0.0.1:6', NOW - 9_000, NOW),
        lease('static-again', 'http://127.0.0.1:1/', NOW - 9_000, NOW + 5_000),
      ],
      NOW,
    );
    expect(members.map((member) => [member.url, member.source, member.memberId])).toEqual([
      ['http://127.0.0.1:2', 'static', undefined],
      ['http://127.0.0.1:1', 'static', undefined],
      ['http://127.0.0.1:4', 'dynamic', 'early'],
      ['http://127.0.0.1:5', 'dynamic', 'late'],
    ]);
  });
});

describe('pickMember', () => {
  const members: GroupMember[] = [1, 2, 3].map((n) => ({
    url: `http://127.0.0.1:776${n}`,
    source: 'static',
  }));
  const context = (overrides: Partial<RouteContext> = {}): RouteContext => ({
    taskId: 'task-a',
    sequence: 0,
    random: 0,
    inFlight: () => 0,
    tried: new Set(),
    ...overrides,
  });

  it('round-robin takes the members in turn', () => {
    const picked = [0, 1, 2, 3, 4, 5].map(
      (sequence) => pickMember('round-robin', members, context({ sequence }))?.url,
    );
    expect(picked).toEqual([...members, ...members].map((member) => member.url));
  });

  it('random takes the member the drawn number points at', () => {
    expect(pickMember('random', members, context({ random: 0.99 }))).toBe(members[2]);
    expect(pickMember('random', members, context({ random: 0.4 }))).toBe(members[1]);
  });

  it('consistent-hash keeps a task on one member, and a member leaving moves only its own tasks', () => {
    const tasks = Array.from({ length: 300 }, (_, i) => `task-${i}`);
    const before = new Map(
      tasks.map((taskId) => [taskId, pickMember('consistent-hash', members, context({ taskId }))]),
    );
    for (const taskId of tasks)
      expect(pickMember('consistent-hash', members, context({ taskId, sequence: 7 }))).toBe(
        before.get(taskId),
      );
    const perMember = members.map((member) => tasks.filter((taskId) => before.get(taskId) === member).length);
    // Spread: 100 each on average; rendezvous hashing of 300 keys stays within ±30 here.
    for (const count of perMember) expect(Math.abs(count - 100)).toBeLessThan(30);
    const gone = members[1];
    const remaining = members.filter((member) => member !== gone);
    for (const taskId of tasks) {
      const after = pickMember('consistent-hash', remaining, context({ taskId }));
      if (before.get(taskId) !== gone) expect(after).toBe(before.get(taskId));
      else expect(remaining).toContain(after);
    }
    expect(rendezvousScore('a', 'http://h:1/')).toBe(rendezvousScore('a', 'http://h:1'));
  });

  it('least-in-flight takes the member with the fewest calls running, ties in turn', () => {
    const running = new Map([
      ['http://127.0.0.1:7761', 2],
      ['http://127.0.0.1:7762', 0],
      ['http://127.0.0.1:7763', 0],
    ]);
    const inFlight = (url: string) => running.get(url) ?? 0;
    expect(pickMember('least-in-flight', members, context({ inFlight, sequence: 0 }))).toBe(members[1]);
    expect(pickMember('least-in-flight', members, context({ inFlight, sequence: 2 }))).toBe(members[2]);
  });

  it('failover takes the first member, and a retry the next one; when all were tried it starts over', () => {
    expect(pickMember('failover', members, context())).toBe(members[0]);
    const tried = new Set([members[0]?.url ?? '']);
    expect(pickMember('failover', members, context({ tried }))).toBe(members[1]);
    tried.add(members[1]?.url ?? '');
    expect(pickMember('failover', members, context({ tried }))).toBe(members[2]);
    tried.add(members[2]?.url ?? '');
    expect(pickMember('failover', members, context({ tried }))).toBe(members[0]);
  });

  it('every route sends a retry to a member the execution has not been to', () => {
    const tried = new Set([members[0]?.url ?? '', members[2]?.url ?? '']);
    for (const route of ['round-robin', 'random', 'consistent-hash', 'least-in-flight', 'failover'] as const)
      expect(pickMember(route, members, context({ tried, sequence: 5, random: 0.7 }))).toBe(members[1]);
  });

  it('answers nothing for an empty group', () => {
    expect(pickMember('round-robin', [], context())).toBeUndefined();
  });
});
