import { type Readiness, registerOpsRoutes } from '@nono/runtime';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { type Registry } from 'prom-client';
import { type HistoryQueries } from '../store/history-queries.js';
import { collectOpenApi } from './openapi.js';
import { registerProblemHandlers } from './problem.js';
import { type RebuildControl, registerAdminRoutes } from './routes/admin-routes.js';
import { registerAuditRoutes } from './routes/audit-routes.js';
import { registerExecutionRoutes } from './routes/execution-routes.js';
import { registerReportRoutes } from './routes/report-routes.js';

export interface HttpAppOptions {
  /** A fixed instance, or a getter read per request (the service's database can be swapped by a rebuild). */
  readonly queries: HistoryQueries | (() => HistoryQueries);
  /** Enables /admin/rebuild. */
  readonly rebuilder?: RebuildControl;
  /** SHA-256 of the bearer tokens /admin accepts; none refuses every /admin call. */
  readonly adminTokenHashes?: readonly Buffer[];
  readonly registry: Registry;
  readonly readiness: () => Readiness;
  readonly logger?: FastifyServerOptions['logger'];
  readonly version?: string;
}

/** The query API. Plugins in a fixed order: error handling, the OpenAPI collector, then routes. */
export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    // Closed schemas must reject unknown parameters, not strip them; report every bad field at once.
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: true } },
  });
  registerProblemHandlers(app);
  const openApi = collectOpenApi(app, { title: 'nono history', version: options.version ?? '0.1.0' });
  const fixed = options.queries;
  const queries = typeof fixed === 'function' ? fixed : () => fixed;
  registerExecutionRoutes(app, queries);
  registerReportRoutes(app, queries);
  registerAuditRoutes(app, queries);
  if (options.rebuilder !== undefined)
    registerAdminRoutes(app, options.rebuilder, options.adminTokenHashes ?? []);
  registerOpsRoutes(app, { registry: options.registry, readiness: options.readiness });
  app.get('/openapi.json', { logLevel: 'warn' }, (_request, reply) => reply.send(openApi()));
  return app;
}
