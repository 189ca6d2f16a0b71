import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ErrorCode, NonoError } from '@nono/domain';

/**
 * Secrets kept in ZooKeeper are sealed with AES-256-GCM under a key only the API and the
 * schedulers hold (NONO_SECRETS_KEY), so a reader of the znodes (a ZooKeeper snapshot, a
 * client without the digest credentials on an open install) learns nothing of them. The
 * additional data binds each ciphertext to where it belongs: a ciphertext copied to another
 * task's or host's node does not open there.
 */
export interface SealedSecret {
  /** Base64 of the 12-byte nonce, fresh per seal. */
  readonly iv: string;
  readonly ciphertext: string;
  /** Base64 of the 16-byte GCM tag. */
  readonly tag: string;
}

export const SECRETS_KEY_BYTES = 32;

/**
 * NONO_SECRETS_KEY: the base64 of 32 random bytes (`openssl rand -base64 32`); undefined when
 * unset. A malformed one is a configuration error naming the variable, never echoing it.
 */
export function parseSecretsKey(text: string | undefined, variable: string): Buffer | undefined {
  if (text === undefined) return undefined;
  const key = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || key.length !== SECRETS_KEY_BYTES)
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `${variable} is not valid: expected the base64 of ${SECRETS_KEY_BYTES} random bytes (openssl rand -base64 32)`,
    );
  return key;
}

/** A short, non-secret fingerprint of the key: tells "sealed under another key" from "tampered". */
export function secretsKeyId(key: Buffer): string {
  return createHash('sha256').update('nono-secrets-key-id').update(key).digest('hex').slice(0, 16);
}

export function sealSecret(key: Buffer, plaintext: Buffer, context: string): SealedSecret {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

/** The plaintext, or undefined when the key, the context or any byte does not match. */
export function openSecret(key: Buffer, sealed: SealedSecret, context: string): Buffer | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
  } catch {
    // GCM refuses a wrong key, a wrong context and any changed byte alike: all mean "cannot open".
    return undefined;
  }
}
