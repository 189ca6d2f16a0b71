import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { type AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZkClient, isZkError } from '@nono/coordination';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Isolation, createIsolatedTopics, isolate } from '../../../tests/support/fixtures.js';
import { type RunningProcess, freePort, startProcess } from '../../../tests/support/processes.js';
import { type Harness, auth, sampleTask, startHarness } from './testing/harness.js';

/**
 * The holes an outside review found (issue 14), each tried again on real servers: the real
 * history service behind the proxy, the real ZooKeeper and Kafka of the run.
 */
const HISTORY_READ_TOKEN = 'history-read-secret-token';
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

async function startRealHistory(iso: Isolation): Promise<{ url: string; proc: RunningProcess }> {
  const port = await freePort();
  const proc = startProcess('history-security', 'services/history/dist/main.js', {
    NONO_KAFKA_BROKERS: iso.kafkaBrokers.join(','),
    NONO_TOPIC_PREFIX: iso.topicPrefix,
    NONO_HISTORY_DB: join(mkdtempSync(join(tmpdir(), 'nono-history-security-')), 'history.sqlite'),
    NONO_HISTORY_PORT: String(port),
    NONO_HISTORY_GROUP_ID: `${iso.topicPrefix}history`,
    NONO_HISTORY_READ_TOKENS: sha256(HISTORY_READ_TOKEN),
    NONO_LOG_LEVEL: 'info',
  });
  await proc.waitForLine(/history listening on/);
  return { url: `http://127.0.0.1:${port}`, proc };
}

/**
 * A GET over a real socket with the path exactly as written: fetch() and app.inject() both
 * resolve `%2e%2e` segments before sending, which would hide what a raw client can do.
 */
function rawGet(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: '127.0.0.1', port, path, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }),
      );
    });
    sent.on('error', reject);
    sent.end();
  });
}

describe('history behind the proxy (real history service)', () => {
  let h: Harness;
  let apiPort: number;
  let history: { url: string; proc: RunningProcess };
  beforeAll(async () => {
    const iso = await isolate('api-security-history');
    await createIsolatedTopics(iso, 1);
    history = await startRealHistory(iso);
    h = await startHarness('api-security-history', {
      iso,
      historyUrl: history.url,
      historyReadToken: HISTORY_READ_TOKEN,
    });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    apiPort = (h.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await h?.close();
    await history?.proc.kill();
  });

  it.each([
    '/api/v1/reports/%2e%2e/metrics',
    '/api/v1/reports/%2E%2E/metrics',
    '/api/v1/reports/.%2e/metrics',
    '/api/v1/reports/%2e%2e/admin/rebuild',
    '/api/v1/reports/%2e%2e/%2e%2e/metrics',
    '/api/v1/tasks/%2e%2e/executions',
    '/api/v1/executions/%2e%2e',
    '/api/v1/reports/tasks/%2e%2e',
  ])('never forwards %s anywhere but the route it names', async (url) => {
    const response = await rawGet(apiPort, url, auth('viewer'));
    expect([400, 404]).toContain(response.status);
    expect(response.type).toContain('application/problem+json');
    expect(response.body).not.toContain('process_cpu');
    expect(response.body).not.toContain('"items"');
  });

  it('forwards the routes it knows, with its service token', async () => {
    for (const url of [
      '/api/v1/executions?limit=5',
      '/api/v1/tasks/nightly/executions',
      '/api/v1/reports/tasks/nightly',
      '/api/v1/reports/daily?day=2026-01-01',
      '/api/v1/audit',
      '/api/v1/schedulers/history',
    ]) {
      const response = await h.app.inject({ method: 'GET', url, headers: auth('viewer') });
      expect({ url, status: response.statusCode }).toEqual({ url, status: 200 });
    }
    const missing = await h.app.inject({
      method: 'GET',
      url: '/api/v1/executions/0b3a8e40-bd6b-513d-8cba-d7210136d543',
      headers: auth('viewer'),
    });
    expect(missing.statusCode).toBe(404);
  });

  it('history takes a task id at the limit (128) and refuses one past it, naming the id', async () => {
    const id = (length: number): string => `t${'x'.repeat(length - 2)}z`;
    for (const path of ['/tasks/ID/executions', '/reports/tasks/ID']) {
      const atLimit = await h.app.inject({
        method: 'GET',
        url: `/api/v1${path.replace('ID', id(128))}`,
        headers: auth('viewer'),
      });
      expect({ path, status: atLimit.statusCode }).toEqual({ path, status: 200 });
      const direct = await fetch(`${history.url}${path.replace('ID', id(128))}`, {
        headers: { authorization: `Bearer ${HISTORY_READ_TOKEN}` },
      });
      expect({ path, status: direct.status }).toEqual({ path, status: 200 });
      const past = await fetch(`${history.url}${path.replace('ID', id(129))}`, {
        headers: { authorization: `Bearer ${HISTORY_READ_TOKEN}` },
      });
      expect({ path, status: past.status }).toEqual({ path, status: 400 });
      expect(JSON.stringify(await past.json())).toContain('"field":"id"');
    }
  });

  it('history answers its query routes only to a token, and leaves its probes open', async () => {
    for (const path of ['/executions', '/audit', '/reports/daily?day=2026-01-01', '/schedulers/history']) {
      const anonymous = await fetch(`${history.url}${path}`);
      expect({ path, status: anonymous.status }).toEqual({ path, status: 401 });
      expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
      const wrong = await fetch(`${history.url}${path}`, { headers: { authorization: 'Bearer nope' } });
      expect({ path, status: wrong.status }).toEqual({ path, status: 401 });
      const allowed = await fetch(`${history.url}${path}`, {
        headers: { authorization: `Bearer ${HISTORY_READ_TOKEN}` },
      });
      expect({ path, status: allowed.status }).toEqual({ path, status: 200 });
    }
    for (const path of ['/healthz', '/readyz', '/openapi.json'])
      expect((await fetch(`${history.url}${path}`)).status).not.toBe(401);
    // A read token is not an admin token.
    const rebuild = await fetch(`${history.url}/admin/rebuild`, {
      method: 'POST',
      headers: { authorization: `Bearer ${HISTORY_READ_TOKEN}` },
    });
    expect(rebuild.status).toBe(401);
  });
});

describe('task definitions (real ZooKeeper)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-security-tasks', { historyUrl: 'http://127.0.0.1:7300' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const create = (body: Record<string, unknown>) =>
    h.app.inject({ method: 'POST', url: '/api/v1/tasks', headers: auth('admin'), payload: body });
  const issuesOf = (body: string): { field: string }[] =>
    (JSON.parse(body) as { errors?: { field: string }[] }).errors ?? [];

  // The ZooKeeper and Kafka these tests run against (2181 and 9092 unless infra was told otherwise).
  const portOf = (hostPorts: string): string =>
    (hostPorts.split('/')[0] ?? '').split(',')[0]?.split(':')[1] ?? '';
  const zkPort = portOf(inject('zkConnect'));
  const kafkaPort = portOf(inject('kafkaBrokers'));
  it.each([
    ['ZooKeeper', `http://127.0.0.1:${zkPort}/`],
    ['ZooKeeper by another loopback name', `http://localhost:${zkPort}/`],
    ['Kafka', `http://127.0.0.1:${kafkaPort}/`],
    ["history's admin", 'http://127.0.0.1:7300/admin/rebuild'],
    ['the API', 'http://127.0.0.1:7200/api'],
    ['the API on [::1]', 'http://[::1]:7200/api'],
  ])('refuses a target on the cluster’s own endpoint: %s', async (_what, url) => {
    const response = await create(
      sampleTask(`own-${Math.random().toString(16).slice(2, 8)}`, { target: { url } }),
    );
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'NONO_TARGET_NOT_ALLOWED' });
    expect(issuesOf(response.body).map((issue) => issue.field)).toContain('target.url');
  });

  it('still accepts a worker on an allowed host', async () => {
    const response = await create(
      sampleTask('allowed-worker', { target: { url: 'http://127.0.0.1:9999/hook' } }),
    );
    expect(response.statusCode).toBe(201);
  });

  it.each([
    'Idempotency-Key',
    'idempotency-key',
    'Nono-Fencing-Token',
    'nono-anything',
    'traceparent',
    'Host',
    'Content-Length',
    'Transfer-Encoding',
    'Connection',
    'webhook-id',
    'webhook-timestamp',
    'webhook-signature',
  ])('refuses the reserved header %s with 422 naming it', async (name) => {
    const id = `hdr-${name.toLowerCase()}`;
    const response = await create(
      sampleTask(id, { target: { url: 'http://127.0.0.1:9999/hook', headers: { [name]: '1' } } }),
    );
    expect(response.statusCode).toBe(422);
    expect(issuesOf(response.body).map((issue) => issue.field)).toContain(`target.headers.${name}`);
    expect((await h.zk.children(h.layout.tasks)).includes(id)).toBe(false);
  });

  it.each([
    ['CR LF', 'a\r\nX-Injected: 1'],
    ['LF', 'a\nb'],
    ['NUL', 'a\u0000b'],
    ['non-ASCII', 'café'],
    ['DEL', 'a\u007fb'],
  ])('refuses a header value with %s with 422 naming the header', async (what, value) => {
    const id = `val-${what.toLowerCase().replaceAll(' ', '-')}`;
    const response = await create(
      sampleTask(id, { target: { url: 'http://127.0.0.1:9999/hook', headers: { 'X-Token': value } } }),
    );
    expect(response.statusCode).toBe(422);
    expect(issuesOf(response.body).map((issue) => issue.field)).toContain('target.headers.X-Token');
  });

  it('also refuses a reserved header through PATCH', async () => {
    expect((await create(sampleTask('patch-hdr'))).statusCode).toBe(201);
    const response = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/tasks/patch-hdr',
      headers: { ...auth('admin'), 'content-type': 'application/merge-patch+json' },
      payload: { target: { headers: { 'Idempotency-Key': 'mine' } } },
    });
    expect(response.statusCode).toBe(422);
    expect(issuesOf(response.body).map((issue) => issue.field)).toContain('target.headers.Idempotency-Key');
  });

  const longId = (length: number): string => `t${'x'.repeat(length - 2)}z`;

  it('a task id at the limit (128) can be created, read, changed, triggered and deleted', async () => {
    const id = longId(128);
    expect((await create(sampleTask(id))).statusCode).toBe(201);
    const url = `/api/v1/tasks/${id}`;
    expect((await h.app.inject({ method: 'GET', url, headers: auth('viewer') })).statusCode).toBe(200);
    expect(
      (
        await h.app.inject({
          method: 'PATCH',
          url,
          headers: { ...auth('admin'), 'content-type': 'application/merge-patch+json' },
          payload: { name: 'renamed' },
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (await h.app.inject({ method: 'POST', url: `${url}/pause`, headers: auth('operator'), payload: {} }))
        .statusCode,
    ).toBe(200);
    expect(
      (await h.app.inject({ method: 'POST', url: `${url}/trigger`, headers: auth('operator'), payload: {} }))
        .statusCode,
    ).toBe(202);
    expect(
      (await h.app.inject({ method: 'GET', url: `${url}/executions`, headers: auth('viewer') })).statusCode,
    ).not.toBe(400);
    expect((await h.app.inject({ method: 'DELETE', url, headers: auth('admin') })).statusCode).toBe(204);
  });

  it('a task id one past the limit (129) is refused everywhere, naming the id', async () => {
    const id = longId(129);
    const created = await create(sampleTask(id));
    expect(created.statusCode).toBe(422);
    expect(issuesOf(created.body).map((issue) => issue.field)).toContain('id');
    for (const [method, url] of [
      ['GET', `/api/v1/tasks/${id}`],
      ['DELETE', `/api/v1/tasks/${id}`],
      ['POST', `/api/v1/tasks/${id}/trigger`],
      ['GET', `/api/v1/tasks/${id}/executions`],
    ] as const) {
      const response = await h.app.inject({ method, url, headers: auth('admin') });
      expect({ method, url: url.slice(0, 20), status: response.statusCode }).toMatchObject({ status: 400 });
      expect(issuesOf(response.body).map((issue) => issue.field)).toContain('id');
    }
  });
});

describe('ZooKeeper ACLs (real ZooKeeper)', () => {
  let h: Harness;
  let outsider: ZkClient;
  beforeAll(async () => {
    h = await startHarness('api-security-acl', { zkAuth: 'nono:s3cret-zk-password' });
    outsider = await ZkClient.connect({ connect: h.iso.zkConnect, sessionTimeoutMs: 10_000 });
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: sampleTask('acl-1'),
    });
    expect(created.statusCode).toBe(201);
  });
  afterAll(async () => {
    outsider?.close();
    await h?.close();
  });

  const refusedByAcl = async (attempt: Promise<unknown>): Promise<string> => {
    try {
      await attempt;
      return 'allowed';
    } catch (error) {
      return isZkError(error) ? error.codeName : String(error);
    }
  };

  it('a client without the credentials can neither write, create, delete nor read under the nono root', async () => {
    const task = h.layout.task('acl-1');
    expect(await refusedByAcl(outsider.set(task, '{"id":"acl-1"}', -1))).toBe('ZNOAUTH');
    expect(await refusedByAcl(outsider.create(h.layout.task('evil'), '{}'))).toBe('ZNOAUTH');
    expect(await refusedByAcl(outsider.get(task))).toBe('ZNOAUTH');
    expect(await refusedByAcl(outsider.delete(task))).toBe('ZNOAUTH');
    expect(await refusedByAcl(outsider.create(`${h.layout.root}/intruder`, '{}'))).toBe('ZNOAUTH');
  });

  it('a client with wrong credentials is refused too', async () => {
    const wrong = await ZkClient.connect({
      connect: h.iso.zkConnect,
      sessionTimeoutMs: 10_000,
      auth: 'nono:wrong-password',
    });
    try {
      expect(await refusedByAcl(wrong.set(h.layout.task('acl-1'), '{}', -1))).toBe('ZNOAUTH');
    } finally {
      wrong.close();
    }
  });

  it('the API with the credentials keeps working: read, change, delete', async () => {
    expect(
      (await h.app.inject({ method: 'GET', url: '/api/v1/tasks/acl-1', headers: auth('viewer') })).statusCode,
    ).toBe(200);
    expect(
      (await h.app.inject({ method: 'POST', url: '/api/v1/tasks/acl-1/pause', headers: auth('operator') }))
        .statusCode,
    ).toBe(200);
    expect(
      (await h.app.inject({ method: 'DELETE', url: '/api/v1/tasks/acl-1', headers: auth('admin') }))
        .statusCode,
    ).toBe(204);
  });
});
