import { type Readiness, registerOpsRoutes } from '@nono/runtime';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { type Registry } from 'prom-client';
import { type HistoryQueries } from '../store/history-queries.js';
import { collectOpenApi } from './openapi.js';
import { registerProblemHandlers } from './problem.js';
import { registerAuditRoutes } from './routes/audit-routes.js';
import { registerExecutionRoutes } from './routes/execution-routes.js';
import { registerReportRoutes } from './routes/report-routes.js';

export interface HttpAppOptions {
  readonly queries: HistoryQueries;
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
  registerExecutionRoutes(app, options.queries);
  registerReportRoutes(app, options.queries);
  registerAuditRoutes(app, options.queries);
  registerOpsRoutes(app, { registry: options.registry, readiness: options.readiness });
  app.get('/openapi.json', { logLevel: 'warn' }, (_request, reply) => reply.send(openApi()));
  return app;
}
