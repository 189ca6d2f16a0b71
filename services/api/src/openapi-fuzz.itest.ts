import { Ajv, type ValidateFunction } from 'ajv';
import fc from 'fast-check';
import { type HTTPMethods } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, type TOKENS, auth, sampleTask, startHarness } from './testing/harness.js';

/**
 * Schema-driven fuzzing: every operation of the API's own /openapi.json gets thousands of
 * generated requests (values that fit its schemas, values that almost fit, and junk), with
 * every kind of token and content type, against the real ZooKeeper and Kafka of the run and
 * a history fake. The property: no input makes the API answer 5xx, whose only meaning is
 * "a bug" (the fake history and the infra are up, so 502/503 are bugs here too), and every
 * success has the body the document promises for it.
 */
type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  additionalProperties?: boolean | JsonSchema;
};
type Parameter = { name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema?: JsonSchema };
type Operation = {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
type OpenApi = { paths: Record<string, Record<string, Operation>>; components?: unknown };

/**
 * A validator per documented success status of an operation, compiled from the document
 * itself (Ajv understands OpenAPI's `nullable`; `$ref`s point into the document).
 */
function successValidators(spec: OpenApi, operation: Operation): Map<number, ValidateFunction | 'empty'> {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema({ components: spec.components }, 'openapi.json');
  const validators = new Map<number, ValidateFunction | 'empty'>();
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    if (!/^2\d\d$/.test(status)) continue;
    const schema = Object.values(response.content ?? {})[0]?.schema;
    validators.set(
      Number(status),
      schema === undefined
        ? 'empty'
        : ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/', '"$ref":"openapi.json#/'))),
    );
  }
  return validators;
}

const TOTAL_REQUESTS = 3_000;
/** Ids that exist, so generated requests also reach the code behind the 404. */
const KNOWN_IDS = ['fuzz-known', 'fuzz-paused'];

/** Values that break naive code: encodings, traversal, huge, control and odd Unicode. */
const NASTY_STRINGS = [
  '',
  ' ',
  '..',
  '%2e%2e',
  '%00',
  '%',
  '%zz',
  'a/b',
  '\u0000',
  '\ud800',
  '😀',
  'null',
  'true',
  '-1',
  '1e309',
  'NaN',
  '__proto__',
  'constructor',
  '<script>',
  "' OR 1=1 --",
  'x'.repeat(5_000),
];

const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom<unknown>(...NASTY_STRINGS, null, -1, 0, 1.5, 2 ** 53, -(2 ** 31), true, [], {}),
  fc.string(),
);

/**
 * An arbitrary for a JSON Schema: mostly values that satisfy it (so requests get past
 * validation into the handlers), sometimes junk in their place (so validation itself is
 * exercised). Patterns generate matching strings through fast-check's stringMatching.
 */
function fromSchema(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: validFromSchema(schema ?? {}, depth) },
    { weight: 1, arbitrary: junk },
  );
}

function validFromSchema(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices && choices.length > 0) return fc.oneof(...choices.map((c) => validFromSchema(c, depth + 1)));
  if (schema.allOf && schema.allOf.length > 0)
    return fc
      .tuple(...schema.allOf.map((part) => validFromSchema(part, depth + 1)))
      .map(
        (parts) => Object.assign({}, ...parts.filter((p) => typeof p === 'object' && p !== null)) as unknown,
      );
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      if (schema.pattern)
        return fc
          .stringMatching(new RegExp(schema.pattern))
          .map((s) => s.slice(0, schema.maxLength ?? 10_000));
      return fc.string({
        minLength: schema.minLength ?? 0,
        maxLength: Math.min(schema.maxLength ?? 40, 200),
      });
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 10_000_000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return depth > 4 ? fc.constant([]) : fc.array(fromSchema(schema.items, depth + 1), { maxLength: 4 });
    case 'object':
    case undefined: {
      if (depth > 4 || !schema.properties)
        return type === 'object' ? fc.dictionary(fc.string({ maxLength: 8 }), junk, { maxKeys: 3 }) : junk;
      const required = new Set(schema.required ?? []);
      const record = fc.record(
        Object.fromEntries(
          Object.entries(schema.properties).map(([key, sub]) => [key, fromSchema(sub, depth + 1)]),
        ),
        { requiredKeys: [...required].filter((key) => key in (schema.properties ?? {})) },
      );
      // Sometimes a field the schema does not know, to exercise "unknown field" handling.
      return fc
        .tuple(record, fc.option(fc.tuple(fc.string({ maxLength: 10 }), junk), { freq: 4 }))
        .map(([value, extra]) => (extra === null ? value : { ...value, [extra[0]]: extra[1] }));
    }
    default:
      return junk;
  }
}

/**
 * A valid task with at most one top-level field replaced by a generated value: most pass
 * validation, so creates, replaces and patches reach ZooKeeper and the outbox.
 */
function nearlyValidTask(bodySchema: JsonSchema | undefined): fc.Arbitrary<string> {
  const known = Object.entries(bodySchema?.properties ?? {});
  const fields: Array<[string, JsonSchema]> = known.length > 0 ? known : [['name', { type: 'string' }]];
  return fc
    .record({
      id: fc.oneof(fc.constantFrom(...KNOWN_IDS), fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}[a-z0-9]$/)),
      replace: fc.option(
        fc.oneof(...fields.map(([key, schema]) => fromSchema(schema).map((value) => [key, value] as const))),
        {
          freq: 2,
        },
      ),
    })
    .map(({ id, replace }) =>
      JSON.stringify({ ...sampleTask(id), ...(replace ? { [replace[0]]: replace[1] } : {}) }),
    );
}

/** Percent-encodes the UTF-8 bytes (a lone surrogate becomes U+FFFD, as on the wire). */
function encodeSegment(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    .join('');
}

/** Raw URL text, not encoded again: broken escapes and encoded traversal reach the router as is. */
const RAW_SEGMENTS = ['%', '%zz', '%00', '%2e%2e', '%2F', '..', '.', 'a%2Fb', '%C0%AE'];

/** A path parameter: schema-valid, a known id, or something hostile. */
function pathValue(schema: JsonSchema | undefined): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...KNOWN_IDS) },
    {
      weight: 3,
      arbitrary: validFromSchema(schema ?? { type: 'string' }, 0).map((v) => encodeSegment(String(v))),
    },
    { weight: 2, arbitrary: fc.constantFrom(...NASTY_STRINGS).map(encodeSegment) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
    { weight: 1, arbitrary: fc.string().map(encodeSegment) },
  );
}

function queryValue(schema: JsonSchema | undefined): fc.Arbitrary<string | string[]> {
  const one = fromSchema(schema).map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? '')));
  return fc.oneof(
    { weight: 5, arbitrary: one },
    { weight: 1, arbitrary: fc.array(one, { minLength: 2, maxLength: 3 }) },
  );
}

const CONTENT_TYPES = [
  'application/json',
  'application/json',
  'application/merge-patch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-16',
  undefined,
];

interface FuzzRequest {
  readonly method: HTTPMethods;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string;
}

function requestFor(path: string, method: HTTPMethods, operation: Operation): fc.Arbitrary<FuzzRequest> {
  const params = operation.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const bodySchema = Object.values(operation.requestBody?.content ?? {})[0]?.schema;
  const segments = fc.array(
    fc.oneof(
      fc.constantFrom('tasks', 'daily', ...KNOWN_IDS),
      fc.constantFrom(...RAW_SEGMENTS),
      fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ maxLength: 12 })).map(encodeSegment),
    ),
    { minLength: 1, maxLength: 3 },
  );
  return fc
    .record({
      pathValues: fc.tuple(...pathParams.map((p) => pathValue(p.schema))),
      wildcard: segments.map((parts) => parts.join('/')),
      query: fc.tuple(...queryParams.map((p) => fc.option(queryValue(p.schema), { freq: 2 }))),
      extraQuery: fc.option(fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })), { freq: 5 }),
      body: fc.oneof(
        { weight: 6, arbitrary: fromSchema(bodySchema).map((b) => JSON.stringify(b) ?? '') },
        { weight: 3, arbitrary: nearlyValidTask(bodySchema) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '{',
            '{"a":',
            '[]',
            'null',
            '"x"',
            '1',
            '{"__proto__":{"x":1}}',
            '{"constructor":{"prototype":{}}}',
          ),
        },
        { weight: 1, arbitrary: fc.string() },
      ),
      contentType: fc.constantFrom(...CONTENT_TYPES),
      role: fc.constantFrom<keyof typeof TOKENS | 'none' | 'bogus'>(
        'admin',
        'admin',
        'admin',
        'admin',
        'admin',
        'operator',
        'viewer',
        'none',
        'bogus',
      ),
      ifMatch: fc.option(
        fc.oneof(fc.constantFrom('"0"', '"1"', '*', 'W/"0"', '"0", "1"', ''), fc.string({ maxLength: 20 })),
        { freq: 4 },
      ),
    })
    .map((g) => {
      let url = path;
      pathParams.forEach((p, i) => (url = url.replace(`{${p.name}}`, g.pathValues[i] ?? '')));
      url = url.replace('{*}', g.wildcard).replace(/\*$/, g.wildcard);
      const search = new URLSearchParams();
      queryParams.forEach((p, i) => {
        const value = g.query[i];
        if (value === null || value === undefined) return;
        for (const v of Array.isArray(value) ? value : [value]) search.append(p.name, v);
      });
      if (g.extraQuery) search.append(g.extraQuery[0], g.extraQuery[1]);
      const headers: Record<string, string> = {};
      if (g.role === 'bogus') headers['authorization'] = 'Bearer not-a-token';
      else if (g.role !== 'none') Object.assign(headers, auth(g.role));
      if (g.ifMatch !== null) headers['if-match'] = g.ifMatch;
      // A body goes with its content type, on every method (a GET with a body included).
      if (g.contentType !== undefined) headers['content-type'] = g.contentType;
      const query = search.toString();
      return {
        method,
        url: `/api/v1${url}${query ? `?${query}` : ''}`,
        headers,
        ...(g.contentType !== undefined ? { payload: g.body } : {}),
      };
    });
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness('openapi-fuzz', { rateLimitPerMinute: 1_000_000 });
  // History answers like history: a page for lists, 404 for what it does not know.
  h.history.respond = (url) =>
    url.startsWith('/readyz')
      ? { status: 200, body: { status: 'ready' } }
      : { status: 200, body: { items: [], nextCursor: null } };
  await ensureKnownTasks();
});

async function ensureKnownTasks(): Promise<void> {
  for (const id of KNOWN_IDS) {
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: sampleTask(id),
    });
    expect([201, 409]).toContain(created.statusCode);
  }
  await h.app.inject({
    method: 'POST',
    url: '/api/v1/tasks/fuzz-paused/pause',
    headers: auth('admin'),
    payload: {},
  });
}
afterAll(async () => {
  await h?.close();
});

describe('OpenAPI-driven fuzzing', () => {
  it('answers every generated request to every documented operation without a 5xx', async () => {
    const spec = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApi>();
    const operations = Object.entries(spec.paths)
      .filter(([path]) => path.startsWith('/api/v1/'))
      .flatMap(([path, methods]) =>
        Object.entries(methods)
          .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
          .map(([method, operation]) => ({
            path: path.slice('/api/v1'.length),
            method: method.toUpperCase(),
            operation,
          })),
      );
    // Every route group is covered: a route that falls out of the document falls out of the fuzzing.
    expect(operations.map((o) => `${o.method} ${o.path}`)).toEqual(
      expect.arrayContaining([
        'POST /tasks',
        'PATCH /tasks/{id}',
        'POST /preview',
        'GET /status',
        'GET /audit',
      ]),
    );
    expect(operations.length).toBeGreaterThanOrEqual(19);
    const runsPerOperation = Math.ceil(TOTAL_REQUESTS / operations.length);
    let sent = 0;
    const statuses = new Map<number, number>();
    for (const { path, method, operation } of operations) {
      // The document is complete: every operation says what its successes look like.
      const validators = successValidators(spec, operation);
      expect(validators.size, `${method} ${path} documents no success response`).toBeGreaterThan(0);
      await fc.assert(
        fc.asyncProperty(requestFor(path, method, operation), async (request) => {
          const response = await h.app.inject(request);
          sent += 1;
          // Keep the known tasks existing, so later requests keep reaching past the 404.
          if (request.method === 'DELETE' && response.statusCode === 204) await ensureKnownTasks();
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          if (response.statusCode >= 500)
            throw new Error(
              `${request.method} ${request.url} → ${response.statusCode}: ${response.body.slice(0, 300)}`,
            );
          // Every error is problem+json with a code, whatever the input.
          if (response.statusCode >= 400)
            expect(response.json<{ code?: string }>().code).toMatch(/^NONO_[A-Z_]+$/);
          // Every success is one the document names, with the body it describes.
          if (response.statusCode < 300) {
            const validate = validators.get(response.statusCode);
            if (validate === undefined)
              throw new Error(`${request.method} ${request.url} → ${response.statusCode}: not documented`);
            if (validate === 'empty') expect(response.body).toBe('');
            else if (!validate(response.json()))
              throw new Error(
                `${request.method} ${request.url} → ${response.statusCode}: body does not match the document: ${JSON.stringify(validate.errors).slice(0, 500)}`,
              );
          }
        }),
        {
          numRuns: runsPerOperation,
          seed: Number(process.env['NONO_FUZZ_SEED'] ?? 20_261_122),
          endOnFailure: true,
        },
      );
    }
    expect(sent).toBeGreaterThanOrEqual(TOTAL_REQUESTS);
    // The generator must reach the handlers, not only the validators and the auth check.
    const successes = [...statuses].filter(([status]) => status < 300).reduce((n, [, count]) => n + count, 0);
    expect(successes, JSON.stringify(Object.fromEntries(statuses))).toBeGreaterThan(TOTAL_REQUESTS / 10);
    if (process.env['NONO_FUZZ_VERBOSE']) console.info(`sent ${sent}:`, Object.fromEntries(statuses));
  }, 600_000);
});
