import { type CommonConfig, type EnvReader, loadCommonConfig } from '@nono/runtime';
import { parseTokenHashes } from './http/admin-auth.js';

/** The history service's configuration, parsed once from the environment by main.ts. */
export interface HistoryConfig {
  readonly common: CommonConfig;
  readonly dbFile: string;
  readonly host: string;
  readonly port: number;
  readonly groupId: string;
  /** /readyz answers 200 only while the unprojected records number at most this. */
  readonly readyLag: number;
  /** Days to keep succeeded (resp. other finished) executions; 0 keeps them forever. */
  readonly retainSuccessDays: number;
  readonly retainFailureDays: number;
  readonly retentionIntervalMs: number;
  /** SHA-256 of the bearer tokens the /admin routes accept (NONO_HISTORY_ADMIN_TOKENS); empty refuses them all. */
  readonly adminTokenHashes: readonly Buffer[];
  /** SHA-256 of the bearer tokens the query routes accept (NONO_HISTORY_READ_TOKENS). */
  readonly readTokenHashes: readonly Buffer[];
  /**
   * The ledger: how long after an instant's execution budget a fact may still be on its way
   * (lost grace, a takeover after a session timeout, spool delivery, projection lag), and
   * how long after a definition change both definitions' instants are transitional (at
   * least the schedulers' claim lead plus the delay of a ZooKeeper watch).
   */
  readonly ledgerPendingMs: number;
  readonly ledgerTransitionMs: number;
  /** The token `history rebuild` sends to a running service (NONO_HISTORY_ADMIN_TOKEN), if any. */
  readonly adminToken: string | undefined;
}

export function loadHistoryConfig(env: EnvReader): Readonly<HistoryConfig> {
  return Object.freeze({
    common: loadCommonConfig(env),
    dbFile: env.string('NONO_HISTORY_DB', '.nono/history.sqlite'),
    host: env.string('NONO_HISTORY_HOST', '127.0.0.1'),
    port: env.int('NONO_HISTORY_PORT', 7300, { min: 0, max: 65_535 }),
    groupId: env.string('NONO_HISTORY_GROUP_ID', 'nono-history'),
    readyLag: env.int('NONO_HISTORY_READY_LAG', 1000, { min: 0 }),
    retainSuccessDays: env.int('NONO_HISTORY_RETAIN_SUCCESS_DAYS', 0, { min: 0, max: 36_500 }),
    retainFailureDays: env.int('NONO_HISTORY_RETAIN_FAILURE_DAYS', 0, { min: 0, max: 36_500 }),
    retentionIntervalMs: env.int('NONO_HISTORY_RETENTION_INTERVAL_MS', 60_000, { min: 1_000 }),
    adminTokenHashes: parseTokenHashes(
      env.list('NONO_HISTORY_ADMIN_TOKENS', []),
      'NONO_HISTORY_ADMIN_TOKENS',
    ),
    readTokenHashes: parseTokenHashes(env.list('NONO_HISTORY_READ_TOKENS', []), 'NONO_HISTORY_READ_TOKENS'),
    ledgerPendingMs: env.int('NONO_HISTORY_LEDGER_PENDING_MS', 15_000, { min: 0, max: 86_400_000 }),
    ledgerTransitionMs: env.int('NONO_HISTORY_LEDGER_TRANSITION_MS', 2_000, { min: 0, max: 3_600_000 }),
    adminToken: env.string('NONO_HISTORY_ADMIN_TOKEN', '') || undefined,
  });
}
