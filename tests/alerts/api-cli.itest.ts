import { createHash } from 'node:crypto';
import { type CliIo, ExitCode, runCli } from '@nono/cli';
import { createEvent, executionEventId, formatInstant, scheduledExecutionId } from '@nono/domain';
import { createKafka, encodeEvent } from '@nono/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertsProcess, startAlertsProcess } from '../support/alerts.js';
import { type Isolation, createIsolatedTopics, eventually, isolate } from '../support/fixtures.js';
import { startApiProcess } from '../support/cluster.js';
import { type RunningProcess } from '../support/processes.js';

const TOKENS = {
  viewer: 'viewer-token-alerts',
  operator: 'operator-token-alerts',
  admin: 'admin-token-alerts',
};
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Alerts through the API and the CLI, on real processes: the API proxies `/api/v1/alerts…`
 * to a real alerts service with its roles, and the `nono alerts` commands drive it.
 */
describe('alerts through the API and the CLI', () => {
  let iso: Isolation;
  let alerts: AlertsProcess;
  let api: RunningProcess;
  let apiUrl: string;

  beforeAll(async () => {
    iso = await isolate('alerts-api');
    await createIsolatedTopics(iso, 1);
    alerts = await startAlertsProcess(iso);
    const started = await startApiProcess(iso, {
      name: 'api',
      tokens: TOKENS,
      historyUrl: 'http://127.0.0.1:9',
      alertsUrl: alerts.url,
    });
    api = started;
    apiUrl = started.url;
  });
  afterAll(async () => {
    await api?.kill('SIGTERM');
    await alerts?.kill('SIGTERM');
  });

  async function nono(role: keyof typeof TOKENS, files: Record<string, string>, ...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      env: { NONO_API_URL: apiUrl, NONO_TOKEN: TOKENS[role] },
      homeDir: '/nonexistent',
      now: () => Date.now(),
      out: (text) => void (stdout += text),
      err: (text) => void (stderr += text),
      readFile: async (path) => files[path],
      writeFile: async () => undefined,
      tempPath: (suffix) => `/tmp/${suffix}`,
      openEditor: async () => undefined,
    };
    const code = await runCli(argv, io);
    return { code, stdout, stderr };
  }

  const call = (method: string, path: string, role: keyof typeof TOKENS, body?: unknown) =>
    fetch(`${apiUrl}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKENS[role]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('rules apply (admin only), then a failure shows in alerts ls, is acknowledged and silenced', async () => {
    const rules = {
      'rules.json': JSON.stringify([
        {
          id: 'pay-fails',
          name: 'payments fail',
          scope: { kind: 'task', taskId: 'pay' },
          condition: { kind: 'failed' },
        },
      ]),
    };
    const refused = await nono('operator', rules, 'alerts', 'rules', 'apply', '-f', 'rules.json');
    expect(refused.code).toBe(ExitCode.Auth);
    const applied = await nono('admin', rules, 'alerts', 'rules', 'apply', '-f', 'rules.json');
    expect(applied).toMatchObject({ code: 0, stdout: 'created rule pay-fails (revision 1)\n' });
    const again = await nono('admin', rules, 'alerts', 'rules', 'apply', '-f', 'rules.json');
    expect(again.stdout).toBe('replaced rule pay-fails (revision 2)\n');

    const nominal = Date.now();
    const executionId = scheduledExecutionId('pay', nominal);
    const producer = createKafka({ brokers: iso.kafkaBrokers, clientId: `facts-${iso.name}` }).producer();
    await producer.connect();
    await producer.send({
      topic: iso.topics.executions,
      messages: [
        encodeEvent(
          createEvent(
            'nono.execution.failed.v1',
            {
              taskId: 'pay',
              executionId,
              nominalTime: formatInstant(nominal),
              attempt: 1,
              schedulerId: 's1',
              fencingToken: 1,
              reason: 'scheduled',
              finishedAt: formatInstant(nominal + 50),
              durationMs: 50,
              httpStatus: 500,
              error: 'HTTP 500',
              willRetry: false,
            },
            {
              id: executionEventId(executionId, 'nono.execution.failed.v1', 1),
              source: 'nono://scheduler/s1',
              subject: 'pay',
              time: nominal + 50,
            },
          ),
        ),
      ],
    });
    await producer.disconnect();

    const listed = await eventually(
      async () => {
        const run = await nono('viewer', {}, '--json', 'alerts', 'ls');
        const open = JSON.parse(run.stdout) as { id: string; taskId: string }[];
        return open.length > 0 ? open : undefined;
      },
      30_000,
      'the alert to be listed',
    );
    const id = listed[0]?.id ?? '';
    expect(listed[0]?.taskId).toBe('pay');
    const table = await nono('viewer', {}, 'alerts', 'ls');
    expect(table.stdout).toContain(`${id}  open   pay`);

    expect((await nono('viewer', {}, 'alerts', 'ack', id, '--note', 'x')).code).toBe(ExitCode.Auth);
    const acked = await nono('operator', {}, 'alerts', 'ack', id, '--note', 'on it');
    expect(acked).toMatchObject({ code: 0, stdout: `acknowledged alert ${id}\n` });
    const silenced = await nono(
      'operator',
      {},
      'alerts',
      'silence',
      id,
      '--for',
      '1h',
      '--note',
      'maintenance',
    );
    expect(silenced.code).toBe(0);
    const read = (await (await call('GET', `/alerts/${id}`, 'viewer')).json()) as {
      acknowledged: { by: string; note: string };
      silence: { by: string; note: string };
      silencedUntil: string;
    };
    expect(read.acknowledged).toMatchObject({
      by: `operator:${sha256(TOKENS.operator).slice(0, 12)}`,
      note: 'on it',
    });
    expect(read.silence.note).toBe('maintenance');
    expect(Date.parse(read.silencedUntil) - Date.now()).toBeGreaterThan(3_500_000);
  });

  it('refuses bad input at the edge with the field named, and stale writes with 412', async () => {
    const badRule = await call('PUT', '/alerts/rules/bad', 'admin', {
      name: 'x',
      scope: { kind: 'all' },
      condition: { kind: 'dead-man', graceMs: 5 },
    });
    expect(badRule.status).toBe(400);
    expect(JSON.stringify(await badRule.json())).toContain('condition');
    const badId = await call('GET', '/alerts/rules/..%2Fadmin', 'viewer');
    expect(badId.status).toBe(400);
    const badSilence = await call(
      'POST',
      `/alerts/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}/silence`,
      'operator',
      {
        forMs: 5,
      },
    );
    expect(badSilence.status).toBe(400);
    expect(JSON.stringify(await badSilence.json())).toContain('forMs');
    const stale = await fetch(`${apiUrl}/api/v1/alerts/rules/pay-fails`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${TOKENS.admin}`,
        'content-type': 'application/json',
        'if-match': '"1"',
      },
      body: JSON.stringify({ name: 'x', scope: { kind: 'all' }, condition: { kind: 'failed' } }),
    });
    expect(stale.status).toBe(412);
    const unknown = await call('GET', `/alerts/${'1'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`, 'viewer');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe('NONO_ALERT_NOT_FOUND');
  });
});
