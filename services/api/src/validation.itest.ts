import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, auth, sampleTask, startHarness } from './testing/harness.js';

/** Bad input gets a 4xx problem naming the field, and ZooKeeper is left exactly as it was. */
describe('input validation (real ZooKeeper)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-validation');
  });
  afterAll(async () => {
    await h?.close();
  });

  const snapshot = async () => ({
    tasks: await h.zk.children(h.layout.tasks),
    outbox: await h.zk.children(`${h.layout.root}/outbox`),
  });

  it.each([
    ['a missing name', sampleTask('v-1', { name: undefined }), 422, 'NONO_INVALID_TASK', 'name'],
    ['a missing schedule', sampleTask('v-2', { schedule: undefined }), 422, 'NONO_INVALID_TASK', 'schedule'],
    ['a missing id', { ...sampleTask('x'), id: undefined }, 422, 'NONO_INVALID_TASK', 'id'],
    ['a bad id', sampleTask('Not OK!'), 422, 'NONO_INVALID_TASK', 'id'],
    [
      'a bad cron',
      sampleTask('v-3', { schedule: { kind: 'cron', expression: '61 * * * *' } }),
      422,
      'NONO_INVALID_TASK',
      'schedule.expression',
    ],
    [
      'an unknown zone',
      sampleTask('v-4', { schedule: { kind: 'cron', expression: '* * * * *', timeZone: 'Mars/Olympus' } }),
      422,
      'NONO_INVALID_TASK',
      'schedule.timeZone',
    ],
    [
      'a wrong type',
      sampleTask('v-5', { retry: { maxAttempts: 'three' } }),
      422,
      'NONO_INVALID_TASK',
      'retry.maxAttempts',
    ],
    ['an unknown field', sampleTask('v-6', { colour: 'blue' }), 422, 'NONO_INVALID_TASK', 'colour'],
    [
      'an unknown nested field',
      sampleTask('v-7', { target: { url: 'http://127.0.0.1/', verb: 'GET' } }),
      422,
      'NONO_INVALID_TASK',
      'target.verb',
    ],
    [
      'a one-shot in the past',
      sampleTask('v-8', { schedule: { kind: 'once', at: '2001-01-01T00:00:00Z' } }),
      422,
      'NONO_INVALID_TASK',
      'schedule.at',
    ],
    [
      'a disallowed target host',
      sampleTask('v-9', { target: { url: 'http://169.254.169.254/latest/meta-data' } }),
      400,
      'NONO_TARGET_NOT_ALLOWED',
      'target.url',
    ],
    [
      'a non-http target',
      sampleTask('v-10', { target: { url: 'file:///etc/passwd' } }),
      422,
      'NONO_INVALID_TASK',
      'target.url',
    ],
    ['a JSON array', [sampleTask('v-11')], 400, 'NONO_BAD_REQUEST', ''],
  ])('refuses %s', async (_what, payload, status, code, field) => {
    const before = await snapshot();
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: payload as object,
    });
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const problem = response.json<{ code: string; errors: Array<{ field: string }> }>();
    expect(problem.code).toBe(code);
    expect(problem.errors.map((issue) => issue.field)).toContain(field);
    expect(await snapshot()).toEqual(before);
  });

  it('lists every failing field at once', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: {
        id: 'v-many',
        schedule: { kind: 'cron', expression: 'bad', timeZone: 'Nowhere/Land' },
        target: { url: 'x' },
        extra: 1,
      },
    });
    const fields = response.json<{ errors: Array<{ field: string }> }>().errors.map((issue) => issue.field);
    expect(fields).toEqual(
      expect.arrayContaining(['name', 'schedule.expression', 'schedule.timeZone', 'extra']),
    );
  });

  it('refuses a body over the limit with 413 problem+json', async () => {
    const before = await snapshot();
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: sampleTask('v-huge', { description: 'x'.repeat(300 * 1024) }),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ code: 'NONO_PAYLOAD_TOO_LARGE', status: 413 });
    expect(await snapshot()).toEqual(before);
  });

  it('refuses malformed JSON and bad query parameters with 400', async () => {
    const malformed = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: { ...auth('admin'), 'content-type': 'application/json' },
      payload: '{"id": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'NONO_BAD_REQUEST' });

    const badLimit = await h.app.inject({
      method: 'GET',
      url: '/api/v1/tasks?limit=100000',
      headers: auth('viewer'),
    });
    expect(badLimit.statusCode).toBe(400);
    expect(badLimit.json()).toMatchObject({ code: 'NONO_INVALID_INPUT', errors: [{ field: 'limit' }] });

    const unknownQuery = await h.app.inject({
      method: 'GET',
      url: '/api/v1/tasks?colour=red',
      headers: auth('viewer'),
    });
    expect(unknownQuery.statusCode).toBe(400);
  });

  // schemathesis (2026-12-02, stateful phase) sent a PUT whose target.headers held a
  // "__proto__" key: valid JSON, refused as prototype poisoning, but answered 400 "not valid JSON".
  it.each([
    [
      'PUT',
      '/api/v1/tasks/v-proto',
      '{"target": {"url": "http://127.0.0.1:9999/", "headers": {"__proto__": "x"}}}',
    ],
    ['POST', '/api/v1/tasks', '{"id": "v-proto", "constructor": {"prototype": {}}}'],
  ])(
    'answers valid JSON with a prototype-poisoning key (%s %s) with 422, not "malformed"',
    async (method, url, payload) => {
      const response = await h.app.inject({
        method: method as 'PUT' | 'POST',
        url,
        headers: { ...auth('admin'), 'content-type': 'application/json' },
        payload,
      });
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ code: 'NONO_FORBIDDEN_JSON_KEY' });
    },
  );
  it.each([
    ['text/plain', 'POST', '/api/v1/tasks'],
    ['text/plain', 'PATCH', '/api/v1/tasks/v-any'],
    ['application/x-www-form-urlencoded', 'POST', '/api/v1/tasks'],
  ])('refuses a %s body to %s %s with 415 problem+json, as the README says', async (type, method, url) => {
    const before = await snapshot();
    const response = await h.app.inject({
      method: method as 'POST' | 'PATCH',
      url,
      headers: { ...auth('admin'), 'content-type': type },
      payload: JSON.stringify(sampleTask('v-text')),
    });
    expect(response.statusCode).toBe(415);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ code: 'NONO_UNSUPPORTED_MEDIA_TYPE', status: 415 });
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a "__proto__" key, naming where it is and why', async () => {
    const before = await snapshot();
    const body = JSON.stringify(sampleTask('v-proto')).replace(
      /}$/,
      ', "labels": {"__proto__": {"admin": "true"}}}',
    );
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: { ...auth('admin'), 'content-type': 'application/json' },
      payload: body,
    });
    expect(response.statusCode).toBe(422);
    const problem = response.json<{ code: string; detail: string; errors: Array<{ field: string }> }>();
    expect(problem).toMatchObject({
      code: 'NONO_FORBIDDEN_JSON_KEY',
      errors: [{ field: 'labels.__proto__' }],
    });
    expect(problem.detail).toMatch(/__proto__/);
    expect(problem.detail).toMatch(/prototype/);
    expect(problem.detail).not.toMatch(/not valid JSON/);
    expect(await snapshot()).toEqual(before);
  });

  it('re-validates a merge patch as a whole and keeps the task when it fails', async () => {
    await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: sampleTask('v-patch'),
    });
    const { stat } = await h.zk.get(h.layout.task('v-patch'));
    const response = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/tasks/v-patch',
      headers: auth('admin'),
      payload: { schedule: { expression: '99 * * * *' }, target: { url: 'http://evil.internal/' } },
    });
    expect(response.statusCode).toBe(422);
    const fields = response.json<{ errors: Array<{ field: string }> }>().errors.map((issue) => issue.field);
    expect(fields).toEqual(expect.arrayContaining(['schedule.expression', 'target.url']));
    expect((await h.zk.get(h.layout.task('v-patch'))).stat.version).toBe(stat.version);
  });

  it('allows a target host under a wildcard entry', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: sampleTask('v-wild', { target: { url: 'https://jobs.example.com/run' } }),
    });
    expect(response.statusCode).toBe(201);
  });

  it.each(['/api/v1/tasks?limit=true', '/api/v1/tasks?limit=1e2', '/api/v1/executions?limit=true'])(
    '%s is a 400 naming limit (a boolean is not a number)',
    async (url) => {
      const response = await h.app.inject({ method: 'GET', url, headers: auth('viewer') });
      expect(response.statusCode).toBe(400);
      expect(
        response.json<{ errors: Array<{ field: string }> }>().errors.map((issue) => issue.field),
      ).toContain('limit');
    },
  );

  it.each([
    ['DELETE', '/api/v1/tasks', 'GET, HEAD, POST'],
    ['POST', '/api/v1/tasks/v-wild', 'DELETE, GET, HEAD, PATCH, PUT'],
    ['PUT', '/api/v1/executions', 'GET, HEAD'],
    ['TRACE', '/healthz', 'GET, HEAD'],
  ])('%s %s is a 405 problem naming the allowed methods (%s)', async (method, url, allow) => {
    const response = await h.app.inject({ method: method as 'POST', url, headers: auth('admin') });
    expect(response.statusCode).toBe(405);
    expect(response.headers['allow']).toBe(allow);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ code: 'NONO_METHOD_NOT_ALLOWED' });
  });

  it('documents errors as problem+json and the ops routes as open', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<
        string,
        Record<string, { security?: unknown[]; responses: Record<string, { content?: object }> }>
      >;
    }>();
    for (const path of ['/healthz', '/readyz', '/metrics'])
      expect(doc.paths[path]?.['get']?.security).toEqual([]);
    const create = doc.paths['/api/v1/tasks']?.['post'];
    expect(Object.keys(create?.responses['4XX']?.content ?? {})).toEqual(['application/problem+json']);
    expect(create?.security).toBeUndefined();
  });
});
