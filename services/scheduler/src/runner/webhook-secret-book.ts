import {
  type WebhookSecretScope,
  type ZkClient,
  type ZnodeLayout,
  WEBHOOK_SECRET_SCOPES,
  isZkError,
  openSecret,
  secretsKeyId,
  webhookSecretContext,
  webhookSecretsDocument,
} from '@nono/coordination';
import { type Logger, coalesced } from '@nono/runtime';
import { WatchPerPath } from '../cluster/watch-per-path.js';

/** How a call is signed: with these secrets (none: unsigned), or not made at all, for `reason`. */
export type SigningKeys =
  | { readonly kind: 'sign'; readonly secrets: readonly Buffer[] }
  | { readonly kind: 'unusable'; readonly reason: string };

/** Picks the signing keys of one call; the invoker asks before every attempt. */
export type SigningKeysSource = (taskId: string, url: URL) => SigningKeys;

const defaultPort = (url: URL): string => url.port || (url.protocol === 'https:' ? '443' : '80');

/**
 * The webhook secrets of tasks and hosts (`/webhook-secrets/{tasks,hosts}/<key>`), opened
 * with NONO_SECRETS_KEY and held in memory, kept current by ZooKeeper watches (a rotation
 * written through the API signs the next call). A call to a task with its own secrets is
 * signed with those; else to a host with its own (`host:port` first, then the bare host);
 * else with NONO_WEBHOOK_SECRETS. Secrets that cannot be opened (no key, another key, a
 * tampered node) make that task's or host's calls fail with the reason instead of falling
 * back to the default secrets: a worker expecting its own secret would refuse those anyway,
 * and the failure then says why.
 */
export class WebhookSecretBook {
  readonly #zk: () => ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #key: Buffer | undefined;
  readonly #defaults: SigningKeys;
  readonly #log: Logger;
  #entries = new Map<string, SigningKeys>();
  #loaded = false;
  readonly #watches = new WatchPerPath(() => void this.#reload());

  constructor(options: {
    zk: () => ZkClient;
    layout: ZnodeLayout;
    key: Buffer | undefined;
    defaults: readonly Buffer[];
    log: Logger;
  }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#key = options.key;
    this.#defaults = { kind: 'sign', secrets: options.defaults };
    this.#log = options.log;
  }

  /** A new ZooKeeper session: the old one's watches are gone; read everything again. */
  onSessionConnected(): Promise<void> {
    this.#watches.reset();
    return this.#reload();
  }

  readonly keysFor: SigningKeysSource = (taskId, url) => {
    if (!this.#loaded)
      return { kind: 'unusable', reason: 'the webhook secrets are not loaded from ZooKeeper yet' };
    const host = url.hostname.toLowerCase();
    return (
      this.#entries.get(`task|${taskId}`) ??
      this.#entries.get(`host|${host}:${defaultPort(url)}`) ??
      this.#entries.get(`host|${host}`) ??
      this.#defaults
    );
  };

  readonly #reload = coalesced(() => this.#reloadOnce());

  async #reloadOnce(): Promise<void> {
    try {
      const zk = this.#zk();
      const entries = new Map<string, SigningKeys>();
      for (const scope of WEBHOOK_SECRET_SCOPES) {
        const parent = this.#layout.webhookSecretsParent(scope);
        for (const key of await zk.children(parent, this.#watches.watcher(parent))) {
          const path = this.#layout.webhookSecretsOf(scope, key);
          try {
            const { data } = await zk.get(path, this.#watches.watcher(path));
            entries.set(`${scope}|${key}`, this.#open(scope, key, data));
          } catch (error) {
            this.#watches.forget(path);
            if (!(isZkError(error) && error.isNoNode)) throw error;
          }
        }
      }
      this.#entries = entries;
      this.#loaded = true;
    } catch (error) {
      // The next ZooKeeper session (or watch) reads again; until then the last good view stays.
      this.#log.warn({ err: error }, 'could not read the webhook secrets from ZooKeeper');
    }
  }

  #open(scope: WebhookSecretScope, key: string, data: Buffer): SigningKeys {
    const what = `the webhook secrets of ${scope} "${key}"`;
    const parsed = webhookSecretsDocument.parse(data);
    const fail = (reason: string): SigningKeys => {
      this.#log.error({ scope, key }, `${what} cannot be used: ${reason}`);
      return { kind: 'unusable', reason: `${what} cannot be used: ${reason}` };
    };
    if (!parsed.ok) return fail('the node does not parse');
    if (this.#key === undefined) return fail('NONO_SECRETS_KEY is not set on this scheduler');
    if (parsed.value.keyId !== secretsKeyId(this.#key))
      return fail('they are sealed under another NONO_SECRETS_KEY than this scheduler has');
    const secrets: Buffer[] = [];
    for (const sealed of parsed.value.secrets) {
      const secret = openSecret(this.#key, sealed, webhookSecretContext(scope, key, sealed.id));
      if (secret === undefined)
        return fail(`secret ${sealed.id} does not open (changed or moved from another node)`);
      secrets.push(secret);
    }
    return { kind: 'sign', secrets };
  }
}
