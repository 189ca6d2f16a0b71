#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { type GroupMembershipOptions, MemoryIdempotencyStore } from '@nono/worker';
import { SqliteFencingStore, SqliteIdempotencyStore, openWorkerDatabase } from '@nono/worker/sqlite';
import { pino } from 'pino';
import { buildWorker } from './app.js';

/**
 * Starts the example worker. Configuration (environment), examples/worker/README.md:
 *   WORKER_HOST (127.0.0.1), WORKER_PORT (7500; 0 = any free port),
 *   WORKER_TIME_BUDGET_MS (25000: under nono's default task timeout of 30 s),
 *   WORKER_REMEMBER_KEYS (10000), WORKER_REMEMBER_KEYS_MS (3600000), WORKER_LOG_LEVEL (info),
 *   WORKER_WEBHOOK_SECRETS (none: calls are not verified),
 *   WORKER_STATE_DB (none: keys and tokens in memory; a SQLite file shared by the workers of a host),
 *   WORKER_GROUP, WORKER_API_URL, WORKER_TOKEN, WORKER_MEMBER_ID, WORKER_ADVERTISE_URL (join a worker group),
 *   WORKER_DRAIN_MS (10000).
 */
function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not valid: expected an integer of at least ${min}`);
  }
  return value;
}

function stringFromEnv(name: string): string | undefined {
  const raw = process.env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

const USAGE = `Usage: nono-example-worker   serve the example jobs nono calls (/jobs/ok, /jobs/flaky, /jobs/slow, ...)

Settings are environment variables: WORKER_HOST (127.0.0.1), WORKER_PORT (7500),
WORKER_TIME_BUDGET_MS, WORKER_REMEMBER_KEYS, WORKER_REMEMBER_KEYS_MS, WORKER_LOG_LEVEL,
WORKER_WEBHOOK_SECRETS, WORKER_STATE_DB, WORKER_GROUP (with WORKER_API_URL, WORKER_TOKEN,
WORKER_MEMBER_ID, WORKER_ADVERTISE_URL), WORKER_DRAIN_MS: see examples/worker/README.md.

Options:
  -h, --help      this text
  -V, --version   the version
`;

/** Answers --help and --version itself. */
function answerCommandLine(argv: readonly string[]): number | undefined {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.includes('--version') || argv.includes('-V')) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`nono-example-worker: unknown argument ${JSON.stringify(argv[0])}\n\n${USAGE}`);
    return 2;
  }
  return undefined;
}

/** WORKER_GROUP and its companions, all or none (a missing one is named). */
function groupFromEnv(host: string, port: number): GroupMembershipOptions | undefined {
  const group = stringFromEnv('WORKER_GROUP');
  if (group === undefined) return undefined;
  const apiUrl = stringFromEnv('WORKER_API_URL');
  const token = stringFromEnv('WORKER_TOKEN');
  if (apiUrl === undefined || token === undefined)
    throw new Error('WORKER_GROUP needs WORKER_API_URL and WORKER_TOKEN (a token of the operator role)');
  return {
    apiUrl,
    token,
    group,
    memberId: stringFromEnv('WORKER_MEMBER_ID') ?? `${hostname()}-${port}`.replace(/[^A-Za-z0-9._-]/g, '-'),
    url: stringFromEnv('WORKER_ADVERTISE_URL') ?? `http://${host}:${port}`,
  };
}

async function main(): Promise<void> {
  const answered = answerCommandLine(process.argv.slice(2));
  if (answered !== undefined) {
    process.exitCode = answered;
    return;
  }
  const host = stringFromEnv('WORKER_HOST') ?? '127.0.0.1';
  const port = intFromEnv('WORKER_PORT', 7500, 0);
  const log = pino({
    level: stringFromEnv('WORKER_LOG_LEVEL') ?? 'info',
    base: { service: 'example-worker', pid: process.pid },
  });
  const stateDb = stringFromEnv('WORKER_STATE_DB');
  const database = stateDb === undefined ? undefined : openWorkerDatabase(stateDb);
  const webhookSecrets = (process.env['WORKER_WEBHOOK_SECRETS'] ?? '')
    .split(',')
    .filter((item) => item.trim() !== '');
  // The group calls the worker at a URL known before it listens: a fixed port.
  if (port === 0 && stringFromEnv('WORKER_GROUP') !== undefined)
    throw new Error('WORKER_GROUP needs a fixed WORKER_PORT (the group calls the worker there)');
  const group = groupFromEnv(host, port);
  const worker = buildWorker({
    maxJobMs: intFromEnv('WORKER_TIME_BUDGET_MS', 25_000, 1),
    webhookSecrets,
    idempotency:
      database === undefined
        ? new MemoryIdempotencyStore({
            capacity: intFromEnv('WORKER_REMEMBER_KEYS', 10_000, 1),
            ttlMs: intFromEnv('WORKER_REMEMBER_KEYS_MS', 3_600_000, 1),
          })
        : new SqliteIdempotencyStore(database, {
            ttlMs: intFromEnv('WORKER_REMEMBER_KEYS_MS', 3_600_000, 1),
          }),
    ...(database === undefined ? {} : { fencing: new SqliteFencingStore(database) }),
    drainTimeoutMs: intFromEnv('WORKER_DRAIN_MS', 10_000, 1),
    log,
    ...(group === undefined ? {} : { group }),
  });
  const url = await worker.listen(port, host);
  log.info({ url, group: group?.group }, 'example worker listening');
  worker.drainOnSignals();
  process.once('SIGTERM', () => {
    // The drain closes the server; the database goes last.
    void worker.drain().then(() => database?.close());
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`example-worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
