import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';

/**
 * The projected tables as sorted plain rows, without columns that record when a row was
 * written (projected_at, dead letter ids and times): two databases built from the same
 * events must dump equal, whatever the batching, order or crashes in between.
 */
const DUMPS: Record<string, string> = {
  executions: 'select * from executions order by execution_id',
  execution_attempts: 'select * from execution_attempts order by execution_id, attempt',
  task_audit: 'select * from task_audit order by event_id',
  alert_rule_audit: 'select * from alert_rule_audit order by event_id',
  calendar_audit: 'select * from calendar_audit order by event_id',
  scheduler_events: 'select * from scheduler_events order by event_id',
  task_daily_stats: 'select * from task_daily_stats order by task_id, day',
  processed_events: 'select event_id from processed_events order by event_id',
  owner_actions:
    'select * from owner_actions order by task_id, nominal_time, execution_id, attempt, kind, scheduler_id, fencing_token',
  dead_letters:
    'select topic, partition, offset, key, value, issues from dead_letters order by topic, partition, offset',
};

/** Every table a projection writes (dead letters aside): what "equal databases" compares. */
export const PROJECTED_TABLES: readonly string[] = [
  'executions',
  'execution_attempts',
  'task_audit',
  'alert_rule_audit',
  'calendar_audit',
  'scheduler_events',
  'task_daily_stats',
  'processed_events',
  'owner_actions',
];

export function dumpTables(
  sqlite: Database.Database,
  tables: readonly string[] = Object.keys(DUMPS),
): Record<string, unknown[]> {
  return Object.fromEntries(
    tables.map((table) => [table, sqlite.prepare(DUMPS[table] ?? `select * from ${table}`).all()]),
  );
}

export interface TableDigest {
  readonly rows: number;
  /** SHA-256 of the sorted rows: equal digests, equal row sets. */
  readonly digest: string;
}

/** Each projected table's row count and digest, for comparing databases of any size. */
export function tableDigests(sqlite: Database.Database): Record<string, TableDigest> {
  return Object.fromEntries(
    Object.entries(dumpTables(sqlite, PROJECTED_TABLES)).map(([table, rows]) => [
      table,
      { rows: rows.length, digest: createHash('sha256').update(JSON.stringify(rows)).digest('hex') },
    ]),
  );
}

/**
 * `tableDigests` of a database file another process may be writing (read-only; SQLite's WAL
 * gives this reader one consistent snapshot).
 */
export function fileTableDigests(file: string): Record<string, TableDigest> {
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return tableDigests(sqlite);
  } finally {
    sqlite.close();
  }
}
