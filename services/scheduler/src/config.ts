import { hostname } from 'node:os';
import { parseSecretsKey } from '@nono/coordination';
import { type TargetPolicy } from '@nono/domain';
import { type CommonConfig, type EnvReader, loadCommonConfig, loadTargetPolicy } from '@nono/runtime';
import { parseWebhookSecrets } from './runner/webhook-signer.js';

export interface SchedulerConfig extends CommonConfig {
  readonly schedulerId: string;
  readonly host: string;
  readonly port: number;
  readonly spoolDir: string;
  readonly spoolSyncIntervalMs: number;
  readonly misfireThresholdMs: number;
  readonly claimLeadMs: number;
  readonly lostGraceMs: number;
  readonly finishFlushDelayMs: number;
  readonly openExecutionsFlushMs: number;
  readonly openExecutionsRetentionMs: number;
  readonly maxInFlight: number;
  readonly maxInFlightPerHost: number;
  readonly shutdownDeadlineMs: number;
  /** The same NONO_ALLOWED_TARGET_HOSTS rules as the API, applied to every definition read. */
  readonly targetPolicy: TargetPolicy;
  /**
   * Standard Webhooks secrets calls are signed with (NONO_WEBHOOK_SECRETS) unless their task or
   * host has its own in ZooKeeper; none: unsigned.
   */
  readonly webhookSecrets: readonly Buffer[];
  /** NONO_SECRETS_KEY: opens the per-task and per-host secrets; without it those tasks' calls fail, naming it. */
  readonly secretsKey: Buffer | undefined;
}

/** Parsed once at start; `pid` only seeds the default id when the ops port is ephemeral. */
export function loadSchedulerConfig(env: EnvReader, pid: number): SchedulerConfig {
  const port = env.int('NONO_SCHEDULER_PORT', 7400, { min: 0, max: 65_535 });
  const schedulerId = env.string('NONO_SCHEDULER_ID', `${hostname()}-${port === 0 ? `pid${pid}` : port}`);
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(schedulerId)) {
    throw new Error(
      `NONO_SCHEDULER_ID="${schedulerId}" is not valid: expected 1-100 letters, digits, ".", "_" or "-"`,
    );
  }
  return Object.freeze({
    ...loadCommonConfig(env),
    schedulerId,
    host: env.string('NONO_SCHEDULER_HOST', '127.0.0.1'),
    port,
    spoolDir: env.string('NONO_SCHEDULER_SPOOL_DIR', `.nono/spool/${schedulerId}`),
    // How often the spool fdatasyncs: what a power loss can take (a killed process loses nothing written).
    spoolSyncIntervalMs: env.int('NONO_SPOOL_SYNC_INTERVAL_MS', 20, { min: 1, max: 10_000 }),
    misfireThresholdMs: env.int('NONO_MISFIRE_THRESHOLD_MS', 5_000, { min: 0, max: 3_600_000 }),
    claimLeadMs: env.int('NONO_CLAIM_LEAD_MS', 300, { min: 0, max: 10_000 }),
    lostGraceMs: env.int('NONO_LOST_GRACE_MS', 2_000, { min: 0, max: 3_600_000 }),
    finishFlushDelayMs: env.int('NONO_FINISH_FLUSH_DELAY_MS', 60_000, { min: 0, max: 3_600_000 }),
    openExecutionsFlushMs: env.int('NONO_OPEN_EXECUTIONS_FLUSH_MS', 200, { min: 10, max: 60_000 }),
    openExecutionsRetentionMs: env.int('NONO_OPEN_EXECUTIONS_RETENTION_MS', 600_000, {
      min: 1_000,
      max: 7 * 86_400_000,
    }),
    maxInFlight: env.int('NONO_MAX_IN_FLIGHT', 1_000, { min: 1, max: 100_000 }),
    maxInFlightPerHost: env.int('NONO_MAX_IN_FLIGHT_PER_HOST', 256, { min: 1, max: 100_000 }),
    shutdownDeadlineMs: env.int('NONO_SHUTDOWN_DEADLINE_MS', 10_000, { min: 0, max: 600_000 }),
    targetPolicy: loadTargetPolicy(env),
    webhookSecrets: parseWebhookSecrets(env.list('NONO_WEBHOOK_SECRETS', []), 'NONO_WEBHOOK_SECRETS'),
    secretsKey: parseSecretsKey(env.optionalString('NONO_SECRETS_KEY'), 'NONO_SECRETS_KEY'),
  });
}
