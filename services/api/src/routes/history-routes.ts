import {
  AuditQuery,
  EmptyQuery,
  DailyReportQuery,
  ExecutionParams,
  ExecutionsQuery,
  GroupParams,
  GroupReportQuery,
  LedgerQuery,
  SchedulerHistoryQuery,
  TaskExecutionsQuery,
  TaskReportQuery,
} from '@nono/domain';
import { type TSchema } from '@sinclair/typebox';
import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { principalOf } from '../auth/authenticate.js';
import { ApiError, ApiErrorCode } from '../errors.js';
import { ForwardedResponse, TaskIdParams } from '../schemas.js';
import { type RouteDeps } from './route-deps.js';

/**
 * Read-only views of history. Each route names the one history path it reads, and that
 * path is built here from parameters the route already validated, each percent-encoded:
 * nothing the client wrote in the path is passed on, so `%2e%2e` and friends cannot walk to
 * another history route (`/metrics`, `/admin`). The query string goes on as written when it
 * holds only URL query characters; history validates its parameters. The API adds authentication and a uniform error
 * shape; history owns the data and checks the API's own token.
 */
const FORWARDED: readonly {
  readonly route: string;
  readonly params?: TSchema;
  /** History's own query schema (libs/domain): the API checks with it too and documents it. */
  readonly querystring: TSchema;
  readonly upstream: (params: Record<string, string>) => string;
}[] = [
  { route: '/executions', querystring: ExecutionsQuery, upstream: () => '/executions' },
  {
    route: '/executions/:id',
    params: ExecutionParams,
    querystring: EmptyQuery,
    upstream: ({ id = '' }) => `/executions/${encodeURIComponent(id)}`,
  },
  {
    route: '/tasks/:id/executions',
    params: TaskIdParams,
    querystring: TaskExecutionsQuery,
    upstream: ({ id = '' }) => `/tasks/${encodeURIComponent(id)}/executions`,
  },
  {
    // A task's ledger over [from, to): every due instant next to what happened to it.
    route: '/tasks/:id/ledger',
    params: TaskIdParams,
    querystring: LedgerQuery,
    upstream: ({ id = '' }) => `/tasks/${encodeURIComponent(id)}/ledger`,
  },
  {
    route: '/reports/tasks/:id',
    params: TaskIdParams,
    querystring: TaskReportQuery,
    upstream: ({ id = '' }) => `/reports/tasks/${encodeURIComponent(id)}`,
  },
  {
    // A worker group's attempts per member (history's per-member report).
    route: '/reports/groups/:group',
    params: GroupParams,
    querystring: GroupReportQuery,
    upstream: ({ group = '' }) => `/reports/groups/${encodeURIComponent(group)}`,
  },
  { route: '/reports/daily', querystring: DailyReportQuery, upstream: () => '/reports/daily' },
  { route: '/audit', querystring: AuditQuery, upstream: () => '/audit' },
  {
    route: '/schedulers/history',
    querystring: SchedulerHistoryQuery,
    upstream: () => '/schedulers/history',
  },
];

export function registerHistoryRoutes(app: FastifyInstance, deps: RouteDeps): void {
  for (const { route, params, querystring, upstream } of FORWARDED) {
    app.get<{ Params: Record<string, string> }>(
      route,
      {
        config: { minRole: 'viewer' },
        schema: {
          tags: ['history'],
          summary: `Forwarded to history: GET ${route}`,
          ...(params === undefined ? {} : { params }),
          querystring,
          response: { 200: ForwardedResponse },
        },
      },
      (request, reply) => forward(request, reply, deps, upstream(request.params)),
    );
  }
}

/** RFC 3986 query characters (percent-escapes included): nothing that could end the query or the request. */
const QUERY_CHARACTERS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;

async function forward(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: RouteDeps,
  path: string,
): Promise<FastifyReply> {
  const query = request.url.split('?', 2)[1] ?? '';
  if (!QUERY_CHARACTERS.test(query))
    throw new ApiError(ApiErrorCode.BadRequest, 'the query string has characters a URL query may not carry');
  const upstream = await deps.history.get(`${path}${query === '' ? '' : `?${query}`}`, {
    actor: principalOf(request).actor.id,
  });
  if (upstream.status === 401 || upstream.status === 403) {
    request.log.error({ status: upstream.status }, 'history refused the API: check NONO_HISTORY_READ_TOKEN');
    throw new ApiError(ApiErrorCode.HistoryUnavailable, 'the history service refused the API');
  }
  if (upstream.status >= 500)
    throw new ApiError(ApiErrorCode.HistoryUnavailable, `the history service failed (${upstream.status})`);
  if (upstream.replica !== undefined) reply.header('nono-history-replica', String(upstream.replica));
  return reply
    .code(upstream.status)
    .header('content-type', upstream.contentType ?? 'application/json')
    .send(upstream.body);
}
