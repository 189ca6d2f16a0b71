import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, freePort } from '../support/processes.js';

/**
 * Every program nono ships answers `--help` and `--version` and starts nothing: run from the
 * built dist (`npx turbo run build` first) as a user would, with ports set so that a server
 * that started anyway would be seen listening, and a time limit it would run into.
 */
const BINARIES = [
  { name: 'nono-api', script: 'services/api/dist/main.js', packageDir: 'services/api' },
  { name: 'nono-history', script: 'services/history/dist/main.js', packageDir: 'services/history' },
  { name: 'nono-alerts', script: 'services/alerts/dist/main.js', packageDir: 'services/alerts' },
  { name: 'nono-scheduler', script: 'services/scheduler/dist/main.js', packageDir: 'services/scheduler' },
  { name: 'nono', script: 'services/cli/dist/main.js', packageDir: 'services/cli' },
  { name: 'nono-example-worker', script: 'examples/worker/dist/main.js', packageDir: 'examples/worker' },
] as const;

interface Run {
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(script: string, args: readonly string[]): Promise<Run> {
  const port = String(await freePort());
  const env = {
    ...process.env,
    NONO_API_PORT: port,
    NONO_HISTORY_PORT: port,
    NONO_ALERTS_PORT: port,
    NONO_SCHEDULER_PORT: port,
    WORKER_PORT: port,
    // Unreachable: a program that went on to start would fail or hang here, not succeed.
    NONO_ZK_CONNECT: '127.0.0.1:1',
    NONO_KAFKA_BROKERS: '127.0.0.1:1',
  };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, script), ...args],
      { env, cwd: REPO_ROOT, timeout: 10_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : (error.code ?? error.signal ?? null), stdout, stderr }),
    );
  });
}

function versionOf(packageDir: string): string {
  return (
    JSON.parse(readFileSync(join(REPO_ROOT, packageDir, 'package.json'), 'utf8')) as { version: string }
  ).version;
}

describe('every nono program answers --help and --version without starting anything', () => {
  it.each(BINARIES)('$name --help prints its usage and exits 0', async ({ name, script }) => {
    for (const flag of ['--help', '-h']) {
      const result = await run(script, [flag]);
      expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toMatch(new RegExp(`^[Uu]sage: ${name}\\b`, 'm'));
    }
  });

  it.each(BINARIES)('$name --version prints its version and exits 0', async ({ script, packageDir }) => {
    for (const flag of ['--version', '-V']) {
      const result = await run(script, [flag]);
      expect(result, result.stderr).toMatchObject({
        code: 0,
        stdout: `${versionOf(packageDir)}\n`,
        stderr: '',
      });
    }
  });

  it.each([
    { name: 'nono-api', script: 'services/api/dist/main.js' },
    { name: 'nono-history', script: 'services/history/dist/main.js' },
  ])('$name hash-token --help explains hash-token instead of hashing "--help"', async ({ name, script }) => {
    const result = await run(script, ['hash-token', '--help']);
    expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^Usage: ${name} hash-token <token>`, 'm'));
    // A token that starts with "-" can still be hashed, after "--".
    const hashed = await run(script, ['hash-token', '--', '--help']);
    expect(hashed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });
  });

  it.each([
    { name: 'nono-api', script: 'services/api/dist/main.js' },
    { name: 'nono-alerts', script: 'services/alerts/dist/main.js' },
    { name: 'nono-scheduler', script: 'services/scheduler/dist/main.js' },
  ])(
    '$name refuses an argument it does not know, with its usage, instead of starting',
    async ({ name, script }) => {
      const result = await run(script, ['--port', '7000']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${name}: unknown argument "--port"`);
      expect(result.stderr).toMatch(/Usage: /);
    },
  );
});
