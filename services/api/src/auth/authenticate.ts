import { type Clock, formatInstant } from '@nono/domain';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { ApiError, ApiErrorCode } from '../errors.js';
import { type ApiTokenDirectory } from './api-tokens.js';
import { type Role, roleAllows } from './roles.js';
import { type Principal, type TokenEntry, checkToken } from './token-registry.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The weakest role allowed to call the route; every /api route must set one. */
    minRole?: Role;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Where the accepted tokens come from: the environment's (the bootstrap) and the named ones. */
export interface TokenSources {
  readonly environment: readonly TokenEntry[];
  readonly named: ApiTokenDirectory;
  readonly clock: Clock;
}

/**
 * Checks the bearer token before anything else runs (body parsing included), then the
 * route's minimum role. A route without `minRole` is refused rather than left open:
 * forgetting the setting must fail closed.
 */
export function registerAuthentication(app: FastifyInstance, sources: TokenSources): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      authorize(request, sources);
      done();
    } catch (error) {
      done(error as Error);
    }
  });
}

function authorize(request: FastifyRequest, sources: TokenSources): void {
  const principal = authenticate(request, sources);
  if (principal.tokenName !== undefined) sources.named.recordUse(principal.tokenName, sources.clock.now());
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

function authenticate(request: FastifyRequest, sources: TokenSources): Principal {
  const header = request.headers.authorization;
  const token = header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  if (token === undefined) throw new ApiError(ApiErrorCode.Unauthenticated);
  const named = sources.named.entries();
  const check = checkToken([sources.environment, named ?? []], token, sources.clock.now());
  if (check.kind === 'valid') return check.principal;
  if (check.kind === 'expired')
    throw new ApiError(
      ApiErrorCode.Unauthenticated,
      `this token expired at ${formatInstant(check.expiresAt)}`,
    );
  // Not an environment token, and the named ones cannot be vouched for right now.
  if (named === undefined)
    throw new ApiError(
      ApiErrorCode.CoordinationUnavailable,
      'named tokens cannot be checked while ZooKeeper is unreachable',
    );
  throw new ApiError(ApiErrorCode.Unauthenticated);
}

export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new ApiError(ApiErrorCode.Unauthenticated);
  return request.principal;
}
