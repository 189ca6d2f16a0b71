import { createHmac } from 'node:crypto';
import { type NonoWorker } from '@nono/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { type ExampleWorkerOptions, buildWorker } from './app.js';
import { fnv1a32 } from './jobs.js';

/** The example worker on real HTTP (127.0.0.1, any free port), called with nono's headers. */
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const running: NonoWorker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((worker) => worker.drain()));
});

async function start(options: Partial<ExampleWorkerOptions> = {}): Promise<string> {
  const worker = buildWorker({ maxJobMs: 2_000, log: quiet, ...options });
  running.push(worker);
  return worker.listen(0);
}

/** The headers nono's scheduler sends (services/scheduler/src/runner/invoker.ts). */
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

async function post(url: string, headers: Record<string, string>, body = '{}', method = 'POST') {
  const response = await fetch(url, { method, headers, ...(method === 'GET' ? {} : { body }) });
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

const state = async (url: string) =>
  (await (await fetch(`${url}/state`)).json()) as {
    counts: Record<string, { succeeded: number; failed: number; replayed: number; refused: number }>;
    lastRuns: Record<string, { value: { executionId: string }; fencingToken: number }>;
  };

describe('example worker', () => {
  it('runs /jobs/ok once per Idempotency-Key and replays the answer to a duplicate', async () => {
    const url = await start();
    const first = await post(`${url}/jobs/ok`, nonoHeaders('e-1'));
    expect(first).toMatchObject({ status: 200, body: { job: 'ok', executionId: 'e-1', applied: true } });
    const again = await post(`${url}/jobs/ok`, nonoHeaders('e-1', { 'nono-attempt': '2' }));
    expect(again).toMatchObject({ status: 200, replayed: 'true', body: { attempt: 1 } });
    expect((await state(url)).counts['ok']).toEqual({ succeeded: 1, failed: 0, replayed: 1, refused: 0 });
  });

  it('accepts the empty body nono sends with GET', async () => {
    const url = await start();
    expect((await post(`${url}/jobs/ok`, nonoHeaders('e-get'), '', 'GET')).status).toBe(200);
  });

  it('refuses an older fencing token than the newest it saw for the task, keeping the newer result', async () => {
    const url = await start();
    await post(`${url}/jobs/ok`, nonoHeaders('e-new', { 'nono-fencing-token': '200' }));
    const stale = await post(`${url}/jobs/ok`, nonoHeaders('e-old', { 'nono-fencing-token': '150' }));
    expect(stale.status).toBe(409);
    const after = await state(url);
    expect(after.lastRuns['demo']).toMatchObject({ value: { executionId: 'e-new' }, fencingToken: 200 });
    expect(after.counts['ok']?.refused).toBe(1);
  });

  it('fails /jobs/flaky for about one execution in three, and runs a retry again', async () => {
    const url = await start();
    // The choice is a hash of execution id and attempt: find one whose first attempt fails.
    const id = Array.from({ length: 50 }, (_, i) => `e-flaky-${i}`).find(
      (candidate) => fnv1a32(`${candidate}:1`) % 3 === 0 && fnv1a32(`${candidate}:2`) % 3 !== 0,
    );
    if (id === undefined) throw new Error('no suitable id');
    expect((await post(`${url}/jobs/flaky`, nonoHeaders(id))).status).toBe(500);
    const retry = await post(`${url}/jobs/flaky`, nonoHeaders(id, { 'nono-attempt': '2' }));
    expect(retry).toMatchObject({ status: 200, replayed: null, body: { attempt: 2 } });
  });

  it('stops /jobs/slow at the deadline nono sends, and refuses a concurrent duplicate', async () => {
    const url = await start();
    const deadline = new Date(Date.now() + 300).toISOString();
    const slow = post(`${url}/jobs/slow?ms=5000`, nonoHeaders('e-slow', { 'nono-deadline': deadline }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await post(`${url}/jobs/slow?ms=5000`, nonoHeaders('e-slow'))).status).toBe(409);
    expect(await slow).toMatchObject({ status: 503, body: { error: expect.stringContaining('deadline') } });
  });

  it('never works longer than its own limit, whatever deadline the call carries', async () => {
    const url = await start({ maxJobMs: 200 });
    const far = new Date(Date.now() + 60_000).toISOString();
    const before = Date.now();
    const response = await post(`${url}/jobs/slow?ms=5000`, nonoHeaders('e-cap', { 'nono-deadline': far }));
    expect(response.status).toBe(503);
    expect(Date.now() - before).toBeLessThan(2_000);
  });

  it('stops sooner when the task asks for a shorter time budget (X-Time-Budget-Ms)', async () => {
    const url = await start();
    const response = await post(
      `${url}/jobs/slow?ms=5000`,
      nonoHeaders('e-budget', { 'x-time-budget-ms': '150' }),
    );
    expect(response).toMatchObject({ status: 503, body: { error: 'the time budget of 150 ms ran out' } });
  });

  it('answers 404 for an unknown job', async () => {
    const url = await start();
    expect((await post(`${url}/jobs/nope`, {})).status).toBe(404);
  });
});

describe('Standard Webhooks verification', () => {
  const oldSecret = Buffer.alloc(32, 1);
  const newSecret = Buffer.alloc(32, 2);
  const whsec = (secret: Buffer): string => `whsec_${secret.toString('base64')}`;
  const now = (): number => Date.parse('2026-11-22T12:00:00Z');
  const NOW_S = now() / 1000;
  /** Signs as the specification says, independently of the scheduler's code. */
  const sign = (secret: Buffer, timestamp: number, body: string): string =>
    `v1,${createHmac('sha256', secret).update(`e-sig:1.${timestamp}.${body}`).digest('base64')}`;
  const call = (url: string, { body = '{"executionId":"e-sig"}', timestamp = NOW_S, signature = '' }) =>
    post(
      `${url}/jobs/ok`,
      {
        ...nonoHeaders(`e-sig-${timestamp}-${body.length}-${signature.length}`),
        'webhook-id': 'e-sig:1',
        'webhook-timestamp': String(timestamp),
        ...(signature === '' ? {} : { 'webhook-signature': signature }),
      },
      body,
    );
  const signed = () => start({ webhookSecrets: [whsec(newSecret)], now });

  it('runs a call signed with its secret', async () => {
    const body = '{"executionId":"e-sig"}';
    expect((await call(await signed(), { body, signature: sign(newSecret, NOW_S, body) })).status).toBe(200);
  });

  it('accepts either signature while nono rotates secrets', async () => {
    const body = '{"rotating":true}';
    const both = `${sign(oldSecret, NOW_S, body)} ${sign(newSecret, NOW_S, body)}`;
    expect((await call(await signed(), { body, signature: both })).status).toBe(200);
  });

  it.each([
    ['unsigned', {}],
    ['with a tampered body', { body: '{"executionId":"e-evil"}', signature: sign(newSecret, NOW_S, '{}') }],
    ['signed with another secret', { signature: sign(oldSecret, NOW_S, '{"executionId":"e-sig"}') }],
    [
      'replayed six minutes later',
      { timestamp: NOW_S - 360, signature: sign(newSecret, NOW_S - 360, '{"executionId":"e-sig"}') },
    ],
    [
      'dated six minutes ahead',
      { timestamp: NOW_S + 360, signature: sign(newSecret, NOW_S + 360, '{"executionId":"e-sig"}') },
    ],
  ])('refuses a call %s with 401, before any work', async (_what, input) => {
    const url = await signed();
    expect((await call(url, input)).status).toBe(401);
    expect((await state(url)).counts).toEqual({});
  });
});
