#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { buildWorker } from './app.js';
import { parseSecret } from './webhook-verifier.js';

/**
 * Starts the example worker. Configuration (environment):
 *   WORKER_HOST (127.0.0.1), WORKER_PORT (7500; 0 = any free port),
 *   WORKER_TIME_BUDGET_MS (25000: under nono's default task timeout of 30 s),
 *   WORKER_REMEMBER_KEYS (10000), WORKER_REMEMBER_KEYS_MS (3600000), WORKER_LOG_LEVEL (info),
 *   WORKER_WEBHOOK_SECRETS (none: calls are not verified; else the scheduler's
 *   NONO_WEBHOOK_SECRETS, whsec_… comma-separated, and an unsigned call is a 401).
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

const USAGE = `Usage: nono-example-worker   serve the example jobs nono calls (/jobs/ok, /jobs/flaky, /jobs/slow, ...)

Settings are environment variables: WORKER_HOST (127.0.0.1), WORKER_PORT (7500),
WORKER_TIME_BUDGET_MS, WORKER_REMEMBER_KEYS, WORKER_REMEMBER_KEYS_MS, WORKER_LOG_LEVEL,
WORKER_WEBHOOK_SECRETS: see examples/worker/README.md.

Options:
  -h, --help      this text
  -V, --version   the version
`;

/** Answers --help and --version (this example depends on no nono package, so it does it itself). */
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

async function main(): Promise<void> {
  const answered = answerCommandLine(process.argv.slice(2));
  if (answered !== undefined) {
    process.exitCode = answered;
    return;
  }
  const host = process.env['WORKER_HOST']?.trim() || '127.0.0.1';
  const port = intFromEnv('WORKER_PORT', 7500, 0);
  const app = buildWorker({
    timeBudgetMs: intFromEnv('WORKER_TIME_BUDGET_MS', 25_000, 1),
    rememberKeys: intFromEnv('WORKER_REMEMBER_KEYS', 10_000, 1),
    rememberKeysMs: intFromEnv('WORKER_REMEMBER_KEYS_MS', 3_600_000, 1),
    webhookSecrets: (process.env['WORKER_WEBHOOK_SECRETS'] ?? '')
      .split(',')
      .filter((item) => item.trim() !== '')
      .map(parseSecret),
    logger: {
      level: process.env['WORKER_LOG_LEVEL']?.trim() || 'info',
      base: { service: 'example-worker', pid: process.pid },
    },
  });
  const url = await app.listen({ host, port });
  app.log.info({ url }, 'example worker listening');

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    app.log.info({ signal }, 'stopping: finishing the calls in progress');
    // Running jobs finish (or hit their budget) before the server closes.
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`example-worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
