import { type ApiTokenRecord } from '@nono/coordination';
import { type Role } from './roles.js';
import { type TokenEntry } from './token-registry.js';

export type { ApiTokenRecord } from '@nono/coordination';

export interface NewApiToken {
  readonly name: string;
  readonly role: Role;
  /** Epoch ms; undefined: never expires. */
  readonly expiresAt: number | undefined;
  /** The actor id of the admin creating it. */
  readonly createdBy: string;
  readonly now: number;
}

/**
 * The port behind `/api/v1/tokens` and the authentication hook: named tokens, stored hashed.
 * Errors are ApiErrors: TokenExists, TokenNotFound, CoordinationUnavailable, OutcomeUnknown.
 */
export interface ApiTokenDirectory {
  /**
   * The named tokens to authenticate against, synchronously (every request asks). Undefined
   * while the directory cannot vouch that it is current (ZooKeeper unreachable): a token
   * revoked meanwhile through another API process must not pass, so the caller refuses
   * named tokens then rather than trust a stale list.
   */
  entries(): readonly TokenEntry[] | undefined;
  /** Creates the token; the secret is in the answer only, never stored. */
  create(token: NewApiToken): Promise<{ readonly record: ApiTokenRecord; readonly secret: string }>;
  /** Every named token, by name, read from ZooKeeper (so last-used times are current). */
  list(): Promise<readonly ApiTokenRecord[]>;
  /** Deletes the token; this process refuses it from the moment this resolves. */
  revoke(name: string): Promise<void>;
  /** Notes a use; the stored last-used time moves at most once a minute per token. */
  recordUse(name: string, now: number): void;
}
