import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiError, ApiErrorCode } from '../errors.js';
import { ForwardedResponse } from '../schemas.js';
import { type RouteDeps } from './route-deps.js';

/**
 * Read-only views of history, forwarded 1:1 to the history service with the same query
 * string. The API adds authentication and a uniform error shape; history owns the data.
 */
const FORWARDED = [
  '/executions',
  '/executions/:id',
  '/tasks/:id/executions',
  '/reports/*',
  '/audit',
  '/schedulers/history',
] as const;

// Path segments go to another service: only plain characters, so no "..", no encoded slashes.
const SAFE_SEGMENT = /^[A-Za-z0-9._:-]{1,200}$/;

export function registerHistoryRoutes(app: FastifyInstance, deps: RouteDeps): void {
  for (const route of FORWARDED) {
    app.get(
      route,
      {
        config: { minRole: 'viewer' },
        schema: {
          tags: ['history'],
          summary: `Forwarded to history: GET ${route}`,
          response: { 200: ForwardedResponse },
        },
      },
      (request, reply) => forward(request, reply, deps, app.prefix),
    );
  }
}

async function forward(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: RouteDeps,
  prefix: string,
): Promise<FastifyReply> {
  const [path = '', query] = request.url.split('?', 2);
  const relative = path.startsWith(prefix) ? path.slice(prefix.length) : path;
  const segments = relative.split('/').filter((segment) => segment !== '');
  if (
    segments.length === 0 ||
    !segments.every((segment) => SAFE_SEGMENT.test(decodeURIComponentSafe(segment)) && !/^\.+$/.test(segment))
  ) {
    throw new ApiError(ApiErrorCode.NotFound, 'no such history resource');
  }
  const upstream = await deps.history.get(`/${segments.join('/')}${query === undefined ? '' : `?${query}`}`);
  if (upstream.status >= 500)
    throw new ApiError(ApiErrorCode.HistoryUnavailable, `the history service failed (${upstream.status})`);
  return reply
    .code(upstream.status)
    .header('content-type', upstream.contentType ?? 'application/json')
    .send(upstream.body);
}

function decodeURIComponentSafe(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}
