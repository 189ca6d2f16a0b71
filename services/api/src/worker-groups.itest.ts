import { memberLeaseDocument, workerHealthDocument } from '@nono/coordination';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, auditEvent, auth, startHarness } from './testing/harness.js';

/** Worker groups through the REST API on a real ZooKeeper and Kafka: definitions, members, leases, health. */
describe('worker groups REST', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-worker-groups');
  });
  afterAll(async () => {
    await h?.close();
  });

  const group = (name: string, overrides: Record<string, unknown> = {}) => ({
    name,
    description: 'renderers',
    members: [{ url: 'http://127.0.0.1:7761' }, { url: 'http://127.0.0.1:7762' }],
    leaseMs: 3_000,
    ...overrides,
  });

  it('creates, reads, replaces (If-Match) and deletes a group, auditing each change with its actor', async () => {
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/worker-groups',
      headers: auth('admin'),
      payload: group('crud'),
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers.etag).toBe('"1"');
    expect(created.headers.location).toBe('/api/v1/worker-groups/crud');
    expect(created.json()).toMatchObject({
      name: 'crud',
      revision: 1,
      leaseMs: 3_000,
      passiveHealth: { consecutiveFailures: 3, backoffMs: 30_000 },
    });
    await auditEvent(
      h,
      (e) => e.type === 'nono.worker-group.defined.v1' && e.subject === 'crud',
      'the defined event',
    );

    const again = await h.app.inject({
      method: 'POST',
      url: '/api/v1/worker-groups',
      headers: auth('admin'),
      payload: group('crud'),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'NONO_WORKER_GROUP_EXISTS' });

    const stale = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/worker-groups/crud',
      headers: { ...auth('admin'), 'if-match': '"7"' },
      payload: group('crud', { description: 'x' }),
    });
    expect(stale.statusCode).toBe(412);

    const replaced = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/worker-groups/crud',
      headers: { ...auth('admin'), 'if-match': '"1"' },
      payload: group('crud', { members: [{ url: 'http://127.0.0.1:7763' }] }),
    });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.headers.etag).toBe('"2"');
    const updated = await auditEvent(
      h,
      (e) => e.type === 'nono.worker-group.updated.v1' && e.subject === 'crud',
      'the updated event',
    );
    expect(updated.data).toMatchObject({
      actor: { kind: 'token' },
      before: { revision: 1 },
      after: { revision: 2, members: [{ url: 'http://127.0.0.1:7763' }] },
    });

    const listed = await h.app.inject({
      method: 'GET',
      url: '/api/v1/worker-groups',
      headers: auth('viewer'),
    });
    expect(listed.json()).toMatchObject({
      items: [{ etag: '"2"', liveMembers: 1, group: { name: 'crud' } }],
    });

    const viewerWrite = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/worker-groups/crud',
      headers: auth('operator'),
    });
    expect(viewerWrite.statusCode).toBe(403);
    const deleted = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/worker-groups/crud',
      headers: { ...auth('admin'), 'if-match': '"2"' },
    });
    expect(deleted.statusCode).toBe(204);
    await auditEvent(
      h,
      (e) => e.type === 'nono.worker-group.deleted.v1' && e.subject === 'crud',
      'the deleted event',
    );
    const gone = await h.app.inject({
      method: 'GET',
      url: '/api/v1/worker-groups/crud',
      headers: auth('viewer'),
    });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: 'NONO_WORKER_GROUP_NOT_FOUND' });
  });

  it.each([
    [
      'a relative member URL',
      group('bad', { members: [{ url: '/x' }] }),
      422,
      'NONO_INVALID_WORKER_GROUP',
      'members[0].url',
    ],
    [
      'a repeated member',
      group('bad', { members: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:1/' }] }),
      422,
      'NONO_INVALID_WORKER_GROUP',
      'members[1].url',
    ],
    ['a bad name', group('Bad Name'), 422, 'NONO_INVALID_WORKER_GROUP', 'name'],
    ['an unknown field', group('bad', { replicas: 2 }), 422, 'NONO_INVALID_WORKER_GROUP', 'replicas'],
    [
      'a member outside the allow-list',
      group('bad', { members: [{ url: 'http://10.1.2.3:80' }] }),
      400,
      'NONO_TARGET_NOT_ALLOWED',
      'members[0].url',
    ],
    [
      'a member on the cluster itself',
      group('bad', { members: [{ url: 'http://127.0.0.1:2181' }] }),
      400,
      'NONO_TARGET_NOT_ALLOWED',
      'members[0].url',
    ],
  ])('refuses %s, naming the field', async (_what, payload, status, code, field) => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/worker-groups',
      headers: auth('admin'),
      payload,
    });
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({
      code,
      errors: expect.arrayContaining([expect.objectContaining({ field })]),
    });
  });

  it('registers a dynamic member (201, audited), renews it (200, not audited), lists members with lease and health, and deregisters it', async () => {
    await h.app.inject({
      method: 'POST',
      url: '/api/v1/worker-groups',
      headers: auth('admin'),
      payload: group('dyn'),
    });
    const register = () =>
      h.app.inject({
        method: 'PUT',
        url: '/api/v1/worker-groups/dyn/members/host-a-7764',
        headers: auth('operator'),
        payload: { url: 'http://127.0.0.1:7764' },
      });
    const joined = await register();
    expect(joined.statusCode).toBe(201);
    const lease = joined.json<{ registeredAt: string; expiresAt: string; leaseMs: number }>();
    expect(lease).toMatchObject({
      group: 'dyn',
      memberId: 'host-a-7764',
      url: 'http://127.0.0.1:7764',
      leaseMs: 3_000,
    });
    expect(Date.parse(lease.expiresAt) - Date.parse(lease.registeredAt)).toBe(3_000);
    const joinedEvent = await auditEvent(
      h,
      (e) => e.type === 'nono.worker-group.member-joined.v1' && e.subject === 'dyn',
      'the member-joined event',
    );
    expect(joinedEvent.data).toMatchObject({
      memberId: 'host-a-7764',
      url: 'http://127.0.0.1:7764',
      actor: { kind: 'token' },
    });

    const renewed = await register();
    expect(renewed.statusCode).toBe(200);
    expect(renewed.json()).toMatchObject({ registeredAt: lease.registeredAt });
    const stored = memberLeaseDocument.parse(
      (await h.zk.get(h.layout.workerLease('dyn', 'host-a-7764'))).data,
    );
    expect(stored).toMatchObject({
      ok: true,
      value: { registeredAt: lease.registeredAt, registeredBy: expect.any(String) },
    });

    // A scheduler's passive health took the first static member out.
    const until = new Date(Date.now() + 60_000).toISOString();
    await h.zk.create(
      h.layout.workerHealthOf('s-test'),
      workerHealthDocument.encode({
        schedulerId: 's-test',
        updatedAt: new Date().toISOString(),
        ejected: [
          { group: 'dyn', url: 'http://127.0.0.1:7761', until, failures: 3, lastError: 'ECONNREFUSED' },
        ],
      }),
      'ephemeral',
    );
    const members = await h.app.inject({
      method: 'GET',
      url: '/api/v1/worker-groups/dyn/members',
      headers: auth('viewer'),
    });
    expect(members.statusCode).toBe(200);
    expect(members.json()).toMatchObject({
      group: 'dyn',
      leaseMs: 3_000,
      members: [
        {
          url: 'http://127.0.0.1:7761',
          source: 'static',
          state: 'static',
          health: 'out',
          takenOutBy: [{ schedulerId: 's-test', cause: 'passive', until, failures: 3 }],
        },
        { url: 'http://127.0.0.1:7762', source: 'static', state: 'static', health: 'in', takenOutBy: [] },
        {
          url: 'http://127.0.0.1:7764',
          source: 'dynamic',
          memberId: 'host-a-7764',
          state: 'live',
          health: 'in',
        },
      ],
    });

    const left = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/worker-groups/dyn/members/host-a-7764',
      headers: auth('operator'),
    });
    expect(left.statusCode).toBe(204);
    await auditEvent(
      h,
      (e) => e.type === 'nono.worker-group.member-left.v1' && e.subject === 'dyn',
      'the member-left event',
    );
    const leftAgain = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/worker-groups/dyn/members/host-a-7764',
      headers: auth('operator'),
    });
    expect(leftAgain.statusCode).toBe(404);
    expect(leftAgain.json()).toMatchObject({ code: 'NONO_MEMBER_NOT_FOUND' });
  });

  it('shows a lapsed lease as lapsed, and a registration after it joins anew', async () => {
    await h.app.inject({
      method: 'POST',
      url: '/api/v1/worker-groups',
      headers: auth('admin'),
      payload: group('lapse', { members: [], leaseMs: 1_000 }),
    });
    const url = '/api/v1/worker-groups/lapse/members/m1';
    const first = await h.app.inject({
      method: 'PUT',
      url,
      headers: auth('operator'),
      payload: { url: 'http://127.0.0.1:7765' },
    });
    expect(first.statusCode).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const members = await h.app.inject({
      method: 'GET',
      url: '/api/v1/worker-groups/lapse/members',
      headers: auth('viewer'),
    });
    expect(members.json()).toMatchObject({ members: [{ memberId: 'm1', state: 'lapsed' }] });
    const listed = await h.app.inject({
      method: 'GET',
      url: '/api/v1/worker-groups',
      headers: auth('viewer'),
    });
    expect(
      listed
        .json<{ items: Array<{ group: { name: string }; liveMembers: number }> }>()
        .items.find((i) => i.group.name === 'lapse')?.liveMembers,
    ).toBe(0);
    const second = await h.app.inject({
      method: 'PUT',
      url,
      headers: auth('operator'),
      payload: { url: 'http://127.0.0.1:7765' },
    });
    expect(second.statusCode).toBe(201);
    expect(second.json<{ registeredAt: string }>().registeredAt).not.toBe(
      first.json<{ registeredAt: string }>().registeredAt,
    );
  });

  it.each([
    ['no url', {}, 400, 'NONO_INVALID_INPUT', 'url'],
    ['a relative url', { url: 'x' }, 422, 'NONO_INVALID_MEMBER', 'url'],
    ['a url with a query', { url: 'http://127.0.0.1:7766/?a=1' }, 422, 'NONO_INVALID_MEMBER', 'url'],
    ['a url outside the allow-list', { url: 'http://10.0.0.9:80' }, 400, 'NONO_TARGET_NOT_ALLOWED', 'url'],
  ])('refuses a registration with %s, naming the field', async (_what, payload, status, code, field) => {
    await h.app.inject({
      method: 'POST',
      url: '/api/v1/worker-groups',
      headers: auth('admin'),
      payload: group('reg'),
    });
    const response = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/worker-groups/reg/members/m1',
      headers: auth('operator'),
      payload,
    });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ code, errors: [expect.objectContaining({ field })] });
  });

  it('refuses a registration into no group (404) and by a viewer (403)', async () => {
    const none = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/worker-groups/none/members/m1',
      headers: auth('operator'),
      payload: { url: 'http://127.0.0.1:7767' },
    });
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({ code: 'NONO_WORKER_GROUP_NOT_FOUND' });
    const viewer = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/worker-groups/reg/members/m1',
      headers: auth('viewer'),
      payload: { url: 'http://127.0.0.1:7767' },
    });
    expect(viewer.statusCode).toBe(403);
  });

  it("deleting a group removes its members' leases", async () => {
    await h.app.inject({
      method: 'POST',
      url: '/api/v1/worker-groups',
      headers: auth('admin'),
      payload: group('doomed'),
    });
    await h.app.inject({
      method: 'PUT',
      url: '/api/v1/worker-groups/doomed/members/m1',
      headers: auth('operator'),
      payload: { url: 'http://127.0.0.1:7768' },
    });
    expect(await h.zk.exists(h.layout.workerLease('doomed', 'm1'))).toBeDefined();
    await h.app.inject({ method: 'DELETE', url: '/api/v1/worker-groups/doomed', headers: auth('admin') });
    expect(await h.zk.exists(h.layout.workerLeasesOf('doomed'))).toBeUndefined();
  });

  it('takes a task whose target is a group, and names the bad field of a group target', async () => {
    const ok = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: {
        id: 'grouped',
        name: 'grouped',
        schedule: { kind: 'cron', expression: '*/5 * * * *' },
        target: { group: 'reg', route: 'consistent-hash', path: '/jobs/ok' },
      },
    });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({
      target: { group: 'reg', route: 'consistent-hash', path: '/jobs/ok', method: 'POST' },
    });
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: {
        id: 'grouped-bad',
        name: 'x',
        schedule: { kind: 'cron', expression: '*/5 * * * *' },
        target: { group: 'reg', route: 'busiest-first' },
      },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'NONO_INVALID_TASK', errors: [{ field: 'target.route' }] });
    const unsharded = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: {
        id: 'grouped-bad',
        name: 'x',
        schedule: { kind: 'cron', expression: '*/5 * * * *' },
        target: { group: 'reg', route: 'shard' },
      },
    });
    expect(unsharded.statusCode).toBe(422);
    expect(unsharded.json()).toMatchObject({
      code: 'NONO_INVALID_TASK',
      errors: [{ field: 'target.shards' }],
    });
  });
});
