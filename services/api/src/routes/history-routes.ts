import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type Static } from '@sinclair/typebox';
import { ApiError, ApiErrorCode } from '../errors.js';
import { ForwardedResponse, LedgerQuery, TaskIdParams } from '../schemas.js';
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
  // The ledger's upstream path is built from the validated task id and window alone.
  app.get<{ Params: Static<typeof TaskIdParams>; Querystring: LedgerQuery }>(
    '/tasks/:id/ledger',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags: ['history'],
        summary:
          "Forwarded to history: a task's ledger over [from, to) (every due instant next to what happened to it)",
        params: TaskIdParams,
        querystring: LedgerQuery,
        response: { 200: ForwardedResponse },
      },
    },
    (request, reply) => {
      const window = new URLSearchParams({ from: request.query.from, to: request.query.to });
      return relay(
        reply,
        deps,
        `/tasks/${encodeURIComponent(request.params.id)}/ledger?${window.toString()}`,
      );
    },
  );
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
  return relay(reply, deps, `/${segments.join('/')}${query === undefined ? '' : `?${query}`}`);
}

async function relay(reply: FastifyReply, deps: RouteDeps, pathAndQuery: string): Promise<FastifyReply> {
  const upstream = await deps.history.get(pathAndQuery);
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
