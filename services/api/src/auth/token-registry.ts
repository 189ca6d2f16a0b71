import { createHash, timingSafeEqual } from 'node:crypto';
import { type Actor, ErrorCode, NonoError } from '@nono/domain';
import { type Role, isRole } from './roles.js';

/** One configured token: only its SHA-256 is ever held, so a leaked config leaks no token. */
export interface TokenEntry {
  readonly role: Role;
  readonly sha256: Buffer;
}

export interface Principal {
  readonly role: Role;
  readonly actor: Actor;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Parses `role:sha256hex` items; a bad one fails start-up, naming the variable and the form. */
export function parseTokenList(items: readonly string[], variable: string): TokenEntry[] {
  return items.map((item, index) => {
    const match = /^([a-z]+):([0-9a-fA-F]{64})$/.exec(item);
    const role = match?.[1];
    const hex = match?.[2];
    if (role === undefined || hex === undefined || !isRole(role)) {
      throw new NonoError(
        ErrorCode.InvalidConfig,
        `${variable} item ${index + 1} is not valid: expected role:sha256hex with role viewer, operator or admin (print a hash with "nono-api hash-token <token>")`,
      );
    }
    return { role, sha256: Buffer.from(hex, 'hex') };
  });
}

/**
 * Finds the principal a bearer token belongs to. Every entry is compared, in constant
 * time each, so neither timing nor position tells an attacker how close a guess was.
 * The actor id names the token by a short hash prefix: enough to audit, useless to replay.
 */
export function authenticateToken(entries: readonly TokenEntry[], token: string): Principal | undefined {
  const digest = createHash('sha256').update(token, 'utf8').digest();
  let found: TokenEntry | undefined;
  for (const entry of entries) {
    if (timingSafeEqual(entry.sha256, digest) && found === undefined) found = entry;
  }
  if (found === undefined) return undefined;
  return {
    role: found.role,
    actor: { kind: 'token', id: `${found.role}:${found.sha256.toString('hex').slice(0, 12)}` },
  };
}
