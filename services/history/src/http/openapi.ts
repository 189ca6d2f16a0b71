import { type FastifyInstance, type RouteOptions } from 'fastify';

declare module 'fastify' {
  /** Documentation members of a route schema, read by the OpenAPI collector (as @fastify/swagger does). */
  interface FastifySchema {
    summary?: string;
    tags?: readonly string[];
  }
}

interface DocumentedRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: Record<string, unknown>;
}

interface ParameterSchema {
  readonly properties?: Record<string, { readonly description?: string }>;
  readonly required?: readonly string[];
}

/**
 * An OpenAPI 3.1 document assembled from the routes' own TypeBox schemas (collected by
 * an onRoute hook, so it cannot drift from what is validated). Hand-built instead of
 * @fastify/swagger to keep this service's dependencies to what it already had.
 */
export function collectOpenApi(
  app: FastifyInstance,
  info: { title: string; version: string },
): () => Record<string, unknown> {
  const routes: DocumentedRoute[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.schema === undefined) return;
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD')
        routes.push({
          method: method.toLowerCase(),
          url: route.url,
          schema: route.schema as Record<string, unknown>,
        });
    }
  });
  return () => {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const route of routes) {
      const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const parameters = [
        ...parametersOf(route.schema['params'], 'path'),
        ...parametersOf(route.schema['querystring'], 'query'),
      ];
      paths[path] = {
        ...paths[path],
        [route.method]: {
          summary: route.schema['summary'],
          tags: route.schema['tags'],
          parameters,
          responses: {
            '200': okResponse(route.schema['response']),
            '400': {
              description: 'Invalid parameters',
              content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
            },
          },
        },
      };
    }
    return {
      openapi: '3.1.0',
      info,
      paths,
      components: {
        schemas: {
          Problem: {
            type: 'object',
            description: 'RFC 9457 problem details',
            properties: {
              type: { type: 'string' },
              title: { type: 'string' },
              status: { type: 'integer' },
              detail: { type: 'string' },
              code: { type: 'string' },
              errors: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { field: { type: 'string' }, message: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    };
  };
}

/** The documented 200 answer: its JSON schema when the route declares one (and is serialised by it). */
function okResponse(response: unknown): Record<string, unknown> {
  const schema = (response as Record<string, unknown> | undefined)?.['200'];
  return schema === undefined
    ? { description: 'OK' }
    : { description: 'OK', content: { 'application/json': { schema } } };
}

function parametersOf(schema: unknown, where: 'path' | 'query'): Record<string, unknown>[] {
  const object = schema as ParameterSchema | undefined;
  if (object?.properties === undefined) return [];
  return Object.entries(object.properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (object.required ?? []).includes(name),
    description: property.description,
    schema: property,
  }));
}
