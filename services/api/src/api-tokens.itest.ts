import { ZkClient, apiTokenDocument } from '@nono/coordination';
import { ManualClock } from '@nono/domain';
import { createLogger } from '@nono/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkToken, hashToken } from './auth/token-registry.js';
import { LAST_USED_WRITE_INTERVAL_MS, ZkApiTokens } from './auth/zk-api-tokens.js';
import { type Harness, auditEvent, auth, eventually, sampleTask, startHarness } from './testing/harness.js';

/**
 * Named API tokens on a real ZooKeeper: created and revoked by admins through the API,
 * stored hashed, used at once, refused at once when revoked or expired (also by another
 * API process, through its watch), named in the audit trail, last use recorded at most
 * once a minute. The clock is a ManualClock, so expiry and the minute are stepped, not waited.
 */
describe('named API tokens', () => {
  let h: Harness;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    h = await startHarness('api-tokens', { clock });
  });
  afterAll(async () => {
    await h?.close();
  });

  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
  async function createToken(body: Record<string, unknown>, headers = auth('admin')) {
    return h.app.inject({ method: 'POST', url: '/api/v1/tokens', headers, payload: body });
  }
  async function created(body: Record<string, unknown>): Promise<string> {
    const response = await createToken(body);
    expect(response.statusCode, response.body).toBe(201);
    return response.json<{ token: string }>().token;
  }
  const listTokens = async () =>
    (await h.app.inject({ method: 'GET', url: '/api/v1/tokens', headers: auth('admin') })).json<{
      items: Array<Record<string, unknown>>;
    }>().items;

  it('create → use → last-used shows → revoke → 401, and neither the secret nor its hash is ever listed', async () => {
    const response = await createToken({ name: 'ci-deploy', role: 'operator' });
    expect(response.statusCode).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json<Record<string, unknown> & { token: string }>();
    expect(body).toMatchObject({
      name: 'ci-deploy',
      role: 'operator',
      expiresAt: null,
      expired: false,
      lastUsedAt: null,
      createdBy: expect.stringMatching(/^admin:[0-9a-f]{12}$/) as unknown,
    });
    const secret = body.token;
    expect(secret).toMatch(/^nono_[A-Za-z0-9_-]{43}$/);

    // The znode holds the hash, never the secret.
    const { data } = await h.zk.get(h.layout.apiToken('ci-deploy'));
    expect(data.toString()).not.toContain(secret);
    expect(data.toString()).toContain(hashToken(secret));

    const used = await h.app.inject({ method: 'GET', url: '/api/v1/tasks', headers: bearer(secret) });
    expect(used.statusCode).toBe(200);
    const usedAt = new Date(clock.now()).toISOString();
    const listed = await eventually(
      async () => (await listTokens()).find((t) => t['name'] === 'ci-deploy' && t['lastUsedAt'] === usedAt),
      10_000,
      'the last use to show',
    );
    expect(Object.keys(listed).sort()).toEqual(
      ['createdAt', 'createdBy', 'expired', 'expiresAt', 'lastUsedAt', 'name', 'role'].sort(),
    );
    const listing = JSON.stringify(await listTokens());
    expect(listing).not.toContain(secret);
    expect(listing).not.toContain(hashToken(secret));

    const revoked = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/tokens/ci-deploy',
      headers: auth('admin'),
    });
    expect(revoked.statusCode).toBe(204);
    const refused = await h.app.inject({ method: 'GET', url: '/api/v1/tasks', headers: bearer(secret) });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'NONO_UNAUTHENTICATED' });
    expect((await listTokens()).map((t) => t['name'])).not.toContain('ci-deploy');
  });

  it('another API process refuses a token revoked through this one, and accepts one created here', async () => {
    const zk = await ZkClient.connect({ connect: h.iso.zkConnect, sessionTimeoutMs: 10_000 });
    const other = new ZkApiTokens({ zk, layout: h.layout, log: createLogger('other-api', 'silent') });
    try {
      await other.start();
      const secret = await created({ name: 'shared', role: 'viewer' });
      const accepted = () => checkToken([other.entries() ?? []], secret, clock.now()).kind;
      await eventually(
        async () => (accepted() === 'valid' ? true : undefined),
        5_000,
        'the other process to accept it',
      );
      await h.app.inject({ method: 'DELETE', url: '/api/v1/tokens/shared', headers: auth('admin') });
      await eventually(
        async () => (accepted() === 'unknown' ? true : undefined),
        5_000,
        'the other process to refuse it',
      );
    } finally {
      other.stop();
      zk.close();
    }
  });

  it('an expired token gets 401 from its expiry on (clock stepped, not waited)', async () => {
    const expiresAt = new Date(clock.now() + 60_000).toISOString();
    const secret = await created({ name: 'short-lived', role: 'viewer', expiresAt });
    expect(
      (await h.app.inject({ method: 'GET', url: '/api/v1/tasks', headers: bearer(secret) })).statusCode,
    ).toBe(200);
    clock.advance(59_999);
    expect(
      (await h.app.inject({ method: 'GET', url: '/api/v1/tasks', headers: bearer(secret) })).statusCode,
    ).toBe(200);
    clock.advance(1);
    const refused = await h.app.inject({ method: 'GET', url: '/api/v1/tasks', headers: bearer(secret) });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({
      code: 'NONO_UNAUTHENTICATED',
      detail: expect.stringContaining(expiresAt) as unknown,
    });
    expect((await listTokens()).find((t) => t['name'] === 'short-lived')).toMatchObject({
      expired: true,
      expiresAt,
    });
  });

  it('writes the last-used time at most once a minute per token', async () => {
    const secret = await created({ name: 'busy', role: 'viewer' });
    const version = async () => (await h.zk.get(h.layout.apiToken('busy'))).stat.version;
    const use = async () =>
      expect(
        (await h.app.inject({ method: 'GET', url: '/api/v1/tasks', headers: bearer(secret) })).statusCode,
      ).toBe(200);
    await use();
    await eventually(
      async () => ((await version()) === 1 ? true : undefined),
      5_000,
      'the first use to be written',
    );
    for (let i = 0; i < 20; i++) await use();
    clock.advance(LAST_USED_WRITE_INTERVAL_MS - 1);
    await use();
    // A write would have landed by the time a ZooKeeper round trip made after it returns.
    await h.zk.get(h.layout.apiToken('busy'));
    expect(await version()).toBe(1);
    clock.advance(1);
    await use();
    await eventually(
      async () => ((await version()) === 2 ? true : undefined),
      5_000,
      'the next minute to be written',
    );
    const parsed = apiTokenDocument.parse((await h.zk.get(h.layout.apiToken('busy'))).data);
    expect(parsed.ok && parsed.value.lastUsedAt).toBe(new Date(clock.now()).toISOString());
  });

  it('names the token in the audit entries of what it did', async () => {
    const secret = await created({ name: 'release-bot', role: 'admin' });
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: bearer(secret),
      payload: sampleTask('made-by-bot'),
    });
    expect(response.statusCode).toBe(201);
    const defined = await auditEvent(
      h,
      (e) => e.type === 'nono.task.defined.v1' && e.subject === 'made-by-bot',
      'the defined event',
    );
    expect((defined.data as { actor: unknown }).actor).toEqual({ kind: 'token', id: 'release-bot' });
    // And a token created by a named token names its creator.
    const child = await createToken({ name: 'made-by-bot-token', role: 'viewer' }, bearer(secret));
    expect(child.json()).toMatchObject({ createdBy: 'release-bot' });
  });

  it.each(['viewer', 'operator'] as const)('a %s token cannot manage tokens (403)', async (role) => {
    const calls = [
      { method: 'GET', url: '/api/v1/tokens' },
      { method: 'POST', url: '/api/v1/tokens', payload: { name: `by-${role}`, role: 'admin' } },
      { method: 'DELETE', url: '/api/v1/tokens/busy' },
    ] as const;
    const named = await created({ name: `named-${role}`, role });
    for (const headers of [auth(role), bearer(named)])
      for (const call of calls) {
        const response = await h.app.inject({ ...call, headers });
        expect(response.statusCode, `${call.method} ${call.url}`).toBe(403);
        expect(response.json()).toMatchObject({ code: 'NONO_FORBIDDEN' });
      }
    expect((await listTokens()).map((t) => t['name'])).toContain('busy');
  });

  it.each([
    [{ name: 'Bad Name', role: 'viewer' }, 400, 'NONO_INVALID_INPUT', 'name'],
    [{ name: 'x', role: 'root' }, 400, 'NONO_INVALID_INPUT', 'role'],
    [{ name: 'x', role: 'viewer', secret: 'mine' }, 400, 'NONO_INVALID_INPUT', 'secret'],
    [
      { name: 'x', role: 'viewer', expiresAt: '2020-01-01T00:00:00Z' },
      422,
      'NONO_INVALID_TOKEN_REQUEST',
      'expiresAt',
    ],
    [
      { name: 'x', role: 'viewer', expiresAt: '2030-02-30T00:00:00Z' },
      422,
      'NONO_INVALID_TOKEN_REQUEST',
      'expiresAt',
    ],
  ])('refuses %j with %i %s naming %s', async (body, status, code, field) => {
    const response = await createToken(body);
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ code, errors: [expect.objectContaining({ field }) as unknown] });
  });

  it('answers 409 to a name in use and 404 to revoking an unknown name', async () => {
    await created({ name: 'taken', role: 'viewer' });
    expect((await createToken({ name: 'taken', role: 'admin' })).json()).toMatchObject({
      code: 'NONO_TOKEN_EXISTS',
      status: 409,
    });
    const missing = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/tokens/nobody',
      headers: auth('admin'),
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'NONO_TOKEN_NOT_FOUND' });
  });
});
