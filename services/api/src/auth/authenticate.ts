import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { ApiError, ApiErrorCode } from '../errors.js';
import { type Role, roleAllows } from './roles.js';
import { type Principal, type TokenEntry, authenticateToken } from './token-registry.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The weakest role allowed to call the route; every /api route must set one. */
    minRole?: Role;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/**
 * Checks the bearer token before anything else runs (body parsing included), then the
 * route's minimum role. A route without `minRole` is refused rather than left open:
 * forgetting the setting must fail closed.
 */
export function registerAuthentication(app: FastifyInstance, tokens: readonly TokenEntry[]): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      authorize(request, tokens);
      done();
    } catch (error) {
      done(error as Error);
    }
  });
}

function authorize(request: FastifyRequest, tokens: readonly TokenEntry[]): void {
  const header = request.headers.authorization;
  const token = header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  const principal = token === undefined ? undefined : authenticateToken(tokens, token);
  if (principal === undefined) throw new ApiError(ApiErrorCode.Unauthenticated);
  const needed = request.routeOptions.config.minRole ?? 'admin';
  if (request.routeOptions.config.minRole === undefined && request.routeOptions.url !== undefined) {
    request.log.error({ route: request.routeOptions.url }, 'route has no minRole: only admins may call it');
  }
  if (!roleAllows(principal.role, needed)) {
    throw new ApiError(
      ApiErrorCode.Forbidden,
      `this needs the ${needed} role; the token has ${principal.role}`,
    );
  }
  request.principal = principal;
}

export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new ApiError(ApiErrorCode.Unauthenticated);
  return request.principal;
}
