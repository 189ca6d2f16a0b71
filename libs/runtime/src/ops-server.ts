import Fastify, { type FastifyInstance } from 'fastify';
import { documented } from './route-docs.js';
import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The operations endpoints every service has: /healthz (the process is alive),
 * /readyz (it can do its job: the check says why not) and /metrics (Prometheus).
 */
export interface Readiness {
  readonly ready: boolean;
  readonly detail: Record<string, unknown>;
}

export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function registerOpsRoutes(
  app: FastifyInstance,
  options: { registry: Registry; readiness: () => Readiness },
): void {
  // Documented as open (`security: []`): probes and scrapers carry no token. The response
  // schemas keep every property (additionalProperties), so they only document.
  const open = { tags: ['ops'], security: [] };
  const statusBody = {
    type: 'object',
    properties: { status: { type: 'string' } },
    additionalProperties: true,
  };
  app.get(
    '/healthz',
    {
      logLevel: 'warn',
      schema: documented({
        ...open,
        summary: 'The process is alive',
        response: { 200: statusBody },
      }),
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      logLevel: 'warn',
      schema: documented({
        ...open,
        summary: 'Whether the service can do its job (503 with the reason when not)',
        response: {
          200: { ...statusBody, description: 'ready' },
          503: { ...statusBody, description: 'not ready; the other fields say why' },
        },
      }),
    },
    async (_request, reply) => {
      const readiness = options.readiness();
      return reply
        .code(readiness.ready ? 200 : 503)
        .send({ status: readiness.ready ? 'ready' : 'not-ready', ...readiness.detail });
    },
  );
  app.get(
    '/metrics',
    {
      logLevel: 'warn',
      schema: documented({
        ...open,
        summary: 'Prometheus metrics',
        produces: ['text/plain'],
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      }),
    },
    async (_request, reply) =>
      reply.header('content-type', options.registry.contentType).send(await options.registry.metrics()),
  );
}

/** A bare Fastify server with only the ops routes, for services without an API of their own. */
export async function startOpsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  readiness: () => Readiness;
}): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  registerOpsRoutes(app, options);
  const url = await app.listen({ host: options.host, port: options.port });
  return { app, url };
}
