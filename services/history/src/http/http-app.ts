import { SystemClock, TASK_ID_MAX_LENGTH } from '@nono/domain';
import { type Readiness, methodNotAllowedRoutes, registerOpsRoutes } from '@nono/runtime';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { type Registry } from 'prom-client';
import { type HistoryQueries } from '../store/history-queries.js';
import { requireBearer } from './admin-auth.js';
import { collectOpenApi } from './openapi.js';
import { ProblemType, registerProblemHandlers, sendProblem } from './problem.js';
import { type RebuildControl, registerAdminRoutes } from './routes/admin-routes.js';
import { registerAuditRoutes } from './routes/audit-routes.js';
import { registerExecutionRoutes } from './routes/execution-routes.js';
import { type LedgerOptions, registerLedgerRoutes } from './routes/ledger-routes.js';
import { registerReportRoutes } from './routes/report-routes.js';

export interface HttpAppOptions {
  /** A fixed instance, or a getter read per request (the service's database can be swapped by a rebuild). */
  readonly queries: HistoryQueries | (() => HistoryQueries);
  /** Enables /admin/rebuild. */
  readonly rebuilder?: RebuildControl;
  /** SHA-256 of the bearer tokens /admin accepts; none refuses every /admin call. */
  readonly adminTokenHashes?: readonly Buffer[];
  /**
   * SHA-256 of the bearer tokens the query routes accept (the API's NONO_HISTORY_READ_TOKEN);
   * admin tokens are accepted there too. None and no admin token: every query is refused.
   */
  readonly readTokenHashes?: readonly Buffer[];
  readonly registry: Registry;
  readonly readiness: () => Readiness;
  readonly logger?: FastifyServerOptions['logger'];
  /** `GET /tasks/:id/ledger`: its clock and rules (DEFAULT_LEDGER_OPTIONS' rules on the system clock when absent). */
  readonly ledger?: LedgerOptions;
  readonly version?: string;
}

/** Probes and the document: unauthenticated, for monitoring (expose them to that network only). */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

/** The ledger's rules when the configuration gives none (see config.ts for what each covers). */
export const DEFAULT_LEDGER = {
  rules: { pendingMs: 15_000, transitionMs: 2_000, maxInstants: 20_000 },
  maxWindowMs: 7 * 24 * 3_600_000,
} as const;

/**
 * The query API. Plugins in a fixed order: error handling, authentication, the OpenAPI
 * collector, then routes. Every route needs a bearer token except OPEN_ROUTES (and /admin,
 * which checks its own, stronger one): a route added later is closed unless listed.
 */
export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    // Closed schemas must reject unknown parameters, not strip them; report every bad field at once.
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: true } },
    // Room for every id a route accepts (task ids, execution ids up to 200), even
    // percent-encoded, so a too-long id gets the schema's 400 naming it, not "URL is malformed".
    routerOptions: { maxParamLength: Math.max(TASK_ID_MAX_LENGTH, 200) * 3 },
  });
  registerProblemHandlers(app);
  const sealMethods = methodNotAllowedRoutes(app, (request, reply, allowed) =>
    sendProblem(
      reply,
      ProblemType.MethodNotAllowed,
      `${request.method} is not allowed here; allowed: ${allowed.join(', ')}`,
      [],
      request.url,
    ),
  );
  const readers = requireBearer(
    [...(options.readTokenHashes ?? []), ...(options.adminTokenHashes ?? [])],
    'nono-history',
    'queries are disabled: no NONO_HISTORY_READ_TOKENS configured',
  );
  app.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    // No route: the not-found handler answers 404 and reveals nothing.
    if (route === undefined || OPEN_ROUTES.has(route) || route.startsWith('/admin/')) {
      done();
      return;
    }
    // Who the API asks for: its caller, as the API names it (believed only with a valid token).
    const actor = request.headers['nono-actor'];
    if (typeof actor === 'string') request.log = request.log.child({ actor: actor.slice(0, 100) });
    readers(request, reply, done);
  });
  const openApi = collectOpenApi(app, { title: 'nono history', version: options.version ?? '0.1.0' });
  const fixed = options.queries;
  const queries = typeof fixed === 'function' ? fixed : () => fixed;
  registerExecutionRoutes(app, queries);
  registerReportRoutes(app, queries);
  registerAuditRoutes(app, queries);
  registerLedgerRoutes(app, queries, options.ledger ?? { clock: new SystemClock(), ...DEFAULT_LEDGER });
  if (options.rebuilder !== undefined)
    registerAdminRoutes(app, options.rebuilder, options.adminTokenHashes ?? []);
  registerOpsRoutes(app, { registry: options.registry, readiness: options.readiness });
  app.get('/openapi.json', { logLevel: 'warn' }, (_request, reply) => reply.send(openApi()));
  sealMethods();
  return app;
}
