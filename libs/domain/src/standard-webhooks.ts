import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com), the scheme nono signs its calls to
 * workers with: `webhook-signature` is `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`,
 * one per active secret, space-separated, so a worker that knows either secret of a rotation
 * verifies. The scheduler signs with `signWebhook`, the worker SDK verifies with
 * `verifyWebhook`: one implementation of the scheme for both ends.
 */
export interface WebhookSignature {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/** A timestamp further than this from the verifier's clock is refused: a captured call cannot be replayed later. */
export const WEBHOOK_TIMESTAMP_TOLERANCE_S = 5 * 60;

/**
 * A Standard Webhooks secret, `whsec_<base64>` of 24 to 64 bytes as the specification asks;
 * undefined when it is not one (the caller names the field or variable, never the secret).
 */
export function decodeWebhookSecret(text: string): Buffer | undefined {
  if (!/^(whsec_)?[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const key = Buffer.from(text.replace(/^whsec_/, ''), 'base64');
  return key.length < 24 || key.length > 64 ? undefined : key;
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

export type WebhookVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Whether a call was signed with one of `secrets`: its `webhook-signature` lists a `v1,`
 * signature of `<webhook-id>.<webhook-timestamp>.<raw body>` made with one of them (compared in
 * constant time), and its timestamp is within five minutes of `nowMs`.
 */
export function verifyWebhook(
  secrets: readonly Buffer[],
  headers: { id?: string | undefined; timestamp?: string | undefined; signature?: string | undefined },
  body: string,
  nowMs: number,
): WebhookVerdict {
  const { id, timestamp, signature } = headers;
  if (id === undefined || timestamp === undefined || signature === undefined)
    return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
  if (!(Math.abs(nowMs / 1000 - seconds) <= WEBHOOK_TIMESTAMP_TOLERANCE_S))
    return { ok: false, reason: 'webhook-timestamp is more than five minutes from now (a replay?)' };
  const signed = `${id}.${timestamp}.${body}`;
  const offered = signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'));
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(signed, 'utf8').digest();
    // Constant time: how much of a forged signature matched must not show in the timing.
    if (
      offered.some(
        (candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected),
      )
    )
      return { ok: true };
  }
  return { ok: false, reason: 'no webhook-signature matches (tampered, or signed with another secret)' };
}
