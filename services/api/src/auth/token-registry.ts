import { createHash, timingSafeEqual } from 'node:crypto';
import { type Actor, ErrorCode, NonoError } from '@nono/domain';
import { type Role, isRole } from './roles.js';

/**
 * One token the API accepts: only its SHA-256 is ever held, so a leaked config or ZooKeeper
 * node leaks no token. Environment tokens (NONO_API_TOKENS) have neither name nor expiry;
 * named tokens (`/api-tokens`, managed through `/api/v1/tokens`) have a name and may expire.
 */
export interface TokenEntry {
  readonly role: Role;
  readonly sha256: Buffer;
  readonly name?: string;
  /** Epoch ms from which the token is refused; absent: never. */
  readonly expiresAt?: number;
}

export interface Principal {
  readonly role: Role;
  readonly actor: Actor;
  /** The named token that authenticated the request (for its last-used time); absent for environment tokens. */
  readonly tokenName?: string;
}

export type TokenCheck =
  | { readonly kind: 'valid'; readonly principal: Principal }
  | { readonly kind: 'expired'; readonly name: string; readonly expiresAt: number }
  | { readonly kind: 'unknown' };

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
 * Finds the principal a bearer token belongs to. Every entry of every list is compared, in
 * constant time each, so neither timing nor position tells an attacker how close a guess
 * was. A named token is its holder's name in the audit trail; an environment token is named
 * by its role and a short hash prefix: enough to audit, useless to replay. Expiry is checked
 * after the match, against `now`, so an expired token is refused from its first millisecond.
 */
export function checkToken(
  lists: readonly (readonly TokenEntry[])[],
  token: string,
  now: number,
): TokenCheck {
  const digest = createHash('sha256').update(token, 'utf8').digest();
  let found: TokenEntry | undefined;
  for (const entries of lists) {
    for (const entry of entries) {
      if (timingSafeEqual(entry.sha256, digest) && found === undefined) found = entry;
    }
  }
  if (found === undefined) return { kind: 'unknown' };
  if (found.name === undefined) {
    const id = `${found.role}:${found.sha256.toString('hex').slice(0, 12)}`;
    return { kind: 'valid', principal: { role: found.role, actor: { kind: 'token', id } } };
  }
  if (found.expiresAt !== undefined && now >= found.expiresAt)
    return { kind: 'expired', name: found.name, expiresAt: found.expiresAt };
  return {
    kind: 'valid',
    principal: { role: found.role, actor: { kind: 'token', id: found.name }, tokenName: found.name },
  };
}
