import { type CommonConfig, type EnvReader, loadCommonConfig } from '@nono/runtime';
import { ErrorCode, NonoError } from '@nono/domain';
import { type TokenEntry, parseTokenList } from './auth/token-registry.js';

/** Everything the API needs to start, parsed once from the environment and frozen. */
export interface ApiConfig extends CommonConfig {
  readonly port: number;
  readonly host: string;
  readonly historyUrl: string;
  readonly tokens: readonly TokenEntry[];
  readonly allowedTargetHosts: readonly string[];
  readonly bodyLimitBytes: number;
  readonly rateLimitPerMinute: number;
  readonly historyTimeoutMs: number;
  /** How long an outbox entry may stay unconfirmed before the relay decides its fate itself. */
  readonly outboxOrphanAfterMs: number;
  readonly shutdownDeadlineMs: number;
}

export function loadApiConfig(env: EnvReader): ApiConfig {
  const historyUrl = env.string('NONO_HISTORY_URL', 'http://127.0.0.1:7300');
  if (!/^https?:\/\/[^/]+/.test(historyUrl)) {
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `NONO_HISTORY_URL=${JSON.stringify(historyUrl)} is not valid: expected an http(s) URL`,
    );
  }
  return Object.freeze({
    ...loadCommonConfig(env),
    port: env.int('NONO_API_PORT', 7200, { min: 0, max: 65_535 }),
    host: env.string('NONO_API_HOST', '127.0.0.1'),
    historyUrl: historyUrl.replace(/\/+$/, ''),
    tokens: parseTokenList(env.list('NONO_API_TOKENS', []), 'NONO_API_TOKENS'),
    allowedTargetHosts: env
      .list('NONO_ALLOWED_TARGET_HOSTS', ['127.0.0.1', 'localhost'])
      .map((host) => host.toLowerCase()),
    bodyLimitBytes: env.int('NONO_API_BODY_LIMIT_BYTES', 256 * 1024, { min: 1024, max: 16 * 1024 * 1024 }),
    rateLimitPerMinute: env.int('NONO_API_RATE_LIMIT_PER_MINUTE', 600, { min: 1, max: 1_000_000 }),
    historyTimeoutMs: env.int('NONO_HISTORY_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
    outboxOrphanAfterMs: env.int('NONO_API_OUTBOX_ORPHAN_AFTER_MS', 30_000, { min: 1_000, max: 3_600_000 }),
    shutdownDeadlineMs: env.int('NONO_API_SHUTDOWN_DEADLINE_MS', 10_000, { min: 1_000, max: 120_000 }),
  });
}
