import { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryQueries } from '../store/history-queries.js';
import { type OpenDatabase } from '../store/open-database.js';
import { generateStream } from '../testing/event-stream.js';
import { openMemoryDatabase } from '../testing/memory-store.js';
import { projectEvents } from '../testing/project-events.js';
import { READ_HEADERS, queryApp } from '../testing/query-app.js';

/** A query as the API makes it: with its read token. */
const get = (options: { url: string; headers?: Record<string, string> }) =>
  app.inject({ ...options, headers: { ...READ_HEADERS, ...options.headers } });

let open: OpenDatabase;
let app: FastifyInstance;
let queries: HistoryQueries;

beforeAll(async () => {
  open = openMemoryDatabase();
  const events = generateStream({ executions: 600, tasks: 6 });
  projectEvents(open.db, events);
  queries = new HistoryQueries(open.db);
  app = await queryApp(open.db, { queries });
});

afterAll(async () => {
  await app.close();
  open.close();
});

describe('GET /executions', () => {
  it('pages through every execution of a task with the opaque cursor, newest first, without repeats', async () => {
    const seen: string[] = [];
    const nominal: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/executions?taskId=task-001&limit=30${cursor === null ? '' : `&cursor=${cursor}`}`;
      const response = await get({ url });
      expect(response.statusCode).toBe(200);
      const body = response.json<{
        items: { executionId: string; nominalTime: string }[];
        nextCursor: string | null;
      }>();
      seen.push(...body.items.map((item) => item.executionId));
      nominal.push(...body.items.map((item) => item.nominalTime));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(100);
    expect(new Set(seen).size).toBe(100);
    expect([...nominal].sort().reverse()).toEqual(nominal);
  });

  it('filters by status and range', async () => {
    const response = await get({
      url: '/executions?status=failed&from=2026-11-20T00:00:00Z&to=2026-11-20T01:00:00Z&limit=500',
    });
    const items = response.json<{ items: { status: string; nominalTime: string }[] }>().items;
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) {
      expect(item.status).toBe('failed');
      expect(item.nominalTime < '2026-11-20T01:00:00.000Z').toBe(true);
    }
  });

  it('answers CSV for format=csv and for Accept: text/csv', async () => {
    const byQuery = await get({ url: '/tasks/task-002/executions?format=csv&limit=5' });
    expect(byQuery.headers['content-type']).toMatch(/^text\/csv/);
    expect(byQuery.body.split('\r\n')[0]).toBe(
      'executionId,taskId,nominalTime,status,attempts,firedAt,finishedAt,durationMs,lateMs,httpStatus,error,schedulerId,fencingToken,reason,instantId,shardIndex,shardCount,memberUrl,parameters',
    );
    expect(byQuery.body.trim().split('\r\n')).toHaveLength(6);
    expect(byQuery.headers['nono-next-cursor']).toBeDefined();
    const byAccept = await get({ url: '/audit', headers: { accept: 'text/csv' } });
    expect(byAccept.headers['content-type']).toMatch(/^text\/csv/);
  });

  it("uses the (task_id, nominal_time desc) index for a task's history page", () => {
    const plan = queries.explainTaskPage('task-001').join('\n');
    expect(plan).toMatch(/USING INDEX executions_task_nominal/);
    expect(plan).not.toMatch(/TEMP B-TREE/);
  });
});

describe('single execution, reports, audit, cluster', () => {
  it('returns an execution with its attempts, and a 404 problem for an unknown id', async () => {
    const list = await get({ url: '/executions?limit=500&status=succeeded' });
    const retried = list
      .json<{ items: { executionId: string; attempts: number }[] }>()
      .items.find((item) => item.attempts === 2);
    expect(retried).toBeDefined();
    const one = await get({ url: `/executions/${retried?.executionId ?? ''}` });
    expect(one.json()).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      attemptHistory: [
        { attempt: 1, status: 'failed', httpStatus: 503 },
        { attempt: 2, status: 'succeeded' },
      ],
    });
    const missing = await get({ url: '/executions/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('reports a task: runs, success rate, percentiles, missed and skipped', async () => {
    const response = await get({
      url: '/reports/tasks/task-003?from=2026-11-19T00:00:00Z&to=2026-11-21T00:00:00Z',
    });
    const report = response.json<
      Record<string, number> & {
        durationMs: { p50: number; p95: number; p99: number };
        latenessMs: { p50: number; p95: number; p99: number };
      }
    >();
    expect(report['executions']).toBe(100);
    expect(report['runs']).toBe(
      report['succeeded']! + report['failed']! + report['timedOut']! + report['lost']!,
    );
    expect(report['runs']! + report['skipped']! + report['missed']!).toBe(100);
    expect(report.durationMs.p50).toBeLessThanOrEqual(report.durationMs.p95);
    expect(report.durationMs.p95).toBeLessThanOrEqual(report.durationMs.p99);
    expect(report.latenessMs.p99).toBeGreaterThanOrEqual(0);
    expect(report.latenessMs.p95).toBeGreaterThanOrEqual(report.latenessMs.p50);
    expect(report.latenessMs.p95).toBeLessThanOrEqual(report.latenessMs.p99);
  });

  it('reports a day per task, consistent with the executions', async () => {
    const response = await get({ url: '/reports/daily?day=2026-11-20' });
    const items = response.json<{
      items: { taskId: string; runs: number; skipped: number; missed: number }[];
    }>().items;
    expect(items.map((item) => item.taskId)).toEqual([
      'task-000',
      'task-001',
      'task-002',
      'task-003',
      'task-004',
      'task-005',
    ]);
    expect(items.reduce((sum, item) => sum + item.runs + item.skipped + item.missed, 0)).toBe(600);
  });

  it('lists the audit trail and the scheduler history', async () => {
    const audit = await get({ url: '/audit?actor=alice' });
    expect(audit.json<{ items: { actorId: string }[] }>().items.map((item) => item.actorId)).toEqual([
      'alice',
      'alice',
      'alice',
    ]);
    const cluster = await get({ url: '/schedulers/history?schedulerId=sched-a' });
    expect(cluster.json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it('publishes an OpenAPI document built from the route schemas', async () => {
    const doc = (await get({ url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { parameters: { name: string }[] }>>;
    }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/executions',
        '/executions/{id}',
        '/tasks/{id}/executions',
        '/reports/tasks/{id}',
        '/reports/daily',
        '/audit',
        '/schedulers/history',
      ]),
    );
    expect(doc.paths['/executions']?.['get']?.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['taskId', 'status', 'cursor', 'limit']),
    );
  });
});

describe('bad parameters are 400 (malformed) or 422 (impossible) problem+json, never 500', () => {
  const impossible = [
    '/executions?from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z',
    '/executions?cursor=not-a-cursor',
    `/executions?cursor=${Buffer.from('[1,2,3]').toString('base64url')}`,
    '/reports/daily?day=2026-02-30',
    '/executions?from=2026-02-30T00:00:00Z',
  ];
  const bad = [
    '/executions?from=2026-11-20T24:00:00Z',
    '/executions?limit=true',
    '/executions?from=yesterday',
    '/executions?from=2026-13-45T00:00:00Z',
    '/executions?from=2026-11-20T00:00:00',
    '/executions?limit=-1',
    '/executions?limit=0',
    '/executions?limit=501',
    '/executions?limit=abc',
    '/executions?limit=1.5',
    '/executions?status=exploded',
    `/executions?taskId=${encodeURIComponent("' OR 1=1 --")}`,
    `/executions?schedulerId=${encodeURIComponent("x'; DROP TABLE executions; --")}`,
    `/executions?cursor=${encodeURIComponent('%%%')}`,
    '/executions?unknown=1',
    '/executions?format=xml',
    `/tasks/${encodeURIComponent("' OR 1=1 --")}/executions`,
    '/tasks/task-001/executions?taskId=task-002',
    `/executions/${encodeURIComponent('<script>')}`,
    '/reports/tasks/task-001?from=2026-02-30',
    '/reports/daily',
    '/reports/daily?day=20261120',
    `/audit?actor=${encodeURIComponent("' OR 1=1 --")}`,
    '/audit?from=2026-11-20T00:00:00Z&from=2026-11-21T00:00:00Z',
    '/schedulers/history?limit=-5',
  ];

  it.each([...bad.map((url) => [url, 400] as const), ...impossible.map((url) => [url, 422] as const)])(
    '%s: %i',
    async (url, status) => {
      const response = await get({ url });
      expect(response.statusCode).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = response.json<{
        type: string;
        title: string;
        status: number;
        detail: string;
        errors: { field: string; message: string }[];
      }>();
      expect(problem).toMatchObject({
        status,
        type: expect.any(String),
        title: expect.any(String),
        detail: expect.any(String),
      });
      expect(problem.errors.length).toBeGreaterThan(0);
      for (const error of problem.errors)
        expect(error).toEqual({ field: expect.any(String), message: expect.any(String) });
    },
  );

  it.each([
    ['POST', '/executions', 'GET, HEAD'],
    ['DELETE', '/executions/x', 'GET, HEAD'],
    ['PUT', '/reports/daily', 'GET, HEAD'],
    ['TRACE', '/audit', 'GET, HEAD'],
  ])('%s %s: 405 problem+json with Allow: %s', async (method, url, allow) => {
    const response = await app.inject({
      method: method as 'POST',
      url,
      headers: READ_HEADERS,
    });
    expect(response.statusCode).toBe(405);
    expect(response.headers['allow']).toBe(allow);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('survives random garbage in every parameter', async () => {
    const alphabet = Array.from('abcXYZ019-_.:\'"%;=&<>()*/\\ \u00e9\u{1F600}');
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const params = [
      'taskId',
      'status',
      'schedulerId',
      'from',
      'to',
      'limit',
      'cursor',
      'format',
      'day',
      'actor',
    ];
    const paths = [
      '/executions',
      '/tasks/task-001/executions',
      '/reports/tasks/task-001',
      '/reports/daily',
      '/audit',
      '/schedulers/history',
    ];
    for (let i = 0; i < 300; i += 1) {
      const value = Array.from(
        { length: 1 + Math.floor(next() * 12) },
        () => alphabet[Math.floor(next() * alphabet.length)] ?? 'a',
      ).join('');
      const url = `${paths[i % paths.length] ?? '/executions'}?${params[Math.floor(next() * params.length)] ?? 'limit'}=${encodeURIComponent(value)}`;
      const response = await get({ url });
      expect(response.statusCode, url).toBeLessThan(500);
      if (response.statusCode !== 200)
        expect(response.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
  });
});

describe('authentication', () => {
  it.each([
    '/executions',
    '/executions/x',
    '/tasks/task-001/executions',
    '/reports/tasks/task-001',
    '/reports/daily?day=2026-11-20',
    '/audit',
    '/schedulers/history',
  ])('%s answers 401 problem+json without a token or with an unknown one', async (url) => {
    for (const headers of [{}, { authorization: 'Bearer not-the-token' }]) {
      const response = await app.inject({ url, headers });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.headers['www-authenticate']).toContain('Bearer');
    }
  });

  it.each(['/healthz', '/readyz', '/metrics', '/openapi.json'])('%s stays open', async (url) => {
    expect((await app.inject({ url })).statusCode).toBe(200);
  });
});
