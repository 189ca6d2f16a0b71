import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { documented } from './route-docs.js';

/**
 * 405 Method Not Allowed, with `Allow`, for a method a path does not serve (Fastify alone
 * answers 404, as if the path did not exist). Call the returned function once every route
 * is registered: it adds, for each path, one route taking the methods it lacks, answered
 * in `onRequest`, before any body is read. Wildcard paths are left alone (a static file
 * tree would turn every unknown POST into a 405), and so are undocumented ones (`hide`:
 * the OpenAPI UI's own routes, which register each path twice, with and without a slash).
 */
export function methodNotAllowedRoutes(
  app: FastifyInstance,
  send: (request: FastifyRequest, reply: FastifyReply, allowed: readonly string[]) => FastifyReply,
): () => void {
  const served = new Map<string, Set<string>>();
  let sealed = false;
  app.addHook('onRoute', (route) => {
    if (sealed || route.url.includes('*') || (route.schema as { hide?: boolean } | undefined)?.hide === true)
      return;
    const methods = served.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method.toUpperCase());
    served.set(route.url, methods);
  });
  return () => {
    sealed = true;
    for (const [url, own] of served) {
      if (own.has('GET')) own.add('HEAD');
      const allowed = [...own].sort();
      const missing = app.supportedMethods.filter((method) => !own.has(method));
      if (missing.length === 0) continue;
      app.route({
        method: missing,
        url,
        schema: documented({ hide: true }),
        onRequest: async (request, reply) =>
          send(request, reply.header('allow', allowed.join(', ')), allowed),
        handler: (_request, reply) => reply,
      });
    }
  };
}
