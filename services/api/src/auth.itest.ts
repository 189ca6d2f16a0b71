import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, auth, sampleTask, startHarness } from './testing/harness.js';

describe('who may do what', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-auth');
    await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: sampleTask('auth-1'),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    ['no header', {}],
    ['a wrong token', { authorization: 'Bearer not-a-token' }],
    ['a non-bearer scheme', { authorization: 'Basic YWRtaW46YWRtaW4=' }],
  ])('answers 401 problem+json to %s', async (_what, headers) => {
    const response = await h.app.inject({ method: 'GET', url: '/api/v1/tasks', headers });
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ code: 'NONO_UNAUTHENTICATED' });
  });

  const calls = [
    { name: 'list', method: 'GET', url: '/api/v1/tasks', payload: undefined, min: 'viewer' },
    { name: 'read', method: 'GET', url: '/api/v1/tasks/auth-1', payload: undefined, min: 'viewer' },
    { name: 'schedulers', method: 'GET', url: '/api/v1/schedulers', payload: undefined, min: 'viewer' },
    { name: 'pause', method: 'POST', url: '/api/v1/tasks/auth-1/pause', payload: {}, min: 'operator' },
    { name: 'resume', method: 'POST', url: '/api/v1/tasks/auth-1/resume', payload: {}, min: 'operator' },
    { name: 'trigger', method: 'POST', url: '/api/v1/tasks/auth-1/trigger', payload: {}, min: 'operator' },
    { name: 'create', method: 'POST', url: '/api/v1/tasks', payload: sampleTask('auth-new'), min: 'admin' },
    {
      name: 'replace',
      method: 'PUT',
      url: '/api/v1/tasks/auth-1',
      payload: sampleTask('auth-1'),
      min: 'admin',
    },
    { name: 'patch', method: 'PATCH', url: '/api/v1/tasks/auth-1', payload: { name: 'x' }, min: 'admin' },
    { name: 'delete', method: 'DELETE', url: '/api/v1/tasks/auth-0', payload: undefined, min: 'admin' },
    { name: 'tokens', method: 'GET', url: '/api/v1/tokens', payload: undefined, min: 'admin' },
    {
      name: 'token revoke',
      method: 'DELETE',
      url: '/api/v1/tokens/nobody',
      payload: undefined,
      min: 'admin',
    },
  ] as const;
  const roles = ['viewer', 'operator', 'admin'] as const;
  const rank = (role: string) => roles.indexOf(role as (typeof roles)[number]);

  it.each(calls.flatMap((call) => roles.map((role) => [call.name, role, call] as const)))(
    '%s as %s',
    async (_name, role, call) => {
      const response = await h.app.inject({
        method: call.method,
        url: call.url,
        headers: auth(role),
        ...(call.payload === undefined ? {} : { payload: call.payload }),
      });
      if (rank(role) < rank(call.min)) {
        expect(response.statusCode).toBe(403);
        expect(response.json()).toMatchObject({ code: 'NONO_FORBIDDEN' });
      } else {
        expect([401, 403]).not.toContain(response.statusCode);
      }
    },
  );

  it('leaves the ops endpoints and the OpenAPI document open', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({
      status: 'ready',
      zookeeper: 'connected',
    });
    expect((await h.app.inject({ method: 'GET', url: '/metrics' })).body).toContain('process_cpu');
    const openapi = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    const doc = openapi.json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/tasks',
        '/api/v1/tasks/{id}',
        '/api/v1/tasks/{id}/trigger',
        '/api/v1/schedulers',
      ]),
    );
    expect((await h.app.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200);
    expect(openapi.body).toContain('#/components/schemas/Problem');
  });

  it('serves the web UI without a token, with a strict CSP, and unknown paths still get problem+json', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect((await h.app.inject({ method: 'GET', url: '/app.js' })).statusCode).toBe(200);
    const missing = await h.app.inject({ method: 'GET', url: '/nope.html' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
  });

  it('rate-limits /api with a 429 problem', async () => {
    const limited = await startHarness('api-rate', { rateLimitPerMinute: 3 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push(
          (await limited.app.inject({ method: 'GET', url: '/api/v1/tasks', headers: auth('viewer') }))
            .statusCode,
        );
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const response = await limited.app.inject({
        method: 'GET',
        url: '/api/v1/tasks',
        headers: auth('viewer'),
      });
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({ code: 'NONO_RATE_LIMITED' });
      // No trusted proxy: X-Forwarded-For is the client's own claim and changes nothing.
      const spoofed = await limited.app.inject({
        method: 'GET',
        url: '/api/v1/tasks',
        headers: { ...auth('viewer'), 'x-forwarded-for': '203.0.113.9' },
      });
      expect(spoofed.statusCode).toBe(429);
    } finally {
      await limited.close();
    }
  });

  it('behind a trusted proxy, rate-limits each forwarded client on its own', async () => {
    const proxied = await startHarness('api-rate-proxy', {
      rateLimitPerMinute: 2,
      trustProxy: ['127.0.0.1'],
    });
    try {
      const get = async (client: string, remoteAddress = '127.0.0.1') =>
        (
          await proxied.app.inject({
            method: 'GET',
            url: '/api/v1/tasks',
            remoteAddress,
            headers: { ...auth('viewer'), 'x-forwarded-for': client },
          })
        ).statusCode;
      const first = [await get('203.0.113.1'), await get('203.0.113.1'), await get('203.0.113.1')];
      expect(first).toEqual([200, 200, 429]);
      expect(await get('203.0.113.2')).toBe(200);
      // A peer that is not the trusted proxy is its own client, whatever it forwards.
      expect([await get('203.0.113.3', '198.51.100.7'), await get('203.0.113.4', '198.51.100.7')]).toEqual([
        200, 200,
      ]);
      expect(await get('203.0.113.5', '198.51.100.7')).toBe(429);
    } finally {
      await proxied.close();
    }
  });
});
