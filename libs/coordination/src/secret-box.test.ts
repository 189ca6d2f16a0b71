import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeWebhookSecret } from '@nono/domain';
import { openSecret, parseSecretsKey, sealSecret, secretsKeyId } from './secret-box.js';

describe('secret box (AES-256-GCM)', () => {
  const key = randomBytes(32);
  const secret = randomBytes(32);
  const sealed = sealSecret(key, secret, 'nono-webhook-secret|task|a|01');

  it('opens what it sealed, with the same key and context, and never holds the secret in clear', () => {
    expect(openSecret(key, sealed, 'nono-webhook-secret|task|a|01')).toEqual(secret);
    expect(JSON.stringify(sealed)).not.toContain(secret.toString('base64'));
  });
  it('uses a fresh nonce per seal', () => {
    expect(sealSecret(key, secret, 'c').iv).not.toBe(sealSecret(key, secret, 'c').iv);
  });
  it.each([
    ['another key', randomBytes(32), 'nono-webhook-secret|task|a|01', sealed],
    ['another context (moved to task b)', key, 'nono-webhook-secret|task|b|01', sealed],
    [
      'a changed ciphertext',
      key,
      'nono-webhook-secret|task|a|01',
      { ...sealed, ciphertext: Buffer.alloc(32).toString('base64') },
    ],
    [
      'a changed tag',
      key,
      'nono-webhook-secret|task|a|01',
      { ...sealed, tag: Buffer.alloc(16).toString('base64') },
    ],
  ])('refuses %s', (_what, withKey, context, box) => {
    expect(openSecret(withKey, box, context)).toBeUndefined();
  });
  it('fingerprints a key without revealing it', () => {
    expect(secretsKeyId(key)).toMatch(/^[0-9a-f]{16}$/);
    expect(secretsKeyId(key)).not.toBe(secretsKeyId(randomBytes(32)));
  });
  it.each([
    [Buffer.alloc(31).toString('base64'), false],
    ['not base64!', false],
    [Buffer.alloc(32, 1).toString('base64'), true],
  ])('NONO_SECRETS_KEY %j is accepted: %s', (text, ok) => {
    if (ok) expect(parseSecretsKey(text, 'NONO_SECRETS_KEY')?.length).toBe(32);
    else expect(() => parseSecretsKey(text, 'NONO_SECRETS_KEY')).toThrow(/NONO_SECRETS_KEY is not valid/);
  });
  it.each([
    [`whsec_${Buffer.alloc(32).toString('base64')}`, 32],
    [`whsec_${Buffer.alloc(23).toString('base64')}`, undefined],
    [`whsec_${Buffer.alloc(65).toString('base64')}`, undefined],
    ['whsec_!!', undefined],
  ])('webhook secret %j decodes to %s bytes', (text, bytes) => {
    expect(decodeWebhookSecret(text)?.length).toBe(bytes);
  });
});
