import { ErrorCode, NonoError, type TargetPolicy } from '@nono/domain';
import { type CommonConfig, type EnvReader, loadCommonConfig, loadTargetPolicy } from '@nono/runtime';

/** The alerts service's configuration, parsed once from the environment by main.ts. */
export interface AlertsConfig {
  readonly common: CommonConfig;
  readonly dbFile: string;
  readonly host: string;
  readonly port: number;
  readonly groupId: string;
  /** How often the dead-man check runs. */
  readonly deadManCheckMs: number;
  /** The ledger's transition window: instants due only around a definition change are not held against a task. */
  readonly transitionMs: number;
  /**
   * Which URLs a webhook channel may call: the same policy as task targets
   * (NONO_ALLOWED_TARGET_HOSTS, never the cluster's own endpoints), because this service calls
   * them from inside the network just as schedulers call task targets.
   */
  readonly targetPolicy: TargetPolicy;
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  readonly deliveryTimeoutMs: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly giveUpAfterMs: number;
  /** History's base URL: its /readyz says its consumer lag, for `consumer-lag` rules on history. */
  readonly historyUrl: string;
}

export function loadAlertsConfig(env: EnvReader): Readonly<AlertsConfig> {
  const smtpUrl = env.optionalString('NONO_ALERTS_SMTP_URL');
  if (smtpUrl !== undefined && !/^smtps?:\/\/[^/]+/.test(smtpUrl))
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `NONO_ALERTS_SMTP_URL=${JSON.stringify(smtpUrl)} is not valid: expected smtp://[user:pass@]host:port or smtps://…`,
    );
  return Object.freeze({
    common: loadCommonConfig(env),
    dbFile: env.string('NONO_ALERTS_DB', '.nono/alerts.sqlite'),
    host: env.string('NONO_ALERTS_HOST', '127.0.0.1'),
    port: env.int('NONO_ALERTS_PORT', 7600, { min: 0, max: 65_535 }),
    groupId: env.string('NONO_ALERTS_GROUP_ID', 'nono-alerts'),
    deadManCheckMs: env.int('NONO_ALERTS_DEAD_MAN_CHECK_MS', 1_000, { min: 100, max: 600_000 }),
    transitionMs: env.int('NONO_ALERTS_TRANSITION_MS', 2_000, { min: 0, max: 3_600_000 }),
    targetPolicy: loadTargetPolicy(env),
    smtpUrl,
    mailFrom: env.string('NONO_ALERTS_MAIL_FROM', 'nono-alerts@localhost'),
    deliveryTimeoutMs: env.int('NONO_ALERTS_DELIVERY_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
    retryInitialMs: env.int('NONO_ALERTS_RETRY_INITIAL_MS', 1_000, { min: 10, max: 3_600_000 }),
    retryMaxMs: env.int('NONO_ALERTS_RETRY_MAX_MS', 60_000, { min: 10, max: 86_400_000 }),
    giveUpAfterMs: env.int('NONO_ALERTS_GIVE_UP_AFTER_MS', 86_400_000, { min: 1_000, max: 30 * 86_400_000 }),
    historyUrl: env.string('NONO_HISTORY_URL', 'http://127.0.0.1:7300').replace(/\/+$/, ''),
  });
}
