import { afterEach, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { buildWorker } from './app.js';
import { fnv1a32 } from './jobs.js';

const apps: Array<ReturnType<typeof buildWorker>> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function worker(options: Partial<Parameters<typeof buildWorker>[0]> = {}): ReturnType<typeof buildWorker> {
  const app = buildWorker({ timeBudgetMs: 2_000, rememberKeys: 100, rememberKeysMs: 60_000, ...options });
  apps.push(app);
  return app;
}

/** The headers nono's scheduler sends (services/scheduler/src/invoker.ts). */
function nonoHeaders(executionId: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    'idempotency-key': executionId,
    'nono-execution-id': executionId,
    'nono-task-id': 'demo',
    'nono-attempt': '1',
    'nono-fencing-token': '100',
    'nono-nominal-time': '2026-11-22T12:00:00.000Z',
    ...overrides,
  };
}

describe('example worker', () => {
  it('runs /jobs/ok once per Idempotency-Key and replays the answer to a duplicate', async () => {
    const app = worker();
    const first = await app.inject({
      method: 'POST',
      url: '/jobs/ok',
      headers: nonoHeaders('e-1'),
      payload: '{}',
    });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ job: 'ok', executionId: 'e-1', applied: true });
    const again = await app.inject({
      method: 'POST',
      url: '/jobs/ok',
      headers: nonoHeaders('e-1'),
      payload: '{}',
    });
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    const state = (await app.inject({ url: '/state' })).json();
    expect(state.counts.ok).toEqual({ succeeded: 1, failed: 0, replayed: 1, refused: 0 });
  });

  it('accepts the empty JSON body nono sends with GET', async () => {
    const response = await worker().inject({ method: 'GET', url: '/jobs/ok', headers: nonoHeaders('e-get') });
    expect(response.statusCode).toBe(200);
  });

  it('does not let an older fencing token overwrite a newer result', async () => {
    const app = worker();
    await app.inject({
      method: 'POST',
      url: '/jobs/ok',
      headers: nonoHeaders('new', { 'nono-fencing-token': '200' }),
    });
    const stale = await app.inject({
      method: 'POST',
      url: '/jobs/ok',
      headers: nonoHeaders('old', { 'nono-fencing-token': '150' }),
    });
    expect(stale.statusCode).toBe(200);
    expect(stale.json().applied).toBe(false);
    const state = (await app.inject({ url: '/state' })).json();
    expect(state.lastRuns.demo).toMatchObject({ fencingToken: 200, value: { executionId: 'new' } });
  });

  it('fails /jobs/flaky for about one execution in three, and runs a retry again', async () => {
    const failing = Array.from({ length: 300 }, (_, i) => `e-${i}`).filter(
      (id) => fnv1a32(`${id}:1`) % 3 === 0,
    );
    expect(failing.length).toBeGreaterThan(70);
    expect(failing.length).toBeLessThan(130);
    const app = worker();
    const id = failing[0] ?? '';
    const first = await app.inject({ method: 'POST', url: '/jobs/flaky', headers: nonoHeaders(id) });
    expect(first.statusCode).toBe(500);
    // The failure is not remembered: the retry (same key, next attempt) runs the job again.
    const attempt = [2, 3, 4, 5].find((n) => fnv1a32(`${id}:${n}`) % 3 !== 0) ?? 2;
    const retry = await app.inject({
      method: 'POST',
      url: '/jobs/flaky',
      headers: nonoHeaders(id, { 'nono-attempt': String(attempt) }),
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
  });

  it('stops /jobs/slow when the time budget runs out, and refuses a concurrent duplicate', async () => {
    const app = worker();
    const slow = app.inject({
      method: 'POST',
      url: '/jobs/slow?ms=5000',
      headers: nonoHeaders('s-1', { 'x-time-budget-ms': '300' }),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const duplicate = await app.inject({
      method: 'POST',
      url: '/jobs/slow?ms=5000',
      headers: nonoHeaders('s-1'),
    });
    expect(duplicate.statusCode).toBe(409);
    const response = await slow;
    expect(response.statusCode).toBe(503);
    expect(response.json().error).toContain('time budget of 300 ms');
  });

  it('never works longer than its own budget, whatever the caller asks', async () => {
    const app = worker({ timeBudgetMs: 200 });
    const response = await app.inject({
      method: 'POST',
      url: '/jobs/slow?ms=5000',
      headers: nonoHeaders('s-2', { 'x-time-budget-ms': '60000' }),
    });
    expect(response.statusCode).toBe(503);
  });

  it.each([
    [{ 'nono-fencing-token': 'abc' }, /Nono-Fencing-Token must be an integer/],
    [{ 'nono-attempt': '0' }, /Nono-Attempt must be a positive integer/],
    [{ 'x-time-budget-ms': '-1' }, /X-Time-Budget-Ms must be a positive number/],
  ])('answers 400 to bad headers %j', async (headers, message) => {
    const response = await worker().inject({
      method: 'POST',
      url: '/jobs/ok',
      headers: nonoHeaders('b', headers),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatch(message);
  });

  it('answers 404 for an unknown job', async () => {
    const response = await worker().inject({ method: 'POST', url: '/jobs/nope' });
    expect(response.statusCode).toBe(404);
  });
});

describe('Standard Webhooks verification', () => {
  const oldSecret = Buffer.alloc(32, 1);
  const newSecret = Buffer.alloc(32, 2);
  const NOW = Date.parse('2026-11-22T12:00:00Z');
  /** Signs as the specification says, independently of the scheduler's code. */
  const sign = (secret: Buffer, id: string, timestamp: number, body: string): string =>
    `v1,${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
  const call = (
    app: ReturnType<typeof buildWorker>,
    {
      body = '{"executionId":"e-sig"}',
      timestamp = NOW / 1000,
      signature,
    }: {
      body?: string;
      timestamp?: number;
      signature?: string;
    },
  ) =>
    app.inject({
      method: 'POST',
      url: '/jobs/ok',
      headers: {
        ...nonoHeaders(`e-sig-${timestamp}-${body.length}`),
        'webhook-id': 'e-sig:1',
        'webhook-timestamp': String(timestamp),
        ...(signature === undefined ? {} : { 'webhook-signature': signature }),
      },
      payload: body,
    });
  const signed = worker.bind(undefined, { webhookSecrets: [newSecret], now: () => NOW });

  it('runs a call signed with its secret', async () => {
    const body = '{"executionId":"e-sig"}';
    const response = await call(signed(), { body, signature: sign(newSecret, 'e-sig:1', NOW / 1000, body) });
    expect(response.statusCode).toBe(200);
  });

  it('accepts either signature while nono rotates secrets', async () => {
    const body = '{"rotating":true}';
    const both = `${sign(oldSecret, 'e-sig:1', NOW / 1000, body)} ${sign(newSecret, 'e-sig:1', NOW / 1000, body)}`;
    expect((await call(signed(), { body, signature: both })).statusCode).toBe(200);
  });

  it.each([
    ['unsigned', {}],
    [
      'tampered body',
      { body: '{"executionId":"e-evil"}', signature: sign(newSecret, 'e-sig:1', NOW / 1000, '{}') },
    ],
    ['another secret', { signature: sign(oldSecret, 'e-sig:1', NOW / 1000, '{"executionId":"e-sig"}') }],
    [
      'replayed six minutes later',
      {
        timestamp: NOW / 1000 - 360,
        signature: sign(newSecret, 'e-sig:1', NOW / 1000 - 360, '{"executionId":"e-sig"}'),
      },
    ],
    [
      'dated six minutes ahead',
      {
        timestamp: NOW / 1000 + 360,
        signature: sign(newSecret, 'e-sig:1', NOW / 1000 + 360, '{"executionId":"e-sig"}'),
      },
    ],
  ])('refuses a call %s with 401, before any work', async (_what, input) => {
    const app = signed();
    const response = await call(app, input);
    expect(response.statusCode).toBe(401);
    const state = (await app.inject({ method: 'GET', url: '/state' })).json<{
      counts: Record<string, unknown>;
    }>();
    expect(state.counts).toEqual({});
  });
});
