import { type IncomingMessage, type Server, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signWebhook, webhookIdFor } from '@nono/domain';
import { afterEach, describe, expect, it } from 'vitest';
import { openWorkerDatabase, SqliteFencingStore, SqliteIdempotencyStore } from './sqlite-stores.js';
import { MemoryIdempotencyStore } from './stores.js';
import { JobError, type JobContext, NonoWorker, type WorkerOptions } from './index.js';

/**
 * The SDK on real HTTP (127.0.0.1, a port of the kernel's choosing), called the way the
 * scheduler calls: its headers, and its Standard Webhooks signature from the same `signWebhook`.
 */
const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const KEY = Buffer.alloc(32, 9);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

const workers: NonoWorker[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.drain()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function start(options: WorkerOptions, jobs: Record<string, (ctx: JobContext) => unknown>) {
  const worker = new NonoWorker({ log: quiet, ...options });
  for (const [path, job] of Object.entries(jobs)) worker.job(path, job);
  workers.push(worker);
  return { worker, url: await worker.listen(0) };
}

interface Call {
  readonly taskId?: string;
  readonly executionId?: string;
  readonly attempt?: number;
  readonly token?: number;
  readonly deadline?: Date;
  readonly body?: string;
  readonly sign?: 'yes' | 'no' | 'tampered';
  readonly signal?: AbortSignal;
  /** `Nono-Shard` and `Nono-Instant-Id`, as a shard call has them. */
  readonly shard?: string;
  readonly instantId?: string;
}

/** A call as the scheduler makes it (invoker.ts): the same headers, signed the same way. */
async function call(url: string, call: Call = {}) {
  const executionId = call.executionId ?? 'e-1';
  const attempt = call.attempt ?? 1;
  const body = call.body ?? JSON.stringify({ taskId: call.taskId ?? 't', executionId, attempt });
  const signed =
    call.sign === 'no'
      ? {}
      : signWebhook(
          [KEY],
          webhookIdFor(executionId, attempt),
          Math.floor(Date.now() / 1000),
          call.sign === 'tampered' ? `${body} ` : body,
        );
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      ...signed,
      'content-type': 'application/json',
      'idempotency-key': executionId,
      'nono-execution-id': executionId,
      'nono-task-id': call.taskId ?? 't',
      'nono-attempt': String(attempt),
      'nono-fencing-token': String(call.token ?? 100),
      'nono-nominal-time': '2026-06-01T03:00:00.000Z',
      'nono-deadline': (call.deadline ?? new Date(Date.now() + 5_000)).toISOString(),
      ...(call.shard === undefined ? {} : { 'nono-shard': call.shard }),
      ...(call.instantId === undefined ? {} : { 'nono-instant-id': call.instantId }),
    },
    body,
    ...(call.signal === undefined ? {} : { signal: call.signal }),
  });
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed'),
    body: await response.json(),
  };
}

describe('NonoWorker', () => {
  it('runs a signed call with its context and answers the result; refuses an unsigned or tampered one before any work', async () => {
    const seen: JobContext[] = [];
    const { url } = await start(
      { webhookSecrets: [SECRET] },
      { '/jobs/report': (ctx) => (seen.push(ctx), { rows: 3 }) },
    );
    const deadline = new Date(Date.now() + 4_000);
    const done = await call(`${url}/jobs/report`, {
      taskId: 'nightly',
      executionId: 'e-7',
      attempt: 2,
      token: 42,
      deadline,
    });
    expect(done).toEqual({ status: 200, replayed: null, body: { rows: 3 } });
    expect(seen[0]).toMatchObject({
      taskId: 'nightly',
      executionId: 'e-7',
      idempotencyKey: 'e-7',
      attempt: 2,
      fencingToken: 42,
      nominalTime: '2026-06-01T03:00:00.000Z',
      deadline,
      body: { taskId: 'nightly', executionId: 'e-7', attempt: 2 },
    });
    expect((await call(`${url}/jobs/report`, { executionId: 'e-8', sign: 'no' })).status).toBe(401);
    expect((await call(`${url}/jobs/report`, { executionId: 'e-9', sign: 'tampered' })).status).toBe(401);
    expect(seen).toHaveLength(1);
    expect((await fetch(`${url}/jobs/none`, { method: 'POST' })).status).toBe(404);
  });

  it("gives a shard's job its index, count, instant and parameters; fences each shard on its own", async () => {
    const seen: JobContext[] = [];
    const { url } = await start({}, { '/jobs/part': (ctx) => (seen.push(ctx), 'ok') });
    const shardCall = (index: number, token: number, instant = 'e-1') =>
      call(`${url}/jobs/part`, {
        executionId: `${instant}.shard-${index}`,
        token,
        shard: `${index}/10`,
        instantId: instant,
        body: JSON.stringify({ parameters: { region: `r${index}` }, shard: { index, count: 10 } }),
      });
    expect((await shardCall(3, 100)).status).toBe(200);
    expect(seen[0]).toMatchObject({
      executionId: 'e-1.shard-3',
      instantId: 'e-1',
      shard: { index: 3, count: 10 },
      parameters: { region: 'r3' },
    });
    // Shard 7 re-run under a newer token after its scheduler died; shard 4 still carries the claim's.
    expect((await shardCall(7, 200)).status).toBe(200);
    expect((await shardCall(4, 100)).status).toBe(200);
    // An older instant's shard 7, older than what shard 7 admitted: stale.
    expect((await shardCall(7, 150, 'e-0')).status).toBe(409);
    const bad = await fetch(`${url}/jobs/part`, { method: 'POST', headers: { 'nono-shard': '10/10' } });
    expect(bad.status).toBe(400);
  });

  it('refuses a malformed nono header, naming it', async () => {
    const { url } = await start({}, { '/jobs/x': () => 'x' });
    const response = await fetch(`${url}/jobs/x`, { method: 'POST', headers: { 'nono-attempt': 'zero' } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'Nono-Attempt must be a positive integer (got "zero")' });
  });

  it('does an execution once per Idempotency-Key: a repeat gets the first answer, a failure runs again, a concurrent duplicate gets 409', async () => {
    let runs = 0;
    let fail = true;
    let release: () => void = () => undefined;
    const { url } = await start(
      {},
      {
        '/jobs/once': () => ({ run: (runs += 1) }),
        '/jobs/flaky': () => {
          if (fail) throw new JobError(502, 'upstream down');
          return 'ok';
        },
        '/jobs/held': () => new Promise((resolve) => (release = () => resolve('released'))),
      },
    );
    expect(await call(`${url}/jobs/once`, { executionId: 'k1' })).toMatchObject({
      status: 200,
      body: { run: 1 },
    });
    expect(await call(`${url}/jobs/once`, { executionId: 'k1', attempt: 2 })).toEqual({
      status: 200,
      replayed: 'true',
      body: { run: 1 },
    });
    expect(runs).toBe(1);
    expect(await call(`${url}/jobs/flaky`, { executionId: 'k2' })).toEqual({
      status: 502,
      replayed: null,
      body: { error: 'upstream down' },
    });
    fail = false;
    expect(await call(`${url}/jobs/flaky`, { executionId: 'k2', attempt: 2 })).toMatchObject({
      status: 200,
      body: 'ok',
    });
    const first = call(`${url}/jobs/held`, { executionId: 'k3' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await call(`${url}/jobs/held`, { executionId: 'k3' })).status).toBe(409);
    release();
    expect((await first).status).toBe(200);
  });

  it('refuses a fencing token older than one already admitted for the task; a retry (same token) and other tasks pass', async () => {
    const { url } = await start({}, { '/jobs/x': (ctx) => ctx.fencingToken });
    expect((await call(`${url}/jobs/x`, { executionId: 'a', token: 10 })).status).toBe(200);
    expect((await call(`${url}/jobs/x`, { executionId: 'b', token: 12 })).status).toBe(200);
    const stale = await call(`${url}/jobs/x`, { executionId: 'c', token: 11 });
    expect(stale).toEqual({
      status: 409,
      replayed: null,
      body: { error: 'stale fencing token 11: this worker already admitted 12 for task t' },
    });
    expect((await call(`${url}/jobs/x`, { executionId: 'b2', token: 12 })).status).toBe(200);
    expect((await call(`${url}/jobs/x`, { executionId: 'd', token: 1, taskId: 'other' })).status).toBe(200);
    // A stale call released its key: the same execution is not "running" afterwards.
    const off = await start({ fencing: false }, { '/jobs/x': () => 'ok' });
    expect((await call(`${off.url}/jobs/x`, { executionId: 'a', token: 10 })).status).toBe(200);
    expect((await call(`${off.url}/jobs/x`, { executionId: 'b', token: 9 })).status).toBe(200);
  });

  it('gives the job the deadline as an AbortSignal, capped by maxJobMs, and answers 503 when it passes', async () => {
    let reason: unknown;
    const { url } = await start(
      { maxJobMs: 300 },
      {
        '/jobs/slow': (ctx) =>
          new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => {
              reason = ctx.deadline;
              reject(new Error('stopped'));
            }),
          ),
      },
    );
    const before = Date.now();
    const answer = await call(`${url}/jobs/slow`, { deadline: new Date(Date.now() + 60_000) });
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ error: expect.stringContaining('the deadline passed') });
    expect(Date.now() - before).toBeGreaterThanOrEqual(280);
    expect((reason as Date).getTime() - before).toBeLessThan(1_000);
  });

  it('aborts the job when nono hangs up', async () => {
    let aborted = false;
    const { url } = await start(
      {},
      {
        '/jobs/slow': (ctx) =>
          new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve((aborted = true)))),
      },
    );
    const hangUp = new AbortController();
    const pending = call(`${url}/jobs/slow`, { signal: hangUp.signal }).catch(() => 'hung up');
    await new Promise((resolve) => setTimeout(resolve, 100));
    hangUp.abort();
    expect(await pending).toBe('hung up');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(aborted).toBe(true);
  });

  it('drains: not ready, new calls 503, running jobs finish; past the drain deadline their signals abort', async () => {
    let finish: () => void = () => undefined;
    const { worker, url } = await start(
      { drainTimeoutMs: 500 },
      {
        '/jobs/held': () => new Promise((resolve) => (finish = () => resolve('finished'))),
        '/jobs/stubborn': (ctx) =>
          new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('cut')))),
      },
    );
    const held = call(`${url}/jobs/held`, { executionId: 'h' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const drained = worker.drain();
    expect(worker.state).toBe('draining');
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect((await call(`${url}/jobs/held`, { executionId: 'late' })).status).toBe(503);
    finish();
    expect(await held).toMatchObject({ status: 200, body: 'finished' });
    await drained;
    expect(worker.state).toBe('stopped');

    const second = await start(
      { drainTimeoutMs: 300 },
      {
        '/jobs/stubborn': (ctx) =>
          new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('cut')))),
      },
    );
    const stubborn = call(`${second.url}/jobs/stubborn`, { executionId: 's' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await second.worker.drain();
    expect(await stubborn).toEqual({
      status: 503,
      replayed: null,
      body: { error: 'this worker is draining and ran out of time' },
    });
  });

  it('joins a group at listen, renews the lease, and leaves first when it drains', async () => {
    const requests: Array<{ method: string; url: string; body: string; auth: string | undefined }> = [];
    const api = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        requests.push({
          method: request.method ?? '',
          url: request.url ?? '',
          body,
          auth: request.headers.authorization,
        });
        const status = request.method === 'DELETE' ? 204 : requests.length === 1 ? 201 : 200;
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(
          status === 204
            ? ''
            : JSON.stringify({ leaseMs: 600, expiresAt: new Date(Date.now() + 600).toISOString() }),
        );
      });
    });
    servers.push(api);
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    const { worker } = await start(
      {
        group: {
          apiUrl,
          token: 'op-token',
          group: 'renderers',
          memberId: 'w-1',
          url: 'http://127.0.0.1:7777',
        },
      },
      { '/jobs/x': () => 'x' },
    );
    await new Promise((resolve) => setTimeout(resolve, 700));
    await worker.drain();
    const member = '/api/v1/worker-groups/renderers/members/w-1';
    expect(requests[0]).toEqual({
      method: 'PUT',
      url: member,
      body: '{"url":"http://127.0.0.1:7777"}',
      auth: 'Bearer op-token',
    });
    // A third of the 600 ms lease: two or three heartbeats in 700 ms.
    expect(requests.filter((r) => r.method === 'PUT').length).toBeGreaterThanOrEqual(3);
    expect(requests.at(-1)).toMatchObject({ method: 'DELETE', url: member });
  });

  it('refuses a malformed secret, naming the option and not the secret', () => {
    expect(() => new NonoWorker({ webhookSecrets: ['whsec_c2hvcnQ='] })).toThrow(
      /^webhookSecrets\[0\] is not a Standard Webhooks secret/,
    );
  });
});

describe('the stores', () => {
  it('a claimed key that ran past its claim can be claimed again (its process died mid-job)', () => {
    const store = new MemoryIdempotencyStore();
    expect(store.claim('k', 1_000, 0)).toEqual({ kind: 'new' });
    expect(store.claim('k', 2_000, 500)).toEqual({ kind: 'running' });
    expect(store.claim('k', 3_000, 1_500)).toEqual({ kind: 'new' });
    store.complete('k', { status: 200, body: '"done"' }, 1_600);
    expect(store.claim('k', 4_000, 1_700)).toEqual({
      kind: 'completed',
      call: { status: 200, body: '"done"' },
    });
  });

  it('SQLite: two processes sharing a file see one another’s keys and tokens', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nono-worker-sdk-')), 'worker.sqlite');
    const [a, b] = [openWorkerDatabase(file), openWorkerDatabase(file)];
    try {
      const [keysA, keysB] = [new SqliteIdempotencyStore(a), new SqliteIdempotencyStore(b)];
      expect(keysA.claim('k', 1_000, 0)).toEqual({ kind: 'new' });
      expect(keysB.claim('k', 1_000, 10)).toEqual({ kind: 'running' });
      keysA.complete('k', { status: 200, body: '{"ok":true}' }, 20);
      expect(keysB.claim('k', 1_000, 30)).toEqual({
        kind: 'completed',
        call: { status: 200, body: '{"ok":true}' },
      });
      expect(keysA.claim('f', 1_000, 0)).toEqual({ kind: 'new' });
      keysA.release('f');
      expect(keysB.claim('f', 1_000, 10)).toEqual({ kind: 'new' });
      // Past its claim, a running key is free again; an hour after completion, a key is forgotten.
      expect(keysA.claim('f', 3_000, 1_001)).toEqual({ kind: 'new' });
      expect(keysB.claim('k', 3_600_100, 3_600_030)).toEqual({ kind: 'new' });
      const [tokensA, tokensB] = [new SqliteFencingStore(a), new SqliteFencingStore(b)];
      expect(tokensA.admit('t', 10)).toEqual({ admitted: true });
      expect(tokensB.admit('t', 9)).toEqual({ admitted: false, newest: 10 });
      expect(tokensB.admit('t', 10)).toEqual({ admitted: true });
      expect(tokensB.admit('u', 1)).toEqual({ admitted: true });
    } finally {
      a.close();
      b.close();
    }
  });
});
