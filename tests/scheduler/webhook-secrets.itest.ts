import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, apiRequest, startApiProcess } from '../support/api.js';
import { type TestCluster, layout, startTestCluster } from '../support/cluster.js';
import { eventually, isolate } from '../support/fixtures.js';
import { type RunningProcess, startExampleWorker } from '../support/processes.js';

/**
 * Webhook secrets per task and per host, end to end on real processes: an admin writes them
 * through the API (write-only), the API seals them into ZooKeeper under NONO_SECRETS_KEY, a
 * scheduler opens them and signs each call to that task or host with them instead of
 * NONO_WEBHOOK_SECRETS, and the example worker, which knows only the task's (or host's)
 * secret, verifies the calls. A rotation signs with both secrets; removing the old one signs
 * with the new only.
 */
const whsec = (): { text: string; base64: string; hex: string } => {
  const bytes = randomBytes(32);
  return {
    text: `whsec_${bytes.toString('base64')}`,
    base64: bytes.toString('base64'),
    hex: bytes.toString('hex'),
  };
};
const TOKENS = { viewer: 'viewer-token-webhook-secrets', admin: 'admin-token-webhook-secrets' };

describe('webhook secrets per task and per host', () => {
  const secretsKey = randomBytes(32).toString('base64');
  const fallback = whsec();
  let cluster: TestCluster;
  let api: ApiProcess;
  const workers: RunningProcess[] = [];

  const exampleWorker = async (name: string, secrets: string) => {
    const worker = await startExampleWorker(name, secrets);
    workers.push(worker.proc);
    return worker;
  };
  const succeeded = async (workerUrl: string): Promise<number> => {
    const state = (await (await fetch(`${workerUrl}/state`)).json()) as {
      counts: { ok?: { succeeded: number } };
    };
    return state.counts.ok?.succeeded ?? 0;
  };
  const call = (method: string, path: string, role: keyof typeof TOKENS, body?: unknown) =>
    apiRequest(api, TOKENS[role], method, path, body);
  const everySecond = (id: string, url: string) => ({
    id,
    name: id,
    schedule: { kind: 'cron', expression: '* * * * * *' },
    target: { url },
  });

  beforeAll(async () => {
    const iso = await isolate('webhook-secrets');
    cluster = await startTestCluster(iso, {
      schedulers: ['s1'],
      env: { NONO_WEBHOOK_SECRETS: fallback.text, NONO_SECRETS_KEY: secretsKey },
    });
    api = await startApiProcess(iso, TOKENS, { NONO_SECRETS_KEY: secretsKey });
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await api?.kill('SIGTERM');
    await cluster?.stop();
  });

  it("a task's own secret signs its calls, the worker verifies them; GET, the znode and the logs never show it", async () => {
    const secret = whsec();
    const worker = await exampleWorker('worker-task-secret', secret.text);
    const added = await call('POST', '/webhook-secrets/tasks/own-secret/secrets', 'admin', {
      secret: secret.text,
    });
    expect(added.status, added.text).toBe(201);
    expect(JSON.parse(added.text)).toMatchObject({
      scope: 'task',
      key: 'own-secret',
      secrets: [{ createdBy: expect.stringMatching(/^admin:/) as unknown }],
    });
    expect(
      (await call('POST', '/tasks', 'admin', everySecond('own-secret', `${worker.url}/jobs/ok`))).status,
    ).toBe(201);
    await eventually(
      async () => ((await succeeded(worker.url)) >= 2 ? true : undefined),
      20_000,
      'two verified calls',
    );

    const listed = await call('GET', '/webhook-secrets', 'admin');
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.text)).toMatchObject({ items: [{ scope: 'task', key: 'own-secret' }] });
    expect((await call('GET', '/webhook-secrets', 'viewer')).status).toBe(403);
    expect(
      (await call('POST', '/webhook-secrets/tasks/own-secret/secrets', 'viewer', { secret: secret.text }))
        .status,
    ).toBe(403);

    const { data } = await cluster.zk.get(layout.webhookSecretsOf('task', 'own-secret'));
    const answers = [added.text, listed.text, data.toString('utf8'), data.toString('latin1')];
    for (const log of [api.logFile, ...cluster.schedulers.map((s) => s.logFile)])
      answers.push(readFileSync(log, 'utf8'));
    for (const text of answers) {
      expect(text).not.toContain(secret.base64);
      expect(text).not.toContain(secret.hex);
    }
    expect(data.toString('utf8')).toContain('"ciphertext"');
  });

  it('a rotation: with the new secret added, a worker that knows only the new one verifies; removing the old one keeps it working', async () => {
    const [old, fresh] = [whsec(), whsec()];
    const worker = await exampleWorker('worker-rotated', fresh.text);
    const first = await call('POST', '/webhook-secrets/tasks/rotating/secrets', 'admin', {
      secret: old.text,
    });
    const oldId = (JSON.parse(first.text) as { secrets: { id: string }[] }).secrets[0]?.id ?? '';
    expect(
      (await call('POST', '/tasks', 'admin', everySecond('rotating', `${worker.url}/jobs/ok`))).status,
    ).toBe(201);
    await worker.proc.waitForLine(/refused an unverified call/, 20_000);

    const second = await call('POST', '/webhook-secrets/tasks/rotating/secrets', 'admin', {
      secret: fresh.text,
    });
    expect(second.status).toBe(201);
    expect((JSON.parse(second.text) as { secrets: unknown[] }).secrets).toHaveLength(2);
    const third = await call('POST', '/webhook-secrets/tasks/rotating/secrets', 'admin', {
      secret: whsec().text,
    });
    expect(third.status).toBe(409);
    expect(third.text).toContain('NONO_WEBHOOK_SECRETS_FULL');
    await eventually(
      async () => ((await succeeded(worker.url)) >= 1 ? true : undefined),
      20_000,
      'a call verified with the new secret',
    );

    expect((await call('DELETE', `/webhook-secrets/tasks/rotating/secrets/${oldId}`, 'admin')).status).toBe(
      204,
    );
    const before = await succeeded(worker.url);
    await eventually(
      async () => ((await succeeded(worker.url)) >= before + 2 ? true : undefined),
      20_000,
      'calls signed with the new secret only',
    );
    expect((await call('DELETE', `/webhook-secrets/tasks/rotating/secrets/${oldId}`, 'admin')).status).toBe(
      404,
    );
  });

  it("a host's own secret signs calls to that host:port, for tasks without their own", async () => {
    const secret = whsec();
    const worker = await exampleWorker('worker-host-secret', secret.text);
    const host = `localhost:${worker.port}`;
    expect(
      (await call('POST', `/webhook-secrets/hosts/${host}/secrets`, 'admin', { secret: secret.text })).status,
    ).toBe(201);
    expect(
      (
        await call(
          'POST',
          '/tasks',
          'admin',
          everySecond('by-host', `http://localhost:${worker.port}/jobs/ok`),
        )
      ).status,
    ).toBe(201);
    await eventually(
      async () => ((await succeeded(worker.url)) >= 2 ? true : undefined),
      20_000,
      'two calls verified with the host secret',
    );
  });

  it.each([
    ['65 bytes (schema-valid, too long for the specification)', 65, 422, 'NONO_INVALID_WEBHOOK_SECRET'],
    ['23 bytes (the schema refuses it)', 23, 400, 'NONO_INVALID_INPUT'],
  ])('refuses a secret of %s without repeating it', async (_what, bytes, status, code) => {
    const bad = `whsec_${randomBytes(bytes).toString('base64')}`;
    const refused = await call('POST', '/webhook-secrets/tasks/x/secrets', 'admin', { secret: bad });
    expect(refused.status).toBe(status);
    expect(refused.text).toContain(code);
    expect(refused.text).not.toContain(bad.slice(6, 30));
  });
});
