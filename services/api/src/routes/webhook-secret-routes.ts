import { type WebhookSecretScope } from '@nono/coordination';
import { type Clock, decodeWebhookSecret } from '@nono/domain';
import { type TSchema } from '@sinclair/typebox';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { principalOf } from '../auth/authenticate.js';
import { ApiError, ApiErrorCode } from '../errors.js';
import { parseBody } from '../request-validation.js';
import {
  AddWebhookSecretBody,
  NoContent,
  WebhookSecretHostIdParams,
  WebhookSecretHostParams,
  WebhookSecretTaskIdParams,
  WebhookSecretTaskParams,
  WebhookSecretsInfoSchema,
  WebhookSecretsListResponse,
} from '../schemas.js';
import { type ZkWebhookSecrets } from '../webhook-secrets/zk-webhook-secrets.js';

interface ScopeRoutes {
  readonly scope: WebhookSecretScope;
  readonly path: string;
  readonly params: TSchema;
  readonly withId: TSchema;
  readonly keyOf: (params: Record<string, string>) => string;
}

const SCOPES: readonly ScopeRoutes[] = [
  {
    scope: 'task',
    path: '/webhook-secrets/tasks/:id',
    params: WebhookSecretTaskParams,
    withId: WebhookSecretTaskIdParams,
    keyOf: (params) => params['id'] ?? '',
  },
  {
    scope: 'host',
    path: '/webhook-secrets/hosts/:host',
    params: WebhookSecretHostParams,
    withId: WebhookSecretHostIdParams,
    keyOf: (params) => params['host'] ?? '',
  },
];

const paramsOf = (request: FastifyRequest) => request.params as Record<string, string>;

/**
 * Standard Webhooks secrets per task or target host, admin only and write-only: a secret goes
 * in with POST and never comes out (answers carry ids and times). The schedulers sign calls
 * to the task, else to the host, with these instead of NONO_WEBHOOK_SECRETS. Two may be
 * active (a rotation: add the new one, move the worker, remove the old one).
 */
export function registerWebhookSecretRoutes(
  app: FastifyInstance,
  deps: { readonly secrets: ZkWebhookSecrets; readonly clock: Clock },
): void {
  const tags = ['webhook secrets'];
  app.get(
    '/webhook-secrets',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Every task and host with its own webhook secrets: ids and times, never a secret',
        response: { 200: WebhookSecretsListResponse },
      },
    },
    async () => ({ items: await deps.secrets.list() }),
  );

  for (const { scope, path, params, withId, keyOf } of SCOPES) {
    app.post(
      `${path}/secrets`,
      {
        config: { minRole: 'admin' },
        schema: {
          tags,
          summary: `Add a webhook secret for this ${scope} (at most two: the old and the new while rotating)`,
          params,
          body: AddWebhookSecretBody,
          response: { 201: WebhookSecretsInfoSchema },
        },
      },
      async (request, reply) => {
        const { secret } = parseBody(AddWebhookSecretBody, request.body);
        const decoded = decodeWebhookSecret(secret);
        // The message never repeats the value: it is a secret even when malformed.
        if (decoded === undefined)
          throw new ApiError(ApiErrorCode.InvalidWebhookSecret, undefined, [
            { field: 'secret', message: 'must be whsec_ and the base64 of 24 to 64 bytes' },
          ]);
        const key = keyOf(paramsOf(request));
        const createdBy = principalOf(request).actor.id;
        const info = await deps.secrets.add(scope, key, decoded, { createdBy, now: deps.clock.now() });
        request.log.info(
          { scope, key, secretId: info.secrets.at(-1)?.id, by: createdBy },
          'webhook secret added',
        );
        return reply.code(201).send(info);
      },
    );

    app.delete(
      `${path}/secrets/:secretId`,
      {
        config: { minRole: 'admin' },
        schema: {
          tags,
          summary: `Remove one webhook secret of this ${scope} (ends a rotation)`,
          params: withId,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        const params = paramsOf(request);
        await deps.secrets.remove(scope, keyOf(params), params['secretId']);
        request.log.info(
          { scope, key: keyOf(params), secretId: params['secretId'] },
          'webhook secret removed',
        );
        return reply.code(204).send();
      },
    );

    app.delete(
      `${path}/secrets`,
      {
        config: { minRole: 'admin' },
        schema: {
          tags,
          summary: `Remove every webhook secret of this ${scope}: calls are signed with the host's or the default secrets again`,
          params,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        const key = keyOf(paramsOf(request));
        await deps.secrets.remove(scope, key);
        request.log.info({ scope, key }, 'webhook secrets removed');
        return reply.code(204).send();
      },
    );
  }
}
