#!/usr/bin/env node
import { SystemClock, formatIssues } from '@nono/domain';
import { EnvReader, createLogger, exitOnSignals, printCommandLineAnswer } from '@nono/runtime';
import { rebuildDatabase, requestServiceRebuild } from './cli/rebuild.js';
import { parseReplayArgs, replayEvents } from './cli/replay.js';
import { loadHistoryConfig } from './config.js';
import { startHistory } from './history-service.js';
import { hashToken } from './http/admin-auth.js';

const PACKAGE_JSON = new URL('../package.json', import.meta.url);

const USAGE = `Usage: nono-history [serve]          run the projector and the query API (the default)
       nono-history rebuild            build a fresh database from the topics, then swap it in: done by
                                       the running service when one answers at NONO_HISTORY_HOST:PORT,
                                       else offline
       nono-history replay --from <RFC 3339> --to <RFC 3339>
                                       print the events of a window as JSON lines
       nono-history hash-token <token> print the SHA-256 of a token, for NONO_HISTORY_ADMIN_TOKENS

Settings are environment variables (NONO_HISTORY_PORT, NONO_HISTORY_DB, NONO_KAFKA_BROKERS, ...):
see services/history/README.md.

Options:
  -h, --help      this text
  -V, --version   the version
`;

const HASH_TOKEN_USAGE = `Usage: nono-history hash-token <token>

Prints the SHA-256 (hex) of <token>, for NONO_HISTORY_ADMIN_TOKENS or NONO_HISTORY_READ_TOKENS.
A token that starts with "-" goes after "--": nono-history hash-token -- -abc
`;

/** The composition root and the only place that reads process.env (commands: see USAGE). */
const [command = 'serve', ...args] = process.argv.slice(2);
if (command === 'hash-token') {
  const answered = printCommandLineAnswer(args, {
    name: 'nono-history hash-token',
    packageJson: PACKAGE_JSON,
    usage: HASH_TOKEN_USAGE,
    takesArguments: true,
  });
  if (answered !== undefined) process.exit(answered);
  const token = args[0] === '--' ? args[1] : args[0];
  if (token === undefined || token === '') {
    process.stderr.write(HASH_TOKEN_USAGE);
    process.exit(2);
  }
  process.stdout.write(`${hashToken(token)}\n`);
  process.exit(0);
}
// `replay` has options of its own (--from, --to); --help and --version are answered for every command.
const answered = printCommandLineAnswer(process.argv.slice(2), {
  name: 'nono-history',
  packageJson: PACKAGE_JSON,
  usage: USAGE,
  takesArguments: true,
});
if (answered !== undefined) process.exit(answered);
const config = loadHistoryConfig(new EnvReader(process.env));
const clock = new SystemClock();

try {
  if (command === 'serve') {
    const log = createLogger('history', config.common.logLevel);
    if (config.adminTokenHashes.length === 0)
      log.warn('NONO_HISTORY_ADMIN_TOKENS is empty: every /admin request will be refused with 401');
    if (config.readTokenHashes.length === 0)
      log.warn(
        'NONO_HISTORY_READ_TOKENS is empty: only admin tokens may query (the API needs NONO_HISTORY_READ_TOKEN)',
      );
    const history = await startHistory(config, { clock, log });
    exitOnSignals(() => history.stop(), { log, deadlineMs: 30_000 });
  } else if (command === 'rebuild') {
    // Logs to stderr: stdout is for the result line.
    const log = createLogger('history-rebuild', 'warn');
    const progress = (line: string): void => void process.stderr.write(`${line}\n`);
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const live =
      config.port === 0
        ? ({ kind: 'not-running' } as const)
        : await requestServiceRebuild(`http://${host.includes(':') ? `[${host}]` : host}:${config.port}`, {
            progress,
            token: config.adminToken,
          });
    if (live.kind === 'finished') {
      const { id, phase, records, error } = live.status;
      process.stdout.write(`${JSON.stringify({ rebuild: id, phase, records, error, by: 'service' })}\n`);
      process.exit(phase === 'done' ? 0 : 1);
    }
    const result = await rebuildDatabase(config, { clock, log, progress });
    process.stdout.write(`${JSON.stringify({ rebuilt: result.file, records: result.records, by: 'cli' })}\n`);
    process.exit(0);
  } else if (command === 'replay') {
    const window = parseReplayArgs(args);
    if (!window.ok) {
      process.stderr.write(`replay: ${formatIssues(window.issues)}\n`);
      process.exit(2);
    }
    const log = createLogger('history-replay', 'warn');
    const result = await replayEvents(config, window.value, {
      log,
      write: (line) => void process.stdout.write(line),
    });
    process.stderr.write(`replay: ${result.printed} events\n`);
    process.exit(0);
  } else {
    process.stderr.write(`unknown command "${command}": expected serve, rebuild, replay or hash-token\n`);
    process.exit(2);
  }
} catch (error) {
  createLogger('history', 'fatal').fatal({ err: error }, `history ${command} failed`);
  process.exit(1);
}
