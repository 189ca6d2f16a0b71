import { createHmac } from 'node:crypto';
import { decodeWebhookSecret } from '@nono/coordination';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` is
 * `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, one per active
 * secret, space-separated, so a worker that knows either secret of a rotation verifies.
 * Secrets come from NONO_WEBHOOK_SECRETS or, per task or host, from ZooKeeper sealed
 * (webhook-secret-book.ts); in clear they live only in the scheduler's memory.
 */
export interface WebhookSignature {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/** `webhook-id`: one per attempt of an execution (the execution id alone is the Idempotency-Key). */
export function webhookIdFor(executionId: string, attempt: number): string {
  return `${executionId}:${attempt}`;
}

export function signWebhook(
  secrets: readonly Buffer[],
  id: string,
  timestampSeconds: number,
  body: string,
): WebhookSignature {
  const signed = `${id}.${timestampSeconds}.${body}`;
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets
      .map((secret) => `v1,${createHmac('sha256', secret).update(signed, 'utf8').digest('base64')}`)
      .join(' '),
  };
}

/**
 * NONO_WEBHOOK_SECRETS: one or two `whsec_<base64>` secrets (two while rotating: sign with
 * both, move the workers to the new one, drop the old). Keys of 24 to 64 bytes, as the
 * specification asks. Throws naming the variable, never echoing a secret.
 */
export function parseWebhookSecrets(items: readonly string[], variable: string): Buffer[] {
  if (items.length > 2)
    throw new Error(`${variable} is not valid: at most two secrets (the old and the new one while rotating)`);
  return items.map((item, index) => {
    const key = decodeWebhookSecret(item);
    if (key === undefined)
      throw new Error(
        `${variable} item ${index + 1} is not valid: expected whsec_ and the base64 of 24 to 64 random bytes (openssl rand -base64 32)`,
      );
    return key;
  });
}
