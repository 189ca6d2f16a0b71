import {
  AckAlertBodySchema,
  AlertDetailSchema,
  AlertIdParamsSchema,
  AlertListQuerySchema,
  AlertListSchema,
  AlertRuleIdParamsSchema,
  AlertRuleListSchema,
  AlertRuleSchema,
  AlertRuleSpecSchema,
  AlertSchema,
  SilenceAlertBodySchema,
  parseAlertRuleSpec,
  parseSilenceAlertBody,
  redactAlertRule,
} from '@nono/domain';
import { type Static, Type } from '@sinclair/typebox';
import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { request as undiciRequest } from 'undici';
import { principalOf } from '../auth/authenticate.js';
import { roleAllows } from '../auth/roles.js';
import { ApiError, ApiErrorCode } from '../errors.js';
import { PROBLEM_CONTENT_TYPE } from '../problem-handlers.js';
import { parseBody } from '../request-validation.js';
import { NoContent, byHandler } from '../schemas.js';

/**
 * `/api/v1/alerts…`: the alerts service's rules and alerts, forwarded with the API's
 * authentication and roles (viewer reads, operator acknowledges and silences, admin changes
 * rules; below admin, a rule's channel URLs show only their origin and no signing secret, as
 * they are credentials) and the caller's identity (`nono-actor-id` / `nono-actor-kind`, which the alerts
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

const ETAG_HEADER = {
  ETag: { schema: { type: 'string', pattern: '^"[0-9]+"$' }, description: "the rule's revision" },
};
/** A rule as answered: an ETag header beside it (swagger reads `headers` from the response schema). */
const RuleResponse = { ...AlertRuleSchema, headers: ETAG_HEADER };
const IfMatch = Type.String({
  pattern: '^(\\*|(W/)?"[0-9]+")?$',
  description:
    'the revision the change is based on ("3", from the ETag); a different current revision is 412. Empty or * : no precondition',
});
const IfNoneMatch = Type.Literal('*', { description: 'create only: 409 if the rule exists' });
const RuleWriteHeaders = Type.Object(
  { 'if-match': Type.Optional(IfMatch), 'if-none-match': Type.Optional(IfNoneMatch) },
  { additionalProperties: true },
);
const RuleDeleteHeaders = Type.Object({ 'if-match': Type.Optional(IfMatch) }, { additionalProperties: true });
/** The body is checked in the handler: its shape, then what a shape cannot say (channel URLs). */
const RuleBody = byHandler(AlertRuleSpecSchema);
const SilenceBody = byHandler(SilenceAlertBodySchema);

/** Each error a route really answers, with why; every one is problem+json. */
const PROBLEMS = {
  400: 'a parameter, header or body field does not match the schema (`errors` names each)',
  401: 'no bearer token, or an unknown one',
  403: "the token's role is too weak for this route",
  404: 'no such alert or alert rule',
  409: 'the alert is not open, or (If-None-Match: *) the rule exists',
  412: 'If-Match names a revision that is not the current one',
  422: 'well-formed but impossible: a channel URL that is not http(s) or not allowed, a silence that ends in the past',
  429: 'over the rate limit',
  502: 'the alerts service did not answer, or failed',
} as const;
type ProblemStatus = keyof typeof PROBLEMS;
function problems(statuses: readonly ProblemStatus[]): Record<number, unknown> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: PROBLEMS[status],
        content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: 'Problem#' } } },
      },
    ]),
  );
}

export function registerAlertRoutes(app: FastifyInstance, upstream: AlertsUpstream): void {
  const tags = ['alerts'];

  app.get<{ Querystring: Static<typeof AlertListQuerySchema> }>(
    '/alerts',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'List alerts, newest first (open by default)',
        querystring: AlertListQuerySchema,
        response: { 200: AlertListSchema, ...problems([400, 401, 429, 502]) },
      },
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
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'List alert rules',
        response: { 200: AlertRuleListSchema, ...problems([401, 429, 502]) },
      },
    },
    (request, reply) =>
      relay(request, reply, upstream, 'GET', '/rules', undefined, (body) => {
        const list = body as Static<typeof AlertRuleListSchema>;
        return { ...list, rules: list.rules.map(redactAlertRule) };
      }),
  );
  app.get<{ Params: Static<typeof AlertRuleIdParamsSchema> }>(
    '/alerts/rules/:id',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'Read an alert rule (ETag: its revision)',
        params: AlertRuleIdParamsSchema,
        response: { 200: RuleResponse, ...problems([400, 401, 404, 429, 502]) },
      },
    },
    (request, reply) =>
      relay(
        request,
        reply,
        upstream,
        'GET',
        `/rules/${encodeURIComponent(request.params.id)}`,
        undefined,
        (body) => redactAlertRule(body as Static<typeof AlertRuleSchema>),
      ),
  );
  app.put<{ Params: Static<typeof AlertRuleIdParamsSchema> }>(
    '/alerts/rules/:id',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary:
          'Create (201) or replace (200) an alert rule (If-Match: the revision read; If-None-Match: * to create only)',
        params: AlertRuleIdParamsSchema,
        headers: RuleWriteHeaders,
        body: RuleBody,
        response: {
          200: RuleResponse,
          201: RuleResponse,
          ...problems([400, 401, 403, 409, 412, 422, 429, 502]),
        },
      },
    },
    (request, reply) => {
      const shaped = parseBody(AlertRuleSpecSchema, request.body);
      // The shape passed: what is still wrong (a channel URL) is a 422, as the alerts service says it.
      const spec = parseAlertRuleSpec(shaped);
      if (!spec.ok) throw new ApiError(ApiErrorCode.InvalidAlertRule, undefined, spec.issues);
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
  app.delete<{ Params: Static<typeof AlertRuleIdParamsSchema> }>(
    '/alerts/rules/:id',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Delete an alert rule (resolves its open alerts; If-Match: the revision read)',
        params: AlertRuleIdParamsSchema,
        headers: RuleDeleteHeaders,
        response: { 204: NoContent, ...problems([400, 401, 403, 404, 412, 429, 502]) },
      },
    },
    (request, reply) =>
      relay(request, reply, upstream, 'DELETE', `/rules/${encodeURIComponent(request.params.id)}`),
  );
  app.get<{ Params: Static<typeof AlertIdParamsSchema> }>(
    '/alerts/:id',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'Read an alert and its deliveries',
        params: AlertIdParamsSchema,
        response: { 200: AlertDetailSchema, ...problems([400, 401, 404, 429, 502]) },
      },
    },
    (request, reply) => relay(request, reply, upstream, 'GET', `/alerts/${request.params.id}`),
  );
  app.post<{ Params: Static<typeof AlertIdParamsSchema>; Body: Static<typeof AckAlertBodySchema> }>(
    '/alerts/:id/ack',
    {
      config: { minRole: 'operator' },
      schema: {
        tags,
        summary: 'Acknowledge an open alert (no more re-notifications)',
        params: AlertIdParamsSchema,
        body: AckAlertBodySchema,
        response: { 200: AlertSchema, ...problems([400, 401, 403, 404, 409, 429, 502]) },
      },
    },
    (request, reply) =>
      relay(request, reply, upstream, 'POST', `/alerts/${request.params.id}/ack`, request.body),
  );
  app.post<{ Params: Static<typeof AlertIdParamsSchema> }>(
    '/alerts/:id/silence',
    {
      config: { minRole: 'operator' },
      schema: {
        tags,
        summary: 'Silence an open alert for a window (exactly one of forMs and until)',
        params: AlertIdParamsSchema,
        body: SilenceBody,
        response: { 200: AlertSchema, ...problems([400, 401, 403, 404, 409, 422, 429, 502]) },
      },
    },
    (request, reply) => {
      const body = parseSilenceAlertBody(request.body);
      if (!body.ok) throw new ApiError(ApiErrorCode.InvalidInput, undefined, body.issues);
      return relay(request, reply, upstream, 'POST', `/alerts/${request.params.id}/silence`, body.value);
    },
  );
}

async function relay(
  request: FastifyRequest,
  reply: FastifyReply,
  upstream: AlertsUpstream,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  pathAndQuery: string,
  body?: unknown,
  redactForNonAdmins?: (answer: unknown) => unknown,
): Promise<FastifyReply> {
  const { actor, role } = principalOf(request);
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
  if (redactForNonAdmins !== undefined && answer.status === 200 && !roleAllows(role, 'admin'))
    return reply
      .code(200)
      .header('content-type', 'application/json')
      .send(redactForNonAdmins(JSON.parse(answer.body.toString('utf8'))));
  return reply
    .code(answer.status)
    .header('content-type', answer.contentType ?? 'application/json')
    .send(answer.body);
}
