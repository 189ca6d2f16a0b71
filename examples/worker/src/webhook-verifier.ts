import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verifies nono's Standard Webhooks signature (https://www.standardwebhooks.com): the HMAC-SHA256,
 * with the shared secret, of `<webhook-id>.<webhook-timestamp>.<raw body>`, base64, in one of
 * the space-separated `v1,<signature>` entries of `webhook-signature` (two while nono rotates
 * secrets). A timestamp more than five minutes away from now is refused, so a captured call
 * cannot be replayed later; within those minutes the Idempotency-Key makes a replay harmless.
 */
export const TIMESTAMP_TOLERANCE_S = 5 * 60;

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function verifyWebhook(
  secrets: readonly Buffer[],
  headers: { id?: string | undefined; timestamp?: string | undefined; signature?: string | undefined },
  body: string,
  nowMs: number,
): Verdict {
  const { id, timestamp, signature } = headers;
  if (id === undefined || timestamp === undefined || signature === undefined)
    return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
  if (!(Math.abs(nowMs / 1000 - seconds) <= TIMESTAMP_TOLERANCE_S))
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

/** `whsec_<base64>`, as nono's NONO_WEBHOOK_SECRETS holds it, to the HMAC key. */
export function parseSecret(text: string): Buffer {
  const key = Buffer.from(text.trim().replace(/^whsec_/, ''), 'base64');
  if (key.length < 24) throw new Error('a webhook secret is whsec_ and the base64 of at least 24 bytes');
  return key;
}
