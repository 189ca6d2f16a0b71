import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, auth, startHarness } from './testing/harness.js';

/** History views are forwarded 1:1 to the history service (a fake HTTP server here). */
describe('history proxy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-history');
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    ['/api/v1/executions?taskId=a&limit=5', '/executions?taskId=a&limit=5'],
    [
      '/api/v1/executions/0b3a8e40-bd6b-513d-8cba-d7210136d543',
      '/executions/0b3a8e40-bd6b-513d-8cba-d7210136d543',
    ],
    ['/api/v1/tasks/nightly/executions?status=failed', '/tasks/nightly/executions?status=failed'],
    [
      '/api/v1/reports/tasks/nightly?from=2026-01-01T00:00:00Z',
      '/reports/tasks/nightly?from=2026-01-01T00:00:00Z',
    ],
    ['/api/v1/reports/daily?day=2026-01-01', '/reports/daily?day=2026-01-01'],
    ['/api/v1/audit?taskId=nightly', '/audit?taskId=nightly'],
    ['/api/v1/schedulers/history', '/schedulers/history'],
    [
      '/api/v1/tasks/nightly/ledger?to=2026-01-02T00:00:00Z&from=2026-01-01T00:00:00%2B01:00',
      // Only from and to can be there (the schema is closed): passed on as written.
      '/tasks/nightly/ledger?to=2026-01-02T00:00:00Z&from=2026-01-01T00:00:00%2B01:00',
    ],
  ])('forwards %s', async (url, upstream) => {
    h.history.respond = () => ({ status: 200, body: { forwarded: true } });
    const response = await h.app.inject({ method: 'GET', url, headers: auth('viewer') });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ forwarded: true });
    expect(h.history.requests.at(-1)).toBe(upstream);
  });

  it('passes 4xx answers through and needs a token', async () => {
    h.history.respond = () => ({ status: 404, body: { code: 'NONO_EXECUTION_NOT_FOUND' } });
    const response = await h.app.inject({
      method: 'GET',
      url: '/api/v1/executions/nope',
      headers: auth('viewer'),
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ code: 'NONO_EXECUTION_NOT_FOUND' });
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/executions' })).statusCode).toBe(401);
  });

  it.each([
    [
      'a window bound that is not an instant',
      '/api/v1/tasks/nightly/ledger?from=yesterday&to=2026-01-02T00:00:00Z',
      'from',
    ],
    ['a missing bound', '/api/v1/tasks/nightly/ledger?from=2026-01-01T00:00:00Z', 'to'],
    [
      'an extra parameter',
      '/api/v1/tasks/nightly/ledger?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&x=1',
      'x',
    ],
    [
      'a task id outside the id alphabet',
      '/api/v1/tasks/NIGHTLY%2F..%2Fadmin/ledger?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z',
      'id',
    ],
  ])('answers 400 naming the field for %s, without asking history', async (_what, url, field) => {
    const before = h.history.requests.length;
    const response = await h.app.inject({ method: 'GET', url, headers: auth('viewer') });
    expect(response.statusCode).toBe(400);
    expect(JSON.stringify(response.json())).toContain(field);
    expect(h.history.requests.length).toBe(before);
  });

  it('refuses path tricks instead of forwarding them', async () => {
    const before = h.history.requests.length;
    const response = await h.app.inject({
      method: 'GET',
      url: '/api/v1/reports/..%2F..%2Fadmin',
      headers: auth('viewer'),
    });
    expect(response.statusCode).toBe(404);
    expect(h.history.requests.length).toBe(before);
  });

  it('answers 502 problem+json when history fails or is unreachable', async () => {
    h.history.respond = () => ({ status: 500, body: { secret: 'stack trace' } });
    const failed = await h.app.inject({ method: 'GET', url: '/api/v1/executions', headers: auth('viewer') });
    expect(failed.statusCode).toBe(502);
    expect(failed.body).not.toContain('stack trace');
    expect(failed.json()).toMatchObject({ code: 'NONO_HISTORY_UNAVAILABLE' });

    await h.history.close();
    const unreachable = await h.app.inject({ method: 'GET', url: '/api/v1/audit', headers: auth('viewer') });
    expect(unreachable.statusCode).toBe(502);
    expect(unreachable.headers['content-type']).toContain('application/problem+json');
    expect(unreachable.json()).toMatchObject({ code: 'NONO_HISTORY_UNAVAILABLE' });
  });
});
