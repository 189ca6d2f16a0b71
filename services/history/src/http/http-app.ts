import { type Readiness, registerOpsRoutes } from '@nono/runtime';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { type Registry } from 'prom-client';
import { SystemClock } from '@nono/domain';
import { type HistoryQueries } from '../store/history-queries.js';
import { collectOpenApi } from './openapi.js';
import { registerProblemHandlers } from './problem.js';
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
  readonly registry: Registry;
  readonly readiness: () => Readiness;
  readonly logger?: FastifyServerOptions['logger'];
  /** `GET /tasks/:id/ledger`: its clock and rules (DEFAULT_LEDGER_OPTIONS' rules on the system clock when absent). */
  readonly ledger?: LedgerOptions;
  readonly version?: string;
}

/** The ledger's rules when the configuration gives none (see config.ts for what each covers). */
export const DEFAULT_LEDGER = {
  rules: { pendingMs: 15_000, transitionMs: 2_000, maxInstants: 20_000 },
  maxWindowMs: 7 * 24 * 3_600_000,
} as const;

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
  registerLedgerRoutes(app, queries, options.ledger ?? { clock: new SystemClock(), ...DEFAULT_LEDGER });
  if (options.rebuilder !== undefined)
    registerAdminRoutes(app, options.rebuilder, options.adminTokenHashes ?? []);
  registerOpsRoutes(app, { registry: options.registry, readiness: options.readiness });
  app.get('/openapi.json', { logLevel: 'warn' }, (_request, reply) => reply.send(openApi()));
  return app;
}
