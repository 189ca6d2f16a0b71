import { type FieldIssue } from '@nono/domain';
import { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';

/**
 * RFC 9457 problem details. Every error leaves as application/problem+json with a stable
 * `code`; a 5xx never carries the internal message (it is logged instead).
 */
export const ProblemType = {
  InvalidQuery: { code: 'NONO_HISTORY_INVALID_QUERY', status: 400, title: 'Invalid query parameters' },
  /** Well-formed by the schema but impossible: no pattern can say February has no 30th. */
  ImpossibleQuery: {
    code: 'NONO_HISTORY_IMPOSSIBLE_QUERY',
    status: 422,
    title: 'The query parameters are well-formed but cannot be answered',
  },
  NotFound: { code: 'NONO_HISTORY_NOT_FOUND', status: 404, title: 'Not found' },
  MethodNotAllowed: { code: 'NONO_HISTORY_METHOD_NOT_ALLOWED', status: 405, title: 'Method not allowed' },
  Unauthorized: {
    code: 'NONO_HISTORY_UNAUTHORIZED',
    status: 401,
    title: 'A valid bearer token is required',
  },
  BadRequest: { code: 'NONO_HISTORY_BAD_REQUEST', status: 400, title: 'Bad request' },
  RebuildInProgress: {
    code: 'NONO_HISTORY_REBUILD_IN_PROGRESS',
    status: 409,
    title: 'A rebuild is already running',
  },
  Internal: { code: 'NONO_HISTORY_INTERNAL', status: 500, title: 'Internal error' },
} as const;
export interface ProblemType {
  readonly code: string;
  readonly status: number;
  readonly title: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export class ProblemError extends Error {
  readonly problem: ProblemType;
  readonly errors: readonly FieldIssue[];

  constructor(problem: ProblemType, detail: string, errors: readonly FieldIssue[] = []) {
    super(detail);
    this.name = 'ProblemError';
    this.problem = problem;
    this.errors = errors;
  }
}

/** A query the schema accepts but that names something impossible (422). */
export function impossibleQuery(errors: readonly FieldIssue[]): ProblemError {
  return new ProblemError(
    ProblemType.ImpossibleQuery,
    errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    errors,
  );
}

export function sendProblem(
  reply: FastifyReply,
  problem: ProblemType,
  detail: string,
  errors: readonly FieldIssue[],
  instance: string,
): FastifyReply {
  const body = {
    type: `https://nono.dev/problems/${problem.code.toLowerCase().replaceAll('_', '-')}`,
    title: problem.title,
    status: problem.status,
    detail,
    instance,
    code: problem.code,
    ...(errors.length > 0 ? { errors } : {}),
  };
  return reply.code(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
}

interface AjvIssue {
  readonly instancePath?: string;
  readonly keyword?: string;
  readonly message?: string;
  readonly params?: Record<string, unknown>;
}

/** Fastify's schema errors, one per field, named the way the client wrote them. */
function issuesOf(validation: readonly AjvIssue[]): FieldIssue[] {
  return validation.map((issue) => {
    const params = issue.params ?? {};
    const named = params['missingProperty'] ?? params['additionalProperty'];
    const field =
      typeof named === 'string' ? named : (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
    const allowed = Array.isArray(params['allowedValues'])
      ? `: one of ${params['allowedValues'].join(', ')}`
      : '';
    const message =
      issue.keyword === 'additionalProperties'
        ? 'unknown parameter'
        : `${issue.message ?? 'invalid'}${allowed}`;
    return { field, message };
  });
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ProblemError, request, reply) => {
    if (error instanceof ProblemError)
      return sendProblem(reply, error.problem, error.message, error.errors, request.url);
    if (error.validation !== undefined) {
      const errors = issuesOf(error.validation);
      return sendProblem(
        reply,
        ProblemType.InvalidQuery,
        errors.map((e) => `${e.field}: ${e.message}`).join('; '),
        errors,
        request.url,
      );
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad content type, body too large, bad URL encoding).
      return sendProblem(reply, { ...ProblemType.BadRequest, status }, error.message, [], request.url);
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(
      reply,
      ProblemType.Internal,
      'the server could not answer; the error was logged',
      [],
      request.url,
    );
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      ProblemType.NotFound,
      `no route ${request.method} ${request.url.split('?')[0] ?? ''}`,
      [],
      request.url,
    ),
  );
}
