import { type GroupMember, type SchedulerTask, createTask, parseTaskSpec } from '@nono/domain';
import { describe, expect, it } from 'vitest';
import { memberVerdict } from '../runner/execution-runner.js';
import { MemberHealth } from './member-health.js';
import { type GroupView, MemberRouter } from './member-router.js';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const passiveHealth = { consecutiveFailures: 2, backoffMs: 10_000 };
const members: GroupMember[] = [1, 2, 3].map((n) => ({ url: `http://127.0.0.1:776${n}`, source: 'static' }));

function groupTask(route: string, path?: string): SchedulerTask {
  const spec = parseTaskSpec(
    {
      name: 't',
      schedule: { kind: 'interval', everyMs: 1000 },
      target: { group: 'g', route, ...(path === undefined ? {} : { path }) },
    },
    T0,
  );
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  return createTask('t', spec.value, T0);
}

function router(view: GroupView | 'no such group' = { passiveHealth, members }) {
  const changes: number[] = [];
  const health = new MemberHealth(() => changes.push(1));
  return {
    router: new MemberRouter({
      directory: { lookup: () => (view === 'no such group' ? undefined : view) },
      health,
      random: () => 0,
    }),
    health,
    changes,
  };
}

describe('MemberRouter', () => {
  it('calls the member with the target path and names the member; a URL target goes to its URL', () => {
    const { router: r } = router();
    const tried = new Set<string>();
    expect(r.destination(groupTask('failover', '/jobs/a?x=1'), tried, T0)).toEqual({
      kind: 'member',
      url: 'http://127.0.0.1:7761/jobs/a?x=1',
      member: { group: 'g', url: 'http://127.0.0.1:7761' },
      passiveHealth,
    });
    expect(tried).toEqual(new Set(['http://127.0.0.1:7761']));
    const spec = parseTaskSpec(
      { name: 'u', schedule: { kind: 'interval', everyMs: 1000 }, target: { url: 'http://127.0.0.1:9/x' } },
      T0,
    );
    if (!spec.ok) throw new Error('bad spec');
    expect(r.destination(createTask('u', spec.value, T0), new Set(), T0)).toEqual({
      kind: 'url',
      url: 'http://127.0.0.1:9/x',
    });
  });

  it('turns round-robin per task, one call after the other', () => {
    const { router: r } = router();
    const task = groupTask('round-robin');
    const urls = Array.from({ length: 6 }, () => {
      const destination = r.destination(task, new Set(), T0);
      return destination.kind === 'member' ? destination.member.url : destination.kind;
    });
    expect(urls).toEqual([...members, ...members].map((member) => member.url));
  });

  it('an unknown or empty group is an attempt with nobody to call, saying why', () => {
    expect(router('no such group').router.destination(groupTask('random'), new Set(), T0)).toMatchObject({
      kind: 'none',
      label: 'group:g',
      error: expect.stringContaining('not defined'),
    });
    expect(
      router({ passiveHealth, members: [] }).router.destination(groupTask('random'), new Set(), T0),
    ).toMatchObject({
      kind: 'none',
      error: expect.stringContaining('no live member'),
    });
  });

  it('takes a member out after consecutive failures for the back-off, then tries it again', () => {
    const { router: r, health, changes } = router();
    const task = groupTask('failover');
    const first = r.destination(task, new Set(), T0);
    r.started(first);
    r.finished(first, 'failed', 'ECONNREFUSED', T0);
    expect(health.isOut('g', 'http://127.0.0.1:7761', T0)).toBe(false);
    r.started(first);
    r.finished(first, 'failed', 'ECONNREFUSED', T0 + 1);
    expect(health.ejections(T0 + 1)).toEqual([
      {
        group: 'g',
        url: 'http://127.0.0.1:7761',
        cause: 'passive',
        until: T0 + 1 + 10_000,
        failures: 2,
        lastError: 'ECONNREFUSED',
      },
    ]);
    expect(changes).toHaveLength(1);
    // Failover now starts at the second member, until the back-off ends.
    expect(r.destination(task, new Set(), T0 + 5_000)).toMatchObject({
      member: { url: 'http://127.0.0.1:7762' },
    });
    const again = r.destination(task, new Set(), T0 + 10_002);
    expect(again).toMatchObject({ member: { url: 'http://127.0.0.1:7761' } });
    // Its first failure after the back-off takes it out again; a success would have ended the run.
    r.finished(again, 'failed', 'timed out', T0 + 10_003);
    expect(health.isOut('g', 'http://127.0.0.1:7761', T0 + 10_004)).toBe(true);
    r.finished(again, 'answered', '', T0 + 20_100);
    expect(health.isOut('g', 'http://127.0.0.1:7761', T0 + 10_004)).toBe(false);
  });

  it('calls the members taken out when every live member is out', () => {
    const { router: r, health } = router();
    for (const member of members) {
      health.failed('g', member.url, 'down', passiveHealth, T0);
      health.failed('g', member.url, 'down', passiveHealth, T0);
    }
    expect(r.destination(groupTask('failover'), new Set(), T0 + 1)).toMatchObject({ kind: 'member' });
  });

  it('counts the calls running at each member for least-in-flight', () => {
    const { router: r } = router();
    const task = groupTask('least-in-flight');
    const a = r.destination(task, new Set(), T0);
    r.started(a);
    const b = r.destination(task, new Set(), T0);
    r.started(b);
    const c = r.destination(task, new Set(), T0);
    expect(new Set([a, b, c].map((d) => (d.kind === 'member' ? d.member.url : '')))).toEqual(
      new Set(members.map((member) => member.url)),
    );
    r.finished(a, 'answered', '', T0);
    r.started(c);
    expect(r.destination(task, new Set(), T0)).toEqual(a);
  });
});

describe('memberVerdict', () => {
  it.each([
    [{ kind: 'succeeded', httpStatus: 200, durationMs: 1 }, 'answered'],
    [{ kind: 'failed', httpStatus: 404, error: 'x', durationMs: 1 }, 'answered'],
    [{ kind: 'failed', httpStatus: 503, error: 'x', durationMs: 1 }, 'failed'],
    [{ kind: 'failed', error: 'ECONNRESET', durationMs: 1 }, 'failed'],
    [{ kind: 'failed', error: 'no secrets', durationMs: 0, unsent: true }, 'neutral'],
    [{ kind: 'timed-out', durationMs: 1 }, 'failed'],
    [{ kind: 'cancelled', durationMs: 1 }, 'neutral'],
  ] as const)('%j → %s', (outcome, verdict) => {
    expect(memberVerdict(outcome)).toBe(verdict);
  });
});
