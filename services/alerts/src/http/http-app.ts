import { type Actor, type Clock, parseAlertRuleSpec, parseInstant } from '@nono/domain';
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
const AlertsQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved'), Type.Literal('all')])),
    taskId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    ruleId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
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
    note: Type.String({ maxLength: 2000, default: '' }),
  },
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
      const rule = engine.putRule(request.params.id, spec.value, expected, clock.now());
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
      engine.deleteRule(request.params.id, expected ?? undefined, clock.now());
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: Static<typeof AlertsQuery> }>(
    '/alerts',
    { schema: { querystring: AlertsQuery } },
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
    async (request) => {
      const row = store.findAlert(request.params.id);
      if (row === undefined)
        throw new AlertsError(AlertsErrorCode.AlertNotFound, `no alert ${request.params.id}`);
      return {
        ...alertView(row),
        deliveries: store.notificationsOf(row.id).map((n) => ({
          idempotencyKey: n.idempotencyKey,
          channel: (JSON.parse(n.channel) as { kind: string }).kind,
          state: n.state,
          attempts: n.attempts,
          lastError: n.lastError,
          sentAt: n.sentAt === null ? null : new Date(n.sentAt).toISOString(),
        })),
      };
    },
  );
  app.post<{ Params: Static<typeof AlertIdParams>; Body: Static<typeof AckBody> }>(
    '/alerts/:id/ack',
    { schema: { params: AlertIdParams, body: AckBody } },
    async (request) =>
      engine.acknowledge(request.params.id, actorOf(request), request.body.note, clock.now()),
  );
  app.post<{ Params: Static<typeof AlertIdParams>; Body: Static<typeof SilenceBody> }>(
    '/alerts/:id/silence',
    { schema: { params: AlertIdParams, body: SilenceBody } },
    async (request) => {
      const now = clock.now();
      const { forMs, until, note } = request.body;
      if ((forMs === undefined) === (until === undefined))
        throw new AlertsError(AlertsErrorCode.InvalidInput, 'give exactly one of forMs and until', [
          { field: 'forMs', message: 'give exactly one of forMs and until' },
        ]);
      const end = forMs !== undefined ? now + forMs : parseInstant(until ?? '');
      if (end === undefined || end <= now)
        throw new AlertsError(AlertsErrorCode.InvalidInput, 'until must be a future RFC 3339 instant', [
          { field: 'until', message: 'must be a future RFC 3339 instant' },
        ]);
      return engine.silence(request.params.id, actorOf(request), end, note, now);
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
  const ifMatch = request.headers['if-match'];
  if (typeof ifMatch === 'string' && ifMatch.trim() !== '*') {
    const match = /^(?:W\/)?"(\d+)"$/.exec(ifMatch.trim());
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
