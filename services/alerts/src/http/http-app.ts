import {
  AckAlertBodySchema,
  type Actor,
  type AlertChannel,
  type AlertDetail,
  AlertListQuerySchema,
  type Clock,
  formatInstant,
  parseAlertRuleSpec,
  parseInstant,
  parseSilenceAlertBody,
} from '@nono/domain';
import { type Readiness, registerOpsRoutes } from '@nono/runtime';
import { type Static, Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type Registry } from 'prom-client';
import { AlertsError, AlertsErrorCode } from '../rules/alert-errors.js';
import { type AlertEngine } from '../rules/alert-engine.js';
import { alertView } from '../rules/alert-view.js';
import { type AlertStore } from '../store/alert-store.js';
import { registerProblemHandlers } from './problem.js';

export interface HttpAppOptions {
  readonly store: AlertStore;
  readonly engine: AlertEngine;
  readonly clock: Clock;
  /** Why a channel URL is refused (the deployment's host allow-list), or undefined. */
  readonly checkChannelUrl: (url: string) => string | undefined;
  readonly registry: Registry;
  readonly readiness: () => Readiness;
}

const RuleIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
const AlertIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

/**
 * The alerts API: rules (CRUD with ETag / If-Match, the ETag being the rule's revision),
 * alerts (list, read, acknowledge, silence), and the ops routes. It trusts the caller: it
 * listens on a private address and the nono API in front of it authenticates and
 * authorises, passing the actor in `nono-actor-id` / `nono-actor-kind`.
 */
export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const { store, engine, clock } = options;
  const app = Fastify({
    logger: false,
    ajv: {
      customOptions: { removeAdditional: false, allErrors: true, coerceTypes: true, useDefaults: true },
    },
  });
  registerProblemHandlers(app);

  app.get('/rules', async () => ({ rules: store.listRules().map((stored) => stored.rule) }));
  app.get<{ Params: Static<typeof RuleIdParams> }>(
    '/rules/:id',
    { schema: { params: RuleIdParams } },
    async (request, reply) => {
      const stored = store.findRule(request.params.id);
      if (stored === undefined)
        throw new AlertsError(AlertsErrorCode.RuleNotFound, `no rule ${request.params.id}`);
      return reply.header('etag', etagOf(stored.rule.revision)).send(stored.rule);
    },
  );
  app.put<{ Params: Static<typeof RuleIdParams> }>(
    '/rules/:id',
    { schema: { params: RuleIdParams } },
    async (request, reply) => {
      const spec = parseAlertRuleSpec(request.body, options.checkChannelUrl);
      if (!spec.ok)
        throw new AlertsError(AlertsErrorCode.InvalidRule, 'the alert rule is not valid', spec.issues);
      const expected = expectedRevision(request);
      const rule = engine.putRule(request.params.id, spec.value, expected, clock.now(), actorOf(request));
      return reply
        .code(rule.revision === 1 ? 201 : 200)
        .header('etag', etagOf(rule.revision))
        .send(rule);
    },
  );
  app.delete<{ Params: Static<typeof RuleIdParams> }>(
    '/rules/:id',
    { schema: { params: RuleIdParams } },
    async (request, reply) => {
      const expected = expectedRevision(request);
      engine.deleteRule(request.params.id, expected ?? undefined, clock.now(), actorOf(request));
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: Static<typeof AlertListQuerySchema> }>(
    '/alerts',
    { schema: { querystring: AlertListQuerySchema } },
    async (request) => {
      const { state = 'open', taskId, ruleId, limit = 100 } = request.query;
      const rows = store.listAlerts({
        ...(state === 'all' ? {} : { state }),
        ...(taskId === undefined ? {} : { taskId }),
        ...(ruleId === undefined ? {} : { ruleId }),
        limit,
      });
      return { alerts: rows.map(alertView) };
    },
  );
  app.get<{ Params: Static<typeof AlertIdParams> }>(
    '/alerts/:id',
    { schema: { params: AlertIdParams } },
    async (request): Promise<AlertDetail> => {
      const row = store.findAlert(request.params.id);
      if (row === undefined)
        throw new AlertsError(AlertsErrorCode.AlertNotFound, `no alert ${request.params.id}`);
      return {
        ...alertView(row),
        deliveries: store.notificationsOf(row.id).map((n) => ({
          idempotencyKey: n.idempotencyKey,
          channel: (JSON.parse(n.channel) as AlertChannel).kind,
          state: n.state,
          attempts: n.attempts,
          lastError: n.lastError,
          sentAt: n.sentAt === null ? null : formatInstant(n.sentAt),
        })),
      };
    },
  );
  app.post<{ Params: Static<typeof AlertIdParams>; Body: Static<typeof AckAlertBodySchema> }>(
    '/alerts/:id/ack',
    { schema: { params: AlertIdParams, body: AckAlertBodySchema } },
    async (request) =>
      engine.acknowledge(request.params.id, actorOf(request), request.body.note, clock.now()),
  );
  app.post<{ Params: Static<typeof AlertIdParams> }>(
    '/alerts/:id/silence',
    { schema: { params: AlertIdParams } },
    async (request) => {
      const now = clock.now();
      const body = parseSilenceAlertBody(request.body);
      if (!body.ok)
        throw new AlertsError(AlertsErrorCode.InvalidInput, 'the silence request is not valid', body.issues);
      const end = 'forMs' in body.value ? now + body.value.forMs : parseInstant(body.value.until);
      // Well-formed but impossible (a past instant, February 30): what no schema can rule out.
      if (end === undefined || end <= now)
        throw new AlertsError(AlertsErrorCode.InvalidSilence, 'until must be a future RFC 3339 instant', [
          { field: 'until', message: 'must be a future RFC 3339 instant' },
        ]);
      return engine.silence(request.params.id, actorOf(request), end, body.value.note, now);
    },
  );

  registerOpsRoutes(app, { registry: options.registry, readiness: options.readiness });
  return app;
}

export function etagOf(revision: number): string {
  return `"${revision}"`;
}

/** If-Match "<rev>" → that revision; If-None-Match * → null (create only); neither → undefined. */
function expectedRevision(request: FastifyRequest): number | null | undefined {
  const ifMatch = request.headers['if-match']?.trim();
  // An empty If-Match is an empty list of entity tags (RFC 9110 allows it): no precondition, like `*`.
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== '') {
    const match = /^(?:W\/)?"(\d+)"$/.exec(ifMatch);
    if (match === null)
      throw new AlertsError(AlertsErrorCode.InvalidInput, 'If-Match must be an ETag like "3"', [
        { field: 'If-Match', message: 'must be an ETag like "3"' },
      ]);
    return Number(match[1]);
  }
  return request.headers['if-none-match'] === '*' ? null : undefined;
}

function actorOf(request: FastifyRequest): Actor {
  const id = request.headers['nono-actor-id'];
  const kind = request.headers['nono-actor-kind'];
  return {
    id: typeof id === 'string' && id !== '' ? id.slice(0, 200) : 'unknown',
    kind: kind === 'user' || kind === 'token' ? kind : 'system',
  };
}
