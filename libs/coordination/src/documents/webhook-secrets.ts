import { type Static, Type } from '@sinclair/typebox';
import { defineDocument } from './document.js';

export const WEBHOOK_SECRET_SCOPES = ['task', 'host'] as const;
export type WebhookSecretScope = (typeof WEBHOOK_SECRET_SCOPES)[number];

/** A host key: a lower-case host name or IPv4 address, with an optional port (`worker.internal:8443`). */
export const WEBHOOK_SECRET_HOST_PATTERN = '^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::[0-9]{1,5})?$';

/** At most two secrets are active: the old and the new one while a rotation is under way. */
export const MAX_ACTIVE_WEBHOOK_SECRETS = 2;

/**
 * `/webhook-secrets/tasks/<taskId>` or `/webhook-secrets/hosts/<host[:port]>`: the Standard
 * Webhooks secrets the schedulers sign calls to that task or host with, instead of
 * NONO_WEBHOOK_SECRETS. Written by the API, read by the schedulers. Each secret is sealed
 * (AES-256-GCM under NONO_SECRETS_KEY, additional data = `webhookSecretContext`), never in clear.
 */
export const WebhookSecretsSchema = Type.Object({
  scope: Type.Union([Type.Literal('task'), Type.Literal('host')]),
  key: Type.String({ description: 'the task id or the host[:port]' }),
  /** Fingerprint of the sealing key (`secretsKeyId`): a scheduler with another key says so. */
  keyId: Type.String({ pattern: '^[0-9a-f]{16}$' }),
  secrets: Type.Array(
    Type.Object({
      id: Type.String({ pattern: '^[0-9a-f]{8,32}$' }),
      createdAt: Type.String(),
      createdBy: Type.String(),
      iv: Type.String(),
      ciphertext: Type.String(),
      tag: Type.String(),
    }),
    { minItems: 1, maxItems: MAX_ACTIVE_WEBHOOK_SECRETS },
  ),
});
export type WebhookSecretsRecord = Static<typeof WebhookSecretsSchema>;

export const webhookSecretsDocument = defineDocument('webhook secrets', WebhookSecretsSchema);

/** The additional data a secret is sealed with: its scope, key and id. */
export function webhookSecretContext(scope: WebhookSecretScope, key: string, id: string): string {
  return `nono-webhook-secret|${scope}|${key}|${id}`;
}
