import { ErrorCode, NonoError } from '@nono/domain';
import { type CommonConfig, type EnvReader, loadCommonConfig } from '@nono/runtime';
import { parseTokenHashes } from './http/admin-auth.js';

/** The history service's configuration, parsed once from the environment by main.ts. */
export interface HistoryConfig {
  readonly common: CommonConfig;
  /**
   * This replica's name (NONO_HISTORY_REPLICA), when several history services project the
   * same topics: it makes the consumer group and the default database file this replica's
   * own, and /readyz reports it so the API can tell replicas apart.
   */
  readonly replica: string | undefined;
  readonly dbFile: string;
  readonly host: string;
  readonly port: number;
  /** NONO_HISTORY_GROUP_ID, suffixed with `-<replica>` when a replica name is set. */
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

/** A replica name: short, and safe inside a consumer group id and a file name. */
const REPLICA_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export function loadHistoryConfig(env: EnvReader): Readonly<HistoryConfig> {
  const replica = env.optionalString('NONO_HISTORY_REPLICA');
  if (replica !== undefined && !REPLICA_NAME.test(replica))
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `NONO_HISTORY_REPLICA=${JSON.stringify(replica)} is not valid: expected 1 to 32 lower-case letters, digits or "-", starting with a letter or digit`,
    );
  // Two replicas sharing a consumer group would each be given only part of the partitions
  // (and each serve part of the history): the replica name makes the group its own. Changing
  // the group is harmless: positions live in the database, never in the group's offsets.
  const groupBase = env.string('NONO_HISTORY_GROUP_ID', 'nono-history');
  return Object.freeze({
    common: loadCommonConfig(env),
    replica,
    dbFile: env.string(
      'NONO_HISTORY_DB',
      replica === undefined ? '.nono/history.sqlite' : `.nono/history-${replica}.sqlite`,
    ),
    host: env.string('NONO_HISTORY_HOST', '127.0.0.1'),
    port: env.int('NONO_HISTORY_PORT', 7300, { min: 0, max: 65_535 }),
    groupId: replica === undefined ? groupBase : `${groupBase}-${replica}`,
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
