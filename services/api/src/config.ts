import { isIP } from 'node:net';
import { type CommonConfig, type EnvReader, loadCommonConfig, loadTargetPolicy } from '@nono/runtime';
import { parseSecretsKey } from '@nono/coordination';
import { ErrorCode, NonoError, type TargetPolicy } from '@nono/domain';
import { type TokenEntry, parseTokenList } from './auth/token-registry.js';

/** Everything the API needs to start, parsed once from the environment and frozen. */
export interface ApiConfig extends CommonConfig {
  readonly port: number;
  readonly host: string;
  /**
   * The history replicas reads go to (NONO_HISTORY_URLS, else the one NONO_HISTORY_URL), in
   * the order the first choice is made in (docs/ARCHITECTURE.md, "History replicas").
   */
  readonly historyUrls: readonly string[];
  /** A replica further behind its topics than this many records is not current (NONO_HISTORY_MAX_LAG). */
  readonly historyMaxLag: number;
  /** How often every replica's /readyz is read (NONO_HISTORY_PROBE_INTERVAL_MS). */
  readonly historyProbeIntervalMs: number;
  /** The alerts service (NONO_ALERTS_URL). */
  readonly alertsUrl: string;
  readonly tokens: readonly TokenEntry[];
  /** NONO_ALLOWED_TARGET_HOSTS and the cluster's own endpoints (see TargetPolicy). */
  readonly targetPolicy: TargetPolicy;
  /** The bearer token the API presents to history's query routes (NONO_HISTORY_READ_TOKEN). */
  readonly historyReadToken: string | undefined;
  readonly bodyLimitBytes: number;
  readonly rateLimitPerMinute: number;
  /**
   * Addresses (or CIDR ranges) of reverse proxies whose X-Forwarded-For is believed, so the
   * rate limit and logs see the real client. Empty: the peer address is the client.
   */
  readonly trustProxy: readonly string[];
  readonly historyTimeoutMs: number;
  /** How long an outbox entry may stay unconfirmed before the relay decides its fate itself. */
  readonly outboxOrphanAfterMs: number;
  readonly shutdownDeadlineMs: number;
  /** NONO_SECRETS_KEY: seals webhook secrets stored in ZooKeeper; without it the webhook-secret routes are not offered. */
  readonly secretsKey: Buffer | undefined;
}

export function loadApiConfig(env: EnvReader): ApiConfig {
  return Object.freeze({
    ...loadCommonConfig(env),
    port: env.int('NONO_API_PORT', 7200, { min: 0, max: 65_535 }),
    host: env.string('NONO_API_HOST', '127.0.0.1'),
    historyUrls: historyUrls(env),
    historyMaxLag: env.int('NONO_HISTORY_MAX_LAG', 1_000, { min: 0 }),
    historyProbeIntervalMs: env.int('NONO_HISTORY_PROBE_INTERVAL_MS', 2_000, { min: 100, max: 60_000 }),
    alertsUrl: httpUrl(env, 'NONO_ALERTS_URL', 'http://127.0.0.1:7600'),
    tokens: parseTokenList(env.list('NONO_API_TOKENS', []), 'NONO_API_TOKENS'),
    targetPolicy: loadTargetPolicy(env),
    historyReadToken: env.optionalString('NONO_HISTORY_READ_TOKEN'),
    bodyLimitBytes: env.int('NONO_API_BODY_LIMIT_BYTES', 256 * 1024, { min: 1024, max: 16 * 1024 * 1024 }),
    rateLimitPerMinute: env.int('NONO_API_RATE_LIMIT_PER_MINUTE', 600, { min: 1, max: 1_000_000 }),
    trustProxy: parseTrustedProxies(env.list('NONO_API_TRUST_PROXY', [])),
    historyTimeoutMs: env.int('NONO_HISTORY_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
    outboxOrphanAfterMs: env.int('NONO_API_OUTBOX_ORPHAN_AFTER_MS', 30_000, { min: 1_000, max: 3_600_000 }),
    shutdownDeadlineMs: env.int('NONO_API_SHUTDOWN_DEADLINE_MS', 10_000, { min: 1_000, max: 120_000 }),
    secretsKey: parseSecretsKey(env.optionalString('NONO_SECRETS_KEY'), 'NONO_SECRETS_KEY'),
  });
}

function httpUrl(env: EnvReader, name: string, fallback: string): string {
  const url = env.string(name, fallback);
  return checkedHttpUrl(url, name, url);
}

/** `url` (one item of the variable's `value`) without its trailing slashes. */
function checkedHttpUrl(url: string, name: string, value: string): string {
  if (!/^https?:\/\/[^/]+/.test(url))
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `${name}=${JSON.stringify(value)} is not valid: ${url === value ? 'expected an http(s) URL' : `${JSON.stringify(url)} is not an http(s) URL`}`,
    );
  return url.replace(/\/+$/, '');
}

/**
 * NONO_HISTORY_URLS (comma-separated, one per replica) when set, else NONO_HISTORY_URL: a
 * deployment with one history service keeps its configuration.
 */
function historyUrls(env: EnvReader): readonly string[] {
  const listed = env.list('NONO_HISTORY_URLS', []);
  if (listed.length === 0) return [httpUrl(env, 'NONO_HISTORY_URL', 'http://127.0.0.1:7300')];
  const value = listed.join(',');
  const urls = listed.map((url) => checkedHttpUrl(url, 'NONO_HISTORY_URLS', value));
  const repeated = urls.find((url, index) => urls.indexOf(url) !== index);
  if (repeated !== undefined)
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `NONO_HISTORY_URLS=${JSON.stringify(value)} is not valid: ${repeated} is listed twice`,
    );
  return urls;
}

/** proxy-addr's names for address ranges, accepted as well as addresses and CIDRs. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * NONO_API_TRUST_PROXY: proxies are named, never "trust everyone": a client that may set
 * X-Forwarded-For itself could pick a fresh address per request and never be rate-limited.
 */
function parseTrustedProxies(entries: readonly string[]): readonly string[] {
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const validPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
    if (!RANGE_NAMES.has(entry) && (family === 0 || !validPrefix || extra !== undefined)) {
      throw new NonoError(
        ErrorCode.InvalidConfig,
        `NONO_API_TRUST_PROXY=${JSON.stringify(entries.join(','))} is not valid: "${entry}" is not an ` +
          'IP address, a CIDR range (10.0.0.0/8) or one of loopback, linklocal, uniquelocal',
      );
    }
  }
  return entries;
}
