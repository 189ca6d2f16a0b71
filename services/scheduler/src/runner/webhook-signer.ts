import { decodeWebhookSecret } from '@nono/domain';

/*
 * The scheduler signs its calls per Standard Webhooks with `signWebhook` (libs/domain, where the
 * worker SDK's verifier lives too). Secrets come from NONO_WEBHOOK_SECRETS or, per task or host,
 * from ZooKeeper sealed (webhook-secret-book.ts); in clear they live only in its memory.
 */

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
