import { ExitCode } from '@nono/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertsProcess, publishFinalFailure, startAlertsProcess } from '../support/alerts.js';
import { type ApiProcess, runNono, sha256Hex as sha256, startApiProcess } from '../support/api.js';
import { collectEvents, startHistoryProcess } from '../support/cluster.js';
import { type Isolation, createIsolatedTopics, eventually, isolate } from '../support/fixtures.js';

const TOKENS = {
  viewer: 'viewer-token-alerts',
  operator: 'operator-token-alerts',
  admin: 'admin-token-alerts',
};

/**
 * Alerts through the API and the CLI, on real processes: the API proxies `/api/v1/alerts…`
 * to a real alerts service with its roles, and the `nono alerts` commands drive it.
 */
describe('alerts through the API and the CLI', () => {
  let iso: Isolation;
  let alerts: AlertsProcess;
  let history: Awaited<ReturnType<typeof startHistoryProcess>>;
  let api: ApiProcess;
  let apiUrl: string;

  beforeAll(async () => {
    iso = await isolate('alerts-api');
    await createIsolatedTopics(iso, 1);
    alerts = await startAlertsProcess(iso);
    history = await startHistoryProcess(iso);
    api = await startApiProcess(iso, TOKENS, {
      NONO_ALERTS_URL: alerts.url,
      NONO_HISTORY_URL: history.url,
      NONO_HISTORY_READ_TOKEN: history.readToken,
    });
    apiUrl = api.url;
  });
  afterAll(async () => {
    await api?.kill('SIGTERM');
    await alerts?.kill('SIGTERM');
    await history?.kill('SIGTERM');
  });

  const nono = (role: keyof typeof TOKENS, files: Record<string, string>, ...argv: string[]) =>
    runNono(apiUrl, TOKENS[role], argv, files);

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
          channels: [
            { kind: 'teams', url: 'http://127.0.0.1:9/teams' },
            { kind: 'google-chat', url: 'http://127.0.0.1:9/chat' },
          ],
        },
      ]),
    };
    const refused = await nono('operator', rules, 'alerts', 'rules', 'apply', '-f', 'rules.json');
    expect(refused.code).toBe(ExitCode.Auth);
    const applied = await nono('admin', rules, 'alerts', 'rules', 'apply', '-f', 'rules.json');
    expect(applied).toMatchObject({ code: 0, stdout: 'created rule pay-fails (revision 1)\n' });
    const again = await nono('admin', rules, 'alerts', 'rules', 'apply', '-f', 'rules.json');
    expect(again.stdout).toBe('replaced rule pay-fails (revision 2)\n');
    const listedRules = await nono('viewer', {}, 'alerts', 'rules', 'ls');
    expect(listedRules.stdout).toMatch(/pay-fails +2 +true .* teams,google-chat +payments fail/);
    // A chat webhook URL is a credential: below admin only its origin shows; admin reads it whole.
    const channelsAs = async (role: 'viewer' | 'operator' | 'admin', path: string) => {
      const body = (await (await call('GET', path, role)).json()) as {
        channels?: unknown[];
        rules?: Array<{ channels: unknown[] }>;
      };
      return body.channels ?? body.rules?.[0]?.channels;
    };
    const redacted = [
      { kind: 'teams', url: 'http://127.0.0.1:9/…' },
      { kind: 'google-chat', url: 'http://127.0.0.1:9/…' },
    ];
    expect(await channelsAs('viewer', '/alerts/rules/pay-fails')).toEqual(redacted);
    expect(await channelsAs('operator', '/alerts/rules')).toEqual(redacted);
    expect(await channelsAs('admin', '/alerts/rules/pay-fails')).toEqual([
      { kind: 'teams', url: 'http://127.0.0.1:9/teams' },
      { kind: 'google-chat', url: 'http://127.0.0.1:9/chat' },
    ]);

    await publishFinalFailure(iso, 'pay', Date.now());

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
    // Found by schemathesis: a list given as an object passed (stored as no channels), and a
    // URL of the right type but not http(s) was a 400 where the schema allowed it (now 422).
    const objectChannels = await call('PUT', '/alerts/rules/bad', 'admin', {
      name: 'x',
      scope: { kind: 'all' },
      condition: { kind: 'failed' },
      channels: {},
    });
    expect(objectChannels.status).toBe(400);
    expect(JSON.stringify(await objectChannels.json())).toContain('channels');
    const notHttp = await call('PUT', '/alerts/rules/bad', 'admin', {
      name: 'x',
      scope: { kind: 'all' },
      condition: { kind: 'failed' },
      channels: [{ kind: 'slack', url: 'ftp://hooks.example/x' }],
    });
    expect(notHttp.status).toBe(422);
    expect(await notHttp.json()).toMatchObject({
      code: 'NONO_INVALID_ALERT_RULE',
      errors: [{ field: 'channels[0].url' }],
    });
    // Every HTTP channel obeys the host allow-list task targets obey (127.0.0.1 and localhost here).
    const offList = await call('PUT', '/alerts/rules/bad', 'admin', {
      name: 'x',
      scope: { kind: 'all' },
      condition: { kind: 'failed' },
      channels: [
        { kind: 'teams', url: 'https://example.webhook.office.com/webhookb2/x' },
        { kind: 'google-chat', url: 'https://chat.googleapis.com/v1/spaces/x/messages?key=k&token=t' },
      ],
    });
    expect(offList.status).toBe(422);
    expect(await offList.json()).toMatchObject({
      code: 'NONO_INVALID_ALERT_RULE',
      errors: [{ field: 'channels[0].url' }, { field: 'channels[1].url' }],
    });
    const someAlert = `/alerts/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}/silence`;
    const both = await call('POST', someAlert, 'operator', { forMs: 60_000, until: '2099-01-01T00:00:00Z' });
    expect(both.status).toBe(400);
    const past = await call('POST', someAlert, 'operator', { until: '2001-01-01T00:00:00Z' });
    expect(past.status).toBe(422);
    expect(((await past.json()) as { code: string }).code).toBe('NONO_INVALID_SILENCE');
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

  it('the OpenAPI document lists every channel kind in the rule body and in the deliveries', async () => {
    const doc = (await (await fetch(`${apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown; responses?: unknown }>>;
    };
    const put = JSON.stringify(doc.paths['/api/v1/alerts/rules/{id}']?.['put']?.requestBody);
    const detail = JSON.stringify(doc.paths['/api/v1/alerts/{id}']?.['get']?.responses);
    for (const kind of ['webhook', 'slack', 'teams', 'google-chat', 'email']) {
      expect(put).toContain(`"${kind}"`);
      expect(detail).toContain(`"${kind}"`);
    }
  });

  it('rule changes through the API are audit facts on the alerts topic, naming the admin who made them', async () => {
    const deleted = await call('DELETE', '/alerts/rules/pay-fails', 'admin');
    expect(deleted.status).toBe(204);
    const admin = { kind: 'token', id: `admin:${sha256(TOKENS.admin).slice(0, 12)}` };
    const log = await collectEvents(iso, iso.topics.alerts);
    try {
      const changes = await eventually(
        () => {
          const found = log.events.filter(
            (e) => e.type.startsWith('nono.alert-rule.') && e.subject === 'pay-fails',
          );
          return found.length >= 3 ? found : undefined;
        },
        30_000,
        'the rule changes on the alerts topic',
      );
      expect(changes.map((e) => [e.type, 'revision' in e.data ? e.data.revision : undefined])).toEqual([
        ['nono.alert-rule.defined.v1', 1],
        ['nono.alert-rule.updated.v1', 2],
        ['nono.alert-rule.deleted.v1', 2],
      ]);
      for (const change of changes)
        expect('actor' in change.data ? change.data.actor : undefined).toEqual(admin);
    } finally {
      await log.stop();
    }

    // History projects them from the alerts topic: the API's audit trail lists who did what, when.
    const audit = await eventually(
      async () => {
        const response = await call('GET', '/audit?ruleId=pay-fails', 'viewer');
        const body = (await response.json()) as { items: Record<string, unknown>[] };
        return body.items.length >= 3 ? body.items : undefined;
      },
      30_000,
      "the rule's changes in the API's audit trail",
    );
    expect(audit.map((item) => [item['type'], item['revision'], item['actorId'], item['subject']])).toEqual([
      ['nono.alert-rule.deleted.v1', 2, admin.id, 'alert-rule'],
      ['nono.alert-rule.updated.v1', 2, admin.id, 'alert-rule'],
      ['nono.alert-rule.defined.v1', 1, admin.id, 'alert-rule'],
    ]);
    expect(audit[1]).toMatchObject({
      ruleId: 'pay-fails',
      taskId: null,
      before: { revision: 1, name: 'payments fail' },
      after: { revision: 2, name: 'payments fail' },
    });
    for (const item of audit) expect(Date.parse(String(item['at']))).toBeGreaterThan(Date.now() - 120_000);
    // Alert transitions share the topic; history keeps none of them, so only the rule changes are listed.
    const all = (await (await call('GET', '/audit', 'viewer')).json()) as { items: unknown[] };
    expect(all.items).toHaveLength(3);
    const cli = await nono('viewer', {}, 'audit', '--rule', 'pay-fails');
    expect(cli.stdout).toMatch(new RegExp(`rule:pay-fails +deleted +${admin.id} +2`));
  });
});
