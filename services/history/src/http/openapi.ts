import { type FastifyInstance, type RouteOptions } from 'fastify';

declare module 'fastify' {
  /** Documentation members of a route schema, read by the OpenAPI collector (as @fastify/swagger does). */
  interface FastifySchema {
    summary?: string;
    tags?: readonly string[];
    /** `[]` for a route that needs no token; absent: the bearer token is required (401 otherwise). */
    security?: readonly Record<string, readonly string[]>[];
    /** Left out of the document (the 405 routes). */
    hide?: boolean;
    /** Answers besides 200, 400 and 401, with what they mean: `{ 404: 'no such execution' }`. */
    problems?: Readonly<Record<number, string>>;
    /** The success status when it is not 200 (202 for a started rebuild). */
    success?: number;
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
    if (route.schema === undefined || route.schema.hide === true) return;
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
      const open = Array.isArray(route.schema['security']) && route.schema['security'].length === 0;
      const problems: Record<number, string> = {
        ...(parameters.length > 0 ? { 400: 'Invalid parameters' } : {}),
        ...(route.schema['querystring'] === undefined
          ? {}
          : {
              422: 'Well-formed but impossible: a date that does not exist, a range that ends before it starts, a cursor this service did not issue',
            }),
        ...(open ? {} : { 401: 'A bearer token is required (see securitySchemes)' }),
        ...(route.schema['problems'] as Record<number, string> | undefined),
      };
      const success = (route.schema['success'] as number | undefined) ?? 200;
      const csv =
        (route.schema['querystring'] as ParameterSchema | undefined)?.properties?.['format'] !== undefined;
      paths[path] = {
        ...paths[path],
        [route.method]: {
          summary: route.schema['summary'],
          tags: route.schema['tags'],
          ...(open ? { security: [] } : {}),
          parameters,
          responses: {
            ...successResponses(route.schema['response'], success, csv),
            ...Object.fromEntries(
              Object.entries(problems).map(([status, description]) => [
                status,
                {
                  description,
                  content: {
                    'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
                  },
                },
              ]),
            ),
          },
        },
      };
    }
    return {
      openapi: '3.1.0',
      info,
      paths,
      security: [{ bearer: [] }],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'A token from NONO_HISTORY_READ_TOKENS (queries) or NONO_HISTORY_ADMIN_TOKENS (also /admin)',
          },
        },
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

/**
 * The documented answers other than problems: each response schema the route declares (it is
 * also what serialises them), or a bare `success` when it declares none.
 */
function successResponses(response: unknown, success: number, csv: boolean): Record<string, unknown> {
  const declared = Object.entries((response as Record<string, Record<string, unknown>> | undefined) ?? {});
  // Lists answer CSV for format=csv (or Accept: text/csv), sent as text by sendPage.
  const csvContent = csv ? { 'text/csv': { schema: { type: 'string' } } } : {};
  if (declared.length === 0)
    return {
      [success]: { description: 'OK', content: { 'application/json': { schema: {} }, ...csvContent } },
    };
  return Object.fromEntries(
    declared.map(([status, schema]) => {
      const { description = 'OK', content, ...rest } = schema;
      return [
        status,
        content === undefined
          ? { description, content: { 'application/json': { schema: rest }, ...csvContent } }
          : { description, content },
      ];
    }),
  );
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
