import Database from 'better-sqlite3';
import {
  type CompletedCall,
  type FencingStore,
  type FencingVerdict,
  type IdempotencyStore,
  type KeyClaim,
} from './stores.js';

type Db = InstanceType<typeof Database>;

/**
 * The worker's stores in a SQLite file (better-sqlite3, a peer dependency), for worker
 * processes on one machine that share it; each check-and-write is one IMMEDIATE transaction,
 * so two processes never both claim a key or both pass a token check. (Across machines, use
 * your database: the same two tables and statements work.)
 */
export function openWorkerDatabase(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS nono_idempotency_keys (
      key TEXT PRIMARY KEY,
      state TEXT NOT NULL CHECK (state IN ('running', 'completed')),
      claimed_until INTEGER,
      status INTEGER,
      body TEXT,
      completed_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS nono_idempotency_keys_completed ON nono_idempotency_keys (completed_at);
    CREATE TABLE IF NOT EXISTS nono_fencing_tokens (task_id TEXT PRIMARY KEY, token INTEGER NOT NULL);
  `);
  return db;
}

interface KeyRow {
  readonly state: 'running' | 'completed';
  readonly claimed_until: number | null;
  readonly status: number | null;
  readonly body: string | null;
}

export class SqliteIdempotencyStore implements IdempotencyStore {
  readonly #claim: (key: string, until: number, now: number) => KeyClaim;
  readonly #complete: (key: string, call: CompletedCall, now: number) => void;
  readonly #release: (key: string) => void;

  /** `ttlMs`: how long completed keys are remembered (default an hour). */
  constructor(db: Db, options: { ttlMs?: number } = {}) {
    const ttlMs = options.ttlMs ?? 3_600_000;
    const read = db.prepare<[string], KeyRow>(
      'SELECT state, claimed_until, status, body FROM nono_idempotency_keys WHERE key = ?',
    );
    const claim = db.prepare<[string, number]>(
      `INSERT INTO nono_idempotency_keys (key, state, claimed_until) VALUES (?, 'running', ?)
       ON CONFLICT (key) DO UPDATE SET state = 'running', claimed_until = excluded.claimed_until`,
    );
    const forget = db.prepare<[number]>(
      "DELETE FROM nono_idempotency_keys WHERE state = 'completed' AND completed_at < ?",
    );
    const complete = db.prepare<[{ key: string; status: number; body: string; at: number }]>(
      `INSERT INTO nono_idempotency_keys (key, state, status, body, completed_at) VALUES (@key, 'completed', @status, @body, @at)
       ON CONFLICT (key) DO UPDATE SET state = 'completed', claimed_until = NULL, status = @status, body = @body, completed_at = @at`,
    );
    const release = db.prepare<[string]>(
      "DELETE FROM nono_idempotency_keys WHERE key = ? AND state = 'running'",
    );
    const claimTransaction = db.transaction((key: string, until: number, now: number): KeyClaim => {
      forget.run(now - ttlMs);
      const row = read.get(key);
      if (row?.state === 'completed')
        return { kind: 'completed', call: { status: row.status ?? 200, body: row.body ?? '' } };
      if (row?.state === 'running' && (row.claimed_until ?? 0) > now) return { kind: 'running' };
      claim.run(key, until);
      return { kind: 'new' };
    });
    this.#claim = (key, until, now) => claimTransaction.immediate(key, until, now);
    this.#complete = (key, call, now) =>
      void complete.run({ key, status: call.status, body: call.body, at: now });
    this.#release = (key) => void release.run(key);
  }

  claim(key: string, until: number, now: number): KeyClaim {
    return this.#claim(key, until, now);
  }
  complete(key: string, call: CompletedCall, now: number): void {
    this.#complete(key, call, now);
  }
  release(key: string): void {
    this.#release(key);
  }
}

export class SqliteFencingStore implements FencingStore {
  readonly #admit: (taskId: string, token: number) => FencingVerdict;

  constructor(db: Db) {
    const read = db.prepare<[string], { token: number }>(
      'SELECT token FROM nono_fencing_tokens WHERE task_id = ?',
    );
    const write = db.prepare<[string, number]>(
      `INSERT INTO nono_fencing_tokens (task_id, token) VALUES (?, ?)
       ON CONFLICT (task_id) DO UPDATE SET token = excluded.token`,
    );
    const admitTransaction = db.transaction((taskId: string, token: number): FencingVerdict => {
      const newest = read.get(taskId)?.token;
      if (newest !== undefined && token < newest) return { admitted: false, newest };
      write.run(taskId, token);
      return { admitted: true };
    });
    this.#admit = (taskId, token) => admitTransaction.immediate(taskId, token);
  }

  admit(taskId: string, token: number): FencingVerdict {
    return this.#admit(taskId, token);
  }
}
