import Fastify, { type FastifyInstance } from 'fastify';
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
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const readiness = options.readiness();
    return reply
      .code(readiness.ready ? 200 : 503)
      .send({ status: readiness.ready ? 'ready' : 'not-ready', ...readiness.detail });
  });
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) =>
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
