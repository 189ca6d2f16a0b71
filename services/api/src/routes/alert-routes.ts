import { ALERT_RULE_ID_PATTERN, AlertRuleSpecSchema, parseAlertRuleSpec } from '@nono/domain';
import { type Static, Type } from '@sinclair/typebox';
import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { request as undiciRequest } from 'undici';
import { principalOf } from '../auth/authenticate.js';
import { ApiError, ApiErrorCode } from '../errors.js';

/**
 * `/api/v1/alerts…`: the alerts service's rules and alerts, forwarded with the API's
 * authentication and roles (viewer reads, operator acknowledges and silences, admin changes
 * rules) and the caller's identity (`nono-actor-id` / `nono-actor-kind`, which the alerts
 * service records on acknowledgements and silences). Upstream paths are built only from
 * validated parameters; bodies are checked here against the same schemas the alerts
 * service applies, so bad input is refused at the edge with the fields named.
 */

export interface AlertsUpstreamResponse {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly etag: string | undefined;
  readonly body: Buffer;
}

/** The alerts service, reached over HTTP. */
export interface AlertsUpstream {
  send(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    pathAndQuery: string,
    options: { headers: Record<string, string>; body?: unknown },
  ): Promise<AlertsUpstreamResponse>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export class UndiciAlertsClient implements AlertsUpstream {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;

  constructor(options: { baseUrl: string; timeoutMs: number }) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
  }

  async send(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    pathAndQuery: string,
    options: { headers: Record<string, string>; body?: unknown },
  ): Promise<AlertsUpstreamResponse> {
    try {
      const response = await undiciRequest(`${this.#baseUrl}${pathAndQuery}`, {
        method,
        headers: {
          accept: 'application/json',
          ...options.headers,
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      if (body.length > MAX_BODY_BYTES)
        throw new ApiError(
          ApiErrorCode.AlertsUnavailable,
          'the alerts service answered with an oversized body',
        );
      const header = (name: string): string | undefined => {
        const value = response.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      return { status: response.statusCode, contentType: header('content-type'), etag: header('etag'), body };
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError(ApiErrorCode.AlertsUnavailable, 'the alerts service did not answer');
    }
  }
}

const RuleIdParams = Type.Object(
  { id: Type.String({ pattern: ALERT_RULE_ID_PATTERN, description: 'alert rule id' }) },
  { additionalProperties: false },
);
const AlertIdParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9a-f-]{36}$', description: 'alert id (a UUID)' }) },
  { additionalProperties: false },
);
const AlertsQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved'), Type.Literal('all')])),
    taskId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    ruleId: Type.Optional(Type.String({ pattern: ALERT_RULE_ID_PATTERN })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
const AckBody = Type.Object(
  { note: Type.String({ minLength: 1, maxLength: 2000 }) },
  { additionalProperties: false },
);
const SilenceBody = Type.Object(
  {
    forMs: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 30 * 86_400_000 })),
    until: Type.Optional(Type.String({ description: 'RFC 3339 instant' })),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
/** As strict as the handler's check (the same schema), so the documented contract is the enforced one. */
const RuleBody = AlertRuleSpecSchema;
const Forwarded = Type.Unknown({
  description: "the alerts service's answer, as is (services/alerts/README.md)",
});

export function registerAlertRoutes(app: FastifyInstance, upstream: AlertsUpstream): void {
  const tags = ['alerts'];
  const schema = (summary: string, parts: Record<string, unknown>, ok: number[] = [200]) => ({
    tags,
    summary,
    ...parts,
    response: Object.fromEntries(ok.map((code) => [code, Forwarded])),
  });

  app.get<{ Querystring: Static<typeof AlertsQuery> }>(
    '/alerts',
    {
      config: { minRole: 'viewer' },
      schema: schema('List alerts (open by default)', { querystring: AlertsQuery }),
    },
    (request, reply) => {
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries(request.query))
        if (value !== undefined) query.set(name, String(value));
      return relay(request, reply, upstream, 'GET', `/alerts?${query.toString()}`);
    },
  );
  app.get(
    '/alerts/rules',
    { config: { minRole: 'viewer' }, schema: schema('List alert rules', {}) },
    (request, reply) => relay(request, reply, upstream, 'GET', '/rules'),
  );
  app.get<{ Params: Static<typeof RuleIdParams> }>(
    '/alerts/rules/:id',
    {
      config: { minRole: 'viewer' },
      schema: schema('Read an alert rule (ETag: its revision)', { params: RuleIdParams }),
    },
    (request, reply) =>
      relay(request, reply, upstream, 'GET', `/rules/${encodeURIComponent(request.params.id)}`),
  );
  app.put<{ Params: Static<typeof RuleIdParams> }>(
    '/alerts/rules/:id',
    {
      config: { minRole: 'admin' },
      schema: schema(
        'Create or replace an alert rule (If-Match: the revision read; If-None-Match: * to create only)',
        { params: RuleIdParams, body: RuleBody },
        [200, 201],
      ),
    },
    (request, reply) => {
      const spec = parseAlertRuleSpec(request.body);
      if (!spec.ok) throw new ApiError(ApiErrorCode.InvalidInput, undefined, spec.issues);
      return relay(
        request,
        reply,
        upstream,
        'PUT',
        `/rules/${encodeURIComponent(request.params.id)}`,
        spec.value,
      );
    },
  );
  app.delete<{ Params: Static<typeof RuleIdParams> }>(
    '/alerts/rules/:id',
    {
      config: { minRole: 'admin' },
      schema: schema('Delete an alert rule (resolves its open alerts)', { params: RuleIdParams }, [204]),
    },
    (request, reply) =>
      relay(request, reply, upstream, 'DELETE', `/rules/${encodeURIComponent(request.params.id)}`),
  );
  app.get<{ Params: Static<typeof AlertIdParams> }>(
    '/alerts/:id',
    {
      config: { minRole: 'viewer' },
      schema: schema('Read an alert and its deliveries', { params: AlertIdParams }),
    },
    (request, reply) => relay(request, reply, upstream, 'GET', `/alerts/${request.params.id}`),
  );
  app.post<{ Params: Static<typeof AlertIdParams>; Body: Static<typeof AckBody> }>(
    '/alerts/:id/ack',
    {
      config: { minRole: 'operator' },
      schema: schema('Acknowledge an open alert (no more re-notifications)', {
        params: AlertIdParams,
        body: AckBody,
      }),
    },
    (request, reply) =>
      relay(request, reply, upstream, 'POST', `/alerts/${request.params.id}/ack`, request.body),
  );
  app.post<{ Params: Static<typeof AlertIdParams>; Body: Static<typeof SilenceBody> }>(
    '/alerts/:id/silence',
    {
      config: { minRole: 'operator' },
      schema: schema('Silence an open alert for a window (forMs or until)', {
        params: AlertIdParams,
        body: SilenceBody,
      }),
    },
    (request, reply) =>
      relay(request, reply, upstream, 'POST', `/alerts/${request.params.id}/silence`, request.body),
  );
}

async function relay(
  request: FastifyRequest,
  reply: FastifyReply,
  upstream: AlertsUpstream,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  pathAndQuery: string,
  body?: unknown,
): Promise<FastifyReply> {
  const { actor } = principalOf(request);
  const headers: Record<string, string> = { 'nono-actor-id': actor.id, 'nono-actor-kind': actor.kind };
  for (const name of ['if-match', 'if-none-match']) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const answer = await upstream.send(method, pathAndQuery, {
    headers,
    ...(body === undefined ? {} : { body }),
  });
  if (answer.status >= 500)
    throw new ApiError(ApiErrorCode.AlertsUnavailable, `the alerts service failed (${answer.status})`);
  if (answer.etag !== undefined) void reply.header('etag', answer.etag);
  if (answer.status === 204) return reply.code(204).send();
  return reply
    .code(answer.status)
    .header('content-type', answer.contentType ?? 'application/json')
    .send(answer.body);
}
