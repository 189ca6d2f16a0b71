import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIsolatedTopics, eventually, isolate } from '../support/fixtures.js';
import { type AlertsProcess, publishFinalFailure, putRule, startAlertsProcess } from '../support/alerts.js';
import { REPO_ROOT, type RunningProcess, freePort, startProcess } from '../support/processes.js';

/**
 * Schemathesis (PyPI) with every check against the two OpenAPI documents, on real
 * processes: history, and the API in front of it on a ZooKeeper chroot and topic prefix of
 * its own (the fuzzer holds an admin token and deletes whatever tasks it finds). The one
 * setting, which answers count as accepting a schema-valid request, is in
 * tests/fuzz/schemathesis.toml. `.ci/run` installs schemathesis; without it this test fails
 * rather than skips, so CI cannot pass without running it.
 */
const CONFIG = join(REPO_ROOT, 'tests/fuzz/schemathesis.toml');
const ADMIN_TOKEN = 'fuzz-admin-token-not-a-secret';
const READ_TOKEN = 'fuzz-history-read-token-not-a-secret';
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** NONO_SCHEMATHESIS, else the venv `.ci/run` makes, else one on PATH. */
function findSchemathesis(): string {
  const candidates = [
    process.env['NONO_SCHEMATHESIS'],
    join(REPO_ROOT, '.venv-schemathesis/bin/schemathesis'),
    'schemathesis',
  ].filter((candidate): candidate is string => candidate !== undefined && candidate !== '');
  for (const candidate of candidates) {
    if (candidate.includes('/') && !existsSync(candidate)) continue;
    if (spawnSync(candidate, ['--version'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  throw new Error(
    'schemathesis is not installed: run `python3 -m venv .venv-schemathesis && ' +
      '.venv-schemathesis/bin/pip install schemathesis==4.32.5` (as .ci/run does), or set NONO_SCHEMATHESIS',
  );
}

function runSchemathesis(
  binary: string,
  documentUrl: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      binary,
      [
        '--config-file',
        CONFIG,
        'run',
        documentUrl,
        '--checks',
        'all',
        '--header',
        `Authorization: Bearer ${ADMIN_TOKEN}`,
        '--max-examples',
        process.env['NONO_FUZZ_MAX_EXAMPLES'] ?? '25',
        '--no-color',
      ],
      // Its working directory gets a cache (.schemathesis/): a temporary one, not the repository.
      { cwd: mkdtempSync(join(tmpdir(), 'nono-schemathesis-')) },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('schemathesis, every check, against both services', () => {
  let binary: string;
  let history: RunningProcess;
  let api: RunningProcess;
  let alerts: AlertsProcess;
  let historyUrl: string;
  let apiUrl: string;

  beforeAll(async () => {
    binary = findSchemathesis();
    const iso = await isolate('schemathesis');
    await createIsolatedTopics(iso, 1);
    const [historyPort, apiPort] = [await freePort(), await freePort()];
    historyUrl = `http://127.0.0.1:${historyPort}`;
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const shared = {
      NONO_KAFKA_BROKERS: iso.kafkaBrokers.join(','),
      NONO_TOPIC_PREFIX: iso.topicPrefix,
      NONO_LOG_LEVEL: 'warn',
    };
    history = startProcess('history-fuzz', 'services/history/dist/main.js', {
      ...shared,
      NONO_HISTORY_PORT: String(historyPort),
      NONO_HISTORY_DB: join(mkdtempSync(join(tmpdir(), 'nono-fuzz-')), 'history.sqlite'),
      NONO_HISTORY_GROUP_ID: `${iso.topicPrefix}history`,
      NONO_HISTORY_READ_TOKENS: sha256(READ_TOKEN),
      NONO_HISTORY_ADMIN_TOKENS: sha256(ADMIN_TOKEN),
    });
    // The API proxies the alerts service too: without one its alert routes could only answer 502.
    alerts = await startAlertsProcess(iso, { env: { NONO_LOG_LEVEL: 'warn' } });
    api = startProcess('api-fuzz', 'services/api/dist/main.js', {
      ...shared,
      NONO_ZK_CONNECT: iso.zkConnect,
      NONO_API_PORT: String(apiPort),
      NONO_HISTORY_URL: historyUrl,
      NONO_ALERTS_URL: alerts.url,
      NONO_HISTORY_READ_TOKEN: READ_TOKEN,
      NONO_API_TOKENS: `admin:${sha256(ADMIN_TOKEN)}`,
      NONO_API_RATE_LIMIT_PER_MINUTE: '1000000',
      // Offers the webhook-secret routes, so they are fuzzed too.
      NONO_SECRETS_KEY: Buffer.alloc(32, 5).toString('base64'),
    });
    for (const url of [historyUrl, apiUrl])
      await eventually(
        async () =>
          (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined,
        60_000,
        `${url} to be ready`,
      );
    // An open alert, so the fuzzer's reads, acknowledgements and silences (reached through the
    // links from GET /alerts) get past "no such alert" to the service's own logic.
    await putRule(alerts.url, 'fuzz-failures', {
      name: 'fuzz failures',
      scope: { kind: 'all' },
      condition: { kind: 'failed' },
    });
    await publishFinalFailure(iso, 'fuzzed-task', Date.now());
    await eventually(
      async () => {
        const listed = (await (await fetch(`${alerts.url}/alerts`)).json()) as { alerts: unknown[] };
        return listed.alerts.length > 0 ? true : undefined;
      },
      30_000,
      'the seeded alert to open',
    );
  });
  afterAll(async () => {
    await api?.kill();
    await alerts?.kill();
    await history?.kill();
  });

  it.each([
    ['history', () => historyUrl],
    ['the API', () => apiUrl],
  ])(
    '%s: no failure',
    async (name, url) => {
      const { code, output } = await runSchemathesis(binary, `${url()}/openapi.json`);
      // The whole report stays behind for a failure's details and its `st replay` ids.
      mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
      writeFileSync(join(REPO_ROOT, 'test-results', `schemathesis-${name.replace(/\W+/g, '-')}.txt`), output);
      const failures = output.indexOf('FAILURES');
      expect(code, output.slice(failures === -1 ? -6_000 : failures, failures + 12_000)).toBe(0);
      expect(output).toMatch(/\d+ passed/);
    },
    300_000,
  );
});
