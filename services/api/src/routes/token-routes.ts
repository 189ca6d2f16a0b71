import { type Clock, parseInstant } from '@nono/domain';
import { type Static } from '@sinclair/typebox';
import { type FastifyInstance } from 'fastify';
import { type ApiTokenDirectory, type ApiTokenRecord } from '../auth/api-tokens.js';
import { principalOf } from '../auth/authenticate.js';
import { ApiError, ApiErrorCode } from '../errors.js';
import { parseBody } from '../request-validation.js';
import {
  CreateTokenBody,
  CreatedTokenResponse,
  NoContent,
  TokenListResponse,
  TokenNameParams,
} from '../schemas.js';

/** A token as clients see it: never its hash; whether it has expired, by the API's clock. */
function describeToken(record: ApiTokenRecord, now: number) {
  const expiresAt = record.expiresAt === null ? undefined : parseInstant(record.expiresAt);
  return {
    name: record.name,
    role: record.role,
    createdAt: record.createdAt,
    createdBy: record.createdBy,
    expiresAt: record.expiresAt,
    expired: expiresAt !== undefined && now >= expiresAt,
    lastUsedAt: record.lastUsedAt,
  };
}

/**
 * Named API tokens, for admins only: create (the secret is in that answer only), list
 * (never a secret or a hash), revoke. The environment's tokens (NONO_API_TOKENS) are not
 * listed here: they are the bootstrap, changed by changing the environment.
 */
export function registerTokenRoutes(
  app: FastifyInstance,
  deps: { readonly tokens: ApiTokenDirectory; readonly clock: Clock },
): void {
  const tags = ['tokens'];

  app.post(
    '/tokens',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Create a named token; its secret is returned in this answer only',
        body: CreateTokenBody,
        response: { 201: CreatedTokenResponse },
      },
    },
    async (request, reply) => {
      const body = parseBody(CreateTokenBody, request.body);
      const now = deps.clock.now();
      const expiresAt = body.expiresAt === undefined ? undefined : parseInstant(body.expiresAt);
      if (body.expiresAt !== undefined && (expiresAt === undefined || expiresAt <= now))
        throw new ApiError(ApiErrorCode.InvalidTokenRequest, undefined, [
          {
            field: 'expiresAt',
            message: expiresAt === undefined ? 'is not a valid instant' : 'must be in the future',
          },
        ]);
      const createdBy = principalOf(request).actor.id;
      const { record, secret } = await deps.tokens.create({
        name: body.name,
        role: body.role,
        expiresAt,
        createdBy,
        now,
      });
      request.log.info(
        { token: record.name, role: record.role, expiresAt: record.expiresAt, by: createdBy },
        'API token created',
      );
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...describeToken(record, now), token: secret });
    },
  );

  app.get(
    '/tokens',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Every named token: name, role, times; never a secret or a hash',
        response: { 200: TokenListResponse },
      },
    },
    async () => {
      const now = deps.clock.now();
      return { items: (await deps.tokens.list()).map((record) => describeToken(record, now)) };
    },
  );

  app.delete<{ Params: Static<typeof TokenNameParams> }>(
    '/tokens/:name',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Revoke a named token: it gets 401 from now on',
        params: TokenNameParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await deps.tokens.revoke(request.params.name);
      request.log.info(
        { token: request.params.name, by: principalOf(request).actor.id },
        'API token revoked',
      );
      return reply.code(204).send();
    },
  );
}
