import { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { ApiError, ApiErrorCode, problemOf, toApiError } from './errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Every error leaves as problem+json; unknown ones are logged here, once, and hidden from the client. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: apiError.code, status: apiError.statusCode }, 'request refused');
    return reply
      .code(apiError.statusCode)
      .header('content-type', PROBLEM_CONTENT_TYPE)
      .send(JSON.stringify(problemOf(apiError, request.url.split('?')[0])));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .header('content-type', PROBLEM_CONTENT_TYPE)
      .send(
        JSON.stringify(
          problemOf(
            new ApiError(ApiErrorCode.NotFound, `no route ${request.method} ${request.url.split('?')[0]}`),
          ),
        ),
      ),
  );
}

/**
 * Errors Fastify raises before routing (a malformed percent-escape in the path,
 * `FST_ERR_BAD_URL`; a failed async constraint) bypass the error handler; without this they
 * leave in Fastify's own shape instead of problem+json. Found by the OpenAPI fuzz test.
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (
  error,
  request,
  reply,
) => {
  request.log.info({ code: error.code }, 'request refused before routing');
  // The reply's type is generic over route schemas that do not exist before routing.
  void (reply as FastifyReply)
    .code(400)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .send(
      JSON.stringify(
        problemOf(
          new ApiError(ApiErrorCode.BadRequest, 'the request URL is malformed'),
          request.url.split('?')[0],
        ),
      ),
    );
};

export function sendProblem(reply: FastifyReply, error: ApiError, url: string): FastifyReply {
  return reply
    .code(error.statusCode)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problemOf(error, url.split('?')[0])));
}
