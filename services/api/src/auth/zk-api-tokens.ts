import { randomBytes } from 'node:crypto';
import {
  type ApiTokenRecord,
  type ZkClient,
  type ZnodeLayout,
  apiTokenDocument,
  isZkError,
} from '@nono/coordination';
import { MINUTE_MS, formatInstant, parseInstant } from '@nono/domain';
import { type Logger, coalesced } from '@nono/runtime';
import { ApiError, ApiErrorCode } from '../errors.js';
import { mapZkError } from '../zk-errors.js';
import { type ApiTokenDirectory, type NewApiToken } from './api-tokens.js';
import { type TokenEntry, hashToken } from './token-registry.js';

/** How often, at most, a token's stored last-used time is rewritten by one API process. */
export const LAST_USED_WRITE_INTERVAL_MS = MINUTE_MS;

/** A token secret: 32 random bytes, so a plain SHA-256 of it cannot be reversed or guessed. */
export function generateTokenSecret(): string {
  return `nono_${randomBytes(32).toString('base64url')}`;
}

/**
 * Named tokens in ZooKeeper (`/api-tokens/<name>`), held in memory for authentication and
 * kept current by a children watch: a token created or revoked through any API process is
 * seen by every other one within a watch round trip, without a ZooKeeper read per request
 * (authentication runs on every request and must not add a round trip to each). A token's
 * role, hash and expiry never change after creation, so membership is all the watch needs
 * to follow; every change of membership re-reads all tokens, which also covers a name
 * revoked and created again before the watch fired.
 *
 * While the session is not connected the list may be stale, so `entries()` answers
 * undefined and named tokens are refused until the first reload after reconnecting.
 */
export class ZkApiTokens implements ApiTokenDirectory {
  readonly #zk: ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #log: Logger;
  #entries: readonly TokenEntry[] = [];
  #current = false;
  #stopped = false;
  /** Per token, when this process last wrote its last-used time (by the injected clock). */
  readonly #lastUseWritten = new Map<string, number>();
  readonly #onState = (state: string): void => {
    if (state === 'connected') void this.#reload();
    else this.#current = false;
  };

  constructor(options: { zk: ZkClient; layout: ZnodeLayout; log: Logger }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#log = options.log;
  }

  /** Loads the tokens and starts following changes; rejects if the first load fails. */
  async start(): Promise<void> {
    this.#zk.on('state', this.#onState);
    await this.#reload();
    if (!this.#current) throw new Error('could not load the API tokens from ZooKeeper');
  }

  stop(): void {
    this.#stopped = true;
    this.#zk.off('state', this.#onState);
  }

  entries(): readonly TokenEntry[] | undefined {
    return this.#current ? this.#entries : undefined;
  }

  async create(token: NewApiToken): Promise<{ record: ApiTokenRecord; secret: string }> {
    const secret = generateTokenSecret();
    const record: ApiTokenRecord = {
      name: token.name,
      role: token.role,
      sha256: hashToken(secret),
      createdAt: formatInstant(token.now),
      createdBy: token.createdBy,
      expiresAt: token.expiresAt === undefined ? null : formatInstant(token.expiresAt),
      lastUsedAt: null,
    };
    try {
      await this.#zk.create(this.#layout.apiToken(token.name), apiTokenDocument.encode(record), 'persistent');
    } catch (error) {
      if (isZkError(error) && error.isNodeExists)
        throw new ApiError(ApiErrorCode.TokenExists, `a token named "${token.name}" already exists`);
      throw mapZkError(error, 'write');
    }
    // A reload that starts after the write: the creator may use the token as soon as it has it.
    await this.#reload();
    return { record, secret };
  }

  async list(): Promise<readonly ApiTokenRecord[]> {
    try {
      return (await this.#readAll()).map(({ record }) => record);
    } catch (error) {
      throw mapZkError(error, 'read');
    }
  }

  async revoke(name: string): Promise<void> {
    try {
      await this.#zk.delete(this.#layout.apiToken(name));
    } catch (error) {
      if (isZkError(error) && error.isNoNode)
        throw new ApiError(ApiErrorCode.TokenNotFound, `no token named "${name}"`);
      throw mapZkError(error, 'write');
    }
    // Refused here from now on, whatever a reload in flight read before the delete; the
    // reload awaited next starts after the delete and keeps it so.
    this.#entries = this.#entries.filter((entry) => entry.name !== name);
    this.#lastUseWritten.delete(name);
    await this.#reload();
  }

  recordUse(name: string, now: number): void {
    const written = this.#lastUseWritten.get(name);
    if (written !== undefined && now - written < LAST_USED_WRITE_INTERVAL_MS) return;
    this.#lastUseWritten.set(name, now);
    void this.#writeLastUsed(name, now);
  }

  /** A read-modify-write at the version read: a revoked token's node is never recreated. */
  async #writeLastUsed(name: string, now: number): Promise<void> {
    const path = this.#layout.apiToken(name);
    try {
      const { data, stat } = await this.#zk.get(path);
      const parsed = apiTokenDocument.parse(data);
      if (!parsed.ok) return;
      const previous = parsed.value.lastUsedAt === null ? undefined : parseInstant(parsed.value.lastUsedAt);
      // Another API process may have written a later use already.
      if (previous !== undefined && previous >= now) return;
      await this.#zk.set(
        path,
        apiTokenDocument.encode({ ...parsed.value, lastUsedAt: formatInstant(now) }),
        stat.version,
      );
    } catch (error) {
      // Revoked meanwhile, or another process wrote first: either way nothing to do.
      if (isZkError(error) && (error.isNoNode || error.isBadVersion)) return;
      this.#lastUseWritten.delete(name); // try again on the next use
      this.#log.warn({ err: error, token: name }, 'could not record when an API token was last used');
    }
  }

  /**
   * Re-reads every token and re-arms the children watch. Runs never overlap, and the promise
   * resolves only after a run that began after the call, so a caller sees its own write.
   */
  readonly #reload = coalesced(() => this.#reloadOnce());

  async #reloadOnce(): Promise<void> {
    if (this.#stopped) return;
    try {
      const loaded = await this.#readAll(() => void this.#reload());
      this.#entries = loaded.map(({ record }) => ({
        name: record.name,
        role: record.role,
        sha256: Buffer.from(record.sha256, 'hex'),
        ...(record.expiresAt === null ? {} : { expiresAt: parseInstant(record.expiresAt) ?? 0 }),
      }));
      this.#current = true;
    } catch (error) {
      // The state listener reloads on the next connect.
      this.#current = false;
      this.#log.warn(
        { err: error },
        'could not read the API tokens: named tokens are refused until it works',
      );
    }
  }

  async #readAll(watch?: () => void): Promise<{ record: ApiTokenRecord }[]> {
    const names = await this.#zk.children(this.#layout.apiTokens, watch);
    const records: { record: ApiTokenRecord }[] = [];
    for (const name of names) {
      let data: Buffer;
      try {
        ({ data } = await this.#zk.get(this.#layout.apiToken(name)));
      } catch (error) {
        if (isZkError(error) && error.isNoNode) continue; // revoked since the listing
        throw error;
      }
      const parsed = apiTokenDocument.parse(data);
      if (parsed.ok && parsed.value.name === name) records.push({ record: parsed.value });
      else this.#log.error({ token: name }, 'API token node does not parse: it is refused');
    }
    return records;
  }
}
