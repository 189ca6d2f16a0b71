import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { type Clock, TASK_ID_MAX_LENGTH, type TargetPolicy } from '@nono/domain';
import {
  type Logger,
  type Readiness,
  type createMetricsRegistry,
  methodNotAllowedRoutes,
  registerOpsRoutes,
} from '@nono/runtime';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { type ApiTokenDirectory } from './auth/api-tokens.js';
import { registerAuthentication } from './auth/authenticate.js';
import { type TokenEntry } from './auth/token-registry.js';
import { type ClusterView } from './cluster/cluster-view.js';
import { type WorkerGroupStore } from './groups/worker-group-store.js';
import { ApiError, ApiErrorCode } from './errors.js';
import { type HistoryReads } from './history/history-replicas.js';
import { registerJsonBodies } from './json-body.js';
import {
  PROBLEM_CONTENT_TYPE,
  frameworkErrors,
  registerProblemHandlers,
  sendProblem,
} from './problem-handlers.js';
import { typeboxValidatorCompiler } from './request-validation.js';
import { type AlertsUpstream, registerAlertRoutes } from './routes/alert-routes.js';
import { registerHistoryRoutes } from './routes/history-routes.js';
import { registerPreviewRoutes } from './routes/preview-routes.js';
import { registerCalendarRoutes } from './routes/calendar-routes.js';
import { type ZkCalendars } from './calendars/zk-calendars.js';
import { type RouteDeps } from './routes/route-deps.js';
import { registerSchedulerRoutes } from './routes/scheduler-routes.js';
import { registerStatusRoutes } from './routes/status-routes.js';
import { registerTaskActionRoutes } from './routes/task-action-routes.js';
import { registerBackfillRoutes } from './routes/backfill-routes.js';
import { type ZkBackfills } from './backfills/zk-backfills.js';
import { registerTaskRoutes } from './routes/task-routes.js';
import { registerTokenRoutes } from './routes/token-routes.js';
import { registerWebhookSecretRoutes } from './routes/webhook-secret-routes.js';
import { registerWhoamiRoutes } from './routes/whoami-routes.js';
import { registerWorkerGroupRoutes } from './routes/worker-group-routes.js';
import { ProblemSchema, TaskSchema, WorkerGroupDocumentSchema } from './schemas.js';
import { BackendStatus, type KafkaProbe } from './status/backend-status.js';
import { DEFAULT_UI_DIR, registerUi } from './ui.js';
import { type TaskStore } from './tasks/task-store.js';
import { type ZkWebhookSecrets } from './webhook-secrets/zk-webhook-secrets.js';

export const API_PREFIX = '/api/v1';

/** The ports and settings the app is built from; main.ts wires the real ones, tests their own. */
export interface AppDeps {
  readonly store: TaskStore;
  /** Worker groups and their dynamic members. */
  readonly groups: WorkerGroupStore;
  readonly cluster: ClusterView;
  /** The history replicas (one or more), read with failover. */
  readonly history: HistoryReads;
  /** The alerts service behind `/api/v1/alerts…`; without one those routes are not offered. */
  readonly alerts?: AlertsUpstream;
  readonly clock: Clock;
  /** The environment's tokens (NONO_API_TOKENS): the bootstrap. */
  readonly tokens: readonly TokenEntry[];
  /** Named tokens managed through `/api/v1/tokens`. */
  readonly apiTokens: ApiTokenDirectory;
  /** Backfills (`/api/v1/tasks/:id/backfills`). */
  readonly backfills: ZkBackfills;
  /** The longest backfill window without `allowLargeWindow` (default 7 days). */
  readonly maxBackfillWindowMs?: number;
  /** Exclusion calendars (`/api/v1/calendars`), which tasks reference by name. */
  readonly calendars: ZkCalendars;
  /** Webhook secrets per task or host; without one (no NONO_SECRETS_KEY) those routes are not offered. */
  readonly webhookSecrets?: ZkWebhookSecrets;
  readonly targetPolicy: TargetPolicy;
  readonly log: Logger;
  readonly metrics: ReturnType<typeof createMetricsRegistry>;
  readonly readiness: () => Readiness;
  /** Whether Kafka answers, for `GET /api/v1/status`; without one Kafka is reported as not probed. */
  readonly kafkaProbe?: KafkaProbe;
  readonly eventSource: string;
  readonly bodyLimitBytes?: number;
  readonly rateLimitPerMinute?: number;
  /** Proxies whose X-Forwarded-For names the client (NONO_API_TRUST_PROXY); none by default. */
  readonly trustProxy?: readonly string[];
  readonly version?: string;
  /** Directory of the web UI's static files; `false` to serve none. */
  readonly uiDir?: string | false;
}

/** Paths under which a bearer token could appear in a log line, if ever logged. */
const REDACTED = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'request.headers.authorization',
];

/**
 * Builds the HTTP app. Plugins load in a fixed order: error shape and validation first,
 * then the OpenAPI collector (it must see every route), ops routes, and the /api/v1
 * context with its rate limit and authentication, which apply to nothing outside it.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Typed as Fastify's logger so the app is a plain FastifyInstance for every plugin.
  const loggerInstance: FastifyBaseLogger = deps.log.child(
    {},
    { redact: { paths: REDACTED, censor: '[redacted]' } },
  );
  const app = Fastify({
    loggerInstance,
    bodyLimit: deps.bodyLimitBytes ?? 256 * 1024,
    // Request ids for log correlation; not security relevant.
    requestIdHeader: false,
    // Off unless proxies are named: otherwise any client could choose its own address.
    trustProxy: deps.trustProxy !== undefined && deps.trustProxy.length > 0 ? [...deps.trustProxy] : false,
    frameworkErrors,
    // Room for every id a route accepts (task ids, execution ids up to 200), even
    // percent-encoded, so a too-long id gets the schema's 400 naming the field instead of "URL is malformed".
    routerOptions: { maxParamLength: Math.max(TASK_ID_MAX_LENGTH, 200) * 3 },
  });
  app.setValidatorCompiler(typeboxValidatorCompiler);
  registerProblemHandlers(app);
  const sealMethods = methodNotAllowedRoutes(app, (request, reply, allowed) =>
    sendProblem(
      reply,
      new ApiError(
        ApiErrorCode.MethodNotAllowed,
        `${request.method} is not allowed here; allowed: ${allowed.join(', ')}`,
      ),
      request.url,
    ),
  );
  registerJsonBodies(app);

  await app.register(swagger, {
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) =>
        typeof json.$id === 'string' ? json.$id : `def-${index}`,
    },
    openapi: {
      info: {
        title: 'nono API',
        version: deps.version ?? '0.1.0',
        description: 'Define, inspect and operate scheduled tasks.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.addSchema(ProblemSchema);
  app.addSchema(TaskSchema);
  app.addSchema(WorkerGroupDocumentSchema);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  registerOpsRoutes(app, { registry: deps.metrics, readiness: deps.readiness });
  if (deps.uiDir !== false) await registerUi(app, deps.uiDir ?? DEFAULT_UI_DIR);

  const routeDeps: RouteDeps = {
    store: deps.store,
    cluster: deps.cluster,
    history: deps.history,
    clock: deps.clock,
    targetPolicy: deps.targetPolicy,
    calendars: deps.calendars,
    eventSource: deps.eventSource,
  };
  const backendStatus = new BackendStatus({
    readiness: deps.readiness,
    history: deps.history,
    clock: deps.clock,
    ...(deps.kafkaProbe === undefined ? {} : { kafka: deps.kafkaProbe }),
  });
  await app.register(
    async (api) => {
      await api.register(rateLimit, {
        max: deps.rateLimitPerMinute ?? 600,
        timeWindow: 60_000,
        errorResponseBuilder: (_request, context) =>
          new ApiError(
            ApiErrorCode.RateLimited,
            `at most ${context.max} requests per minute; retry in ${Math.ceil(context.ttl / 1000)} s`,
          ),
      });
      // Document the problem+json shape of every error response in OpenAPI (errors are
      // sent pre-serialised by the error handler, so this does not change what is sent).
      api.addHook('onRoute', (route) => {
        const problem = {
          description: 'RFC 9457 problem details',
          content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: 'Problem#' } } },
        };
        route.schema = {
          ...route.schema,
          response: { '4xx': problem, '5xx': problem, ...(route.schema?.response as object | undefined) },
        };
      });
      registerAuthentication(api, { environment: deps.tokens, named: deps.apiTokens, clock: deps.clock });
      registerTaskRoutes(api, routeDeps);
      registerTaskActionRoutes(api, routeDeps);
      registerBackfillRoutes(api, {
        ...routeDeps,
        backfills: deps.backfills,
        ...(deps.maxBackfillWindowMs === undefined ? {} : { maxBackfillWindowMs: deps.maxBackfillWindowMs }),
      });
      registerPreviewRoutes(api, routeDeps);
      registerCalendarRoutes(api, routeDeps);
      registerSchedulerRoutes(api, routeDeps);
      registerHistoryRoutes(api, routeDeps);
      if (deps.alerts !== undefined) registerAlertRoutes(api, deps.alerts);
      registerStatusRoutes(api, backendStatus);
      registerTokenRoutes(api, { tokens: deps.apiTokens, clock: deps.clock });
      if (deps.webhookSecrets !== undefined)
        registerWebhookSecretRoutes(api, { secrets: deps.webhookSecrets, clock: deps.clock });
      registerWhoamiRoutes(api);
      registerWorkerGroupRoutes(api, {
        groups: deps.groups,
        clock: deps.clock,
        targetPolicy: deps.targetPolicy,
        eventSource: deps.eventSource,
      });
    },
    { prefix: API_PREFIX },
  );
  sealMethods();
  return app;
}
