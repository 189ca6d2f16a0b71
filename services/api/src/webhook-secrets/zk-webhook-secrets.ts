import { randomBytes } from 'node:crypto';
import {
  MAX_ACTIVE_WEBHOOK_SECRETS,
  type WebhookSecretScope,
  type WebhookSecretsRecord,
  type ZkClient,
  type ZnodeLayout,
  WEBHOOK_SECRET_SCOPES,
  isZkError,
  sealSecret,
  secretsKeyId,
  webhookSecretContext,
  webhookSecretsDocument,
} from '@nono/coordination';
import { formatInstant } from '@nono/domain';
import { ApiError, ApiErrorCode } from '../errors.js';
import { mapZkError } from '../zk-errors.js';

/** What clients see of a scope's secrets: ids and times, never a secret or its ciphertext. */
export interface WebhookSecretsInfo {
  readonly scope: WebhookSecretScope;
  readonly key: string;
  readonly secrets: readonly {
    readonly id: string;
    readonly createdAt: string;
    readonly createdBy: string;
  }[];
}

function describe(record: WebhookSecretsRecord): WebhookSecretsInfo {
  return {
    scope: record.scope,
    key: record.key,
    secrets: record.secrets.map(({ id, createdAt, createdBy }) => ({ id, createdAt, createdBy })),
  };
}

/**
 * Webhook secrets per task or host in ZooKeeper, sealed with NONO_SECRETS_KEY before they are
 * written. The API never opens them: it seals what a client sends and answers metadata only,
 * so no route can return a secret. Every change is a compare-and-set at the version read.
 */
export class ZkWebhookSecrets {
  readonly #zk: ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #key: Buffer;
  readonly #keyId: string;

  constructor(options: { zk: ZkClient; layout: ZnodeLayout; key: Buffer }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#key = options.key;
    this.#keyId = secretsKeyId(options.key);
  }

  async list(): Promise<WebhookSecretsInfo[]> {
    const items: WebhookSecretsInfo[] = [];
    try {
      for (const scope of WEBHOOK_SECRET_SCOPES) {
        for (const key of await this.#zk.children(this.#layout.webhookSecretsParent(scope))) {
          const current = await this.#read(scope, key);
          if (current !== undefined) items.push(describe(current.record));
        }
      }
    } catch (error) {
      throw mapZkError(error, 'read');
    }
    return items;
  }

  /** Adds a secret (a rotation starts); refused when two are active already. */
  async add(
    scope: WebhookSecretScope,
    key: string,
    secret: Buffer,
    actor: { readonly createdBy: string; readonly now: number },
  ): Promise<WebhookSecretsInfo> {
    const path = this.#layout.webhookSecretsOf(scope, key);
    try {
      const current = await this.#read(scope, key);
      const existing = current?.record.secrets ?? [];
      if (existing.length >= MAX_ACTIVE_WEBHOOK_SECRETS)
        throw new ApiError(
          ApiErrorCode.WebhookSecretsFull,
          `${scope} "${key}" has ${MAX_ACTIVE_WEBHOOK_SECRETS} active secrets: remove the old one first`,
        );
      const id = randomBytes(4).toString('hex');
      const sealed = sealSecret(this.#key, secret, webhookSecretContext(scope, key, id));
      const record: WebhookSecretsRecord = {
        scope,
        key,
        keyId: this.#keyId,
        secrets: [
          ...existing,
          { id, createdAt: formatInstant(actor.now), createdBy: actor.createdBy, ...sealed },
        ],
      };
      const data = webhookSecretsDocument.encode(record);
      if (current === undefined) await this.#zk.create(path, data, 'persistent');
      else await this.#zk.set(path, data, current.version);
      return describe(record);
    } catch (error) {
      // A concurrent writer got there first: the client reads again and decides.
      if (isZkError(error) && (error.isNodeExists || error.isBadVersion))
        throw new ApiError(
          ApiErrorCode.RevisionConflict,
          `the secrets of ${scope} "${key}" changed meanwhile`,
        );
      throw mapZkError(error, 'write');
    }
  }

  /** Removes one secret (a rotation ends), or all of them (`id` undefined): calls fall back to the host's or the default secrets. */
  async remove(scope: WebhookSecretScope, key: string, id?: string): Promise<void> {
    const path = this.#layout.webhookSecretsOf(scope, key);
    const notFound = () =>
      new ApiError(
        ApiErrorCode.WebhookSecretNotFound,
        id === undefined
          ? `${scope} "${key}" has no webhook secrets`
          : `${scope} "${key}" has no secret "${id}"`,
      );
    try {
      const current = await this.#read(scope, key);
      if (current === undefined) throw notFound();
      const kept = current.record.secrets.filter((secret) => secret.id !== id);
      if (id !== undefined && kept.length === current.record.secrets.length) throw notFound();
      if (id === undefined || kept.length === 0) await this.#zk.delete(path, current.version);
      else
        await this.#zk.set(
          path,
          webhookSecretsDocument.encode({ ...current.record, secrets: kept }),
          current.version,
        );
    } catch (error) {
      if (isZkError(error) && error.isNoNode) throw notFound();
      if (isZkError(error) && error.isBadVersion)
        throw new ApiError(
          ApiErrorCode.RevisionConflict,
          `the secrets of ${scope} "${key}" changed meanwhile`,
        );
      throw mapZkError(error, 'write');
    }
  }

  async #read(
    scope: WebhookSecretScope,
    key: string,
  ): Promise<{ record: WebhookSecretsRecord; version: number } | undefined> {
    let got: { data: Buffer; stat: { version: number } };
    try {
      got = await this.#zk.get(this.#layout.webhookSecretsOf(scope, key));
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw error;
    }
    const parsed = webhookSecretsDocument.parse(got.data);
    if (!parsed.ok)
      throw new ApiError(
        ApiErrorCode.Internal,
        `the webhook secrets node of ${scope} "${key}" does not parse`,
      );
    return { record: parsed.value, version: got.stat.version };
  }
}
