import { randomBytes } from 'node:crypto';
import { type NonoEvent, verifyWebhook } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNono } from '../support/api.js';
import { type WebhookReceiver, startWebhookReceiver } from '../support/alerts.js';
import { eventually, isolate } from '../support/fixtures.js';
import { type OperatedCluster, startOperatedCluster } from '../support/operated-cluster.js';
import { freePort } from '../support/processes.js';

const ADMIN = 'cancel-url-admin';
const SECRET = randomBytes(32);

interface CancelCall {
  url: string;
  httpStatus?: number;
  error?: string;
  durationMs: number;
}

/**
 * A task's cancel URL on real processes (API, scheduler, worker, a separate HTTP receiver as the
 * cancel URL, Kafka, history): after an operator's cancel aborts the running call, the scheduler
 * POSTs the execution id, task id, nominal instant and attempt to the cancel URL, signed like
 * the call, and records its answer on the cancelled fact, which history and the CLI show; a
 * cancel URL that does not answer is recorded as such and the cancel still completes.
 */
describe('cancel URL', () => {
  let env: OperatedCluster;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    env = await startOperatedCluster(await isolate('cancel-url'), {
      schedulers: ['cu1'],
      admin: ADMIN,
      schedulerEnv: { NONO_WEBHOOK_SECRETS: `whsec_${SECRET.toString('base64')}` },
    });
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receiver?.process.kill();
    await env?.stop();
  });

  async function startSlowRun(
    id: string,
    cancelUrl: string,
  ): Promise<{ executionId: string; nominal: string }> {
    const created = await env.call('POST', '/tasks', {
      id,
      name: id,
      schedule: { kind: 'interval', everyMs: 3_600_000 },
      target: { url: `${env.cluster.worker.url}/slow/${id}?ms=60000`, timeoutMs: 60_000, cancelUrl },
      retry: { maxAttempts: 3, initialBackoffMs: 100 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await env.call('POST', `/tasks/${id}/trigger`, {})).status).toBe(202);
    const call = await eventually(
      async () => (await env.cluster.worker.calls()).find((c) => c.taskId === id),
      20_000,
      `the call of ${id} to start`,
    );
    return { executionId: call.executionId, nominal: call.nominal };
  }

  const cancelledFact = (executionId: string): Promise<NonoEvent> =>
    eventually(
      () =>
        env.facts.find((e) => e.type === 'nono.execution.cancelled.v1' && e.data.executionId === executionId),
      20_000,
      `the cancelled fact of ${executionId}`,
    );

  it('calls the cancel URL, signed, after aborting the call, and records its answer', async () => {
    const run = await startSlowRun('cancel-with-url', `${receiver.url}/jobs/cancel`);
    const cancelled = await env.call('POST', `/tasks/cancel-with-url/executions/${run.executionId}/cancel`, {
      note: 'stuck, INC-7',
    });
    expect(cancelled.status).toBe(202);

    const request = await eventually(
      async () => (await receiver.requests()).find((r) => r.path === '/jobs/cancel'),
      20_000,
      'the cancel URL to be called',
    );
    expect(request.body).toEqual({
      executionId: run.executionId,
      taskId: 'cancel-with-url',
      nominalTime: run.nominal,
      attempt: 1,
      cancelledBy: expect.any(String) as unknown,
      note: 'stuck, INC-7',
    });
    expect(request.key).toBe(run.executionId);
    expect(
      verifyWebhook(
        [SECRET],
        { id: request.webhookId, timestamp: request.timestamp, signature: request.signature },
        request.raw,
        Date.now(),
      ),
    ).toEqual({ ok: true });
    expect(request.webhookId).toBe(`${run.executionId}:cancel`);

    const fact = await cancelledFact(run.executionId);
    expect((fact.data as { cancelCall?: CancelCall }).cancelCall).toMatchObject({
      url: `${receiver.url}/jobs/cancel`,
      httpStatus: 200,
    });
    // The cancel URL was called after the call was aborted, before the fact was published.
    expect(request.at).toBeLessThanOrEqual(Date.parse(fact.time) + 1_000);

    const detail = await eventually(
      async () => {
        const { body } = await env.call('GET', `/executions/${run.executionId}`);
        const shown = body as { status?: string; attemptHistory?: Array<{ cancelCall: CancelCall | null }> };
        return shown.status === 'cancelled' ? shown : undefined;
      },
      20_000,
      'history to show it cancelled',
    );
    expect(detail.attemptHistory?.[0]?.cancelCall).toMatchObject({ httpStatus: 200 });
    const cli = await runNono(env.api.url, ADMIN, ['execution', run.executionId]);
    expect(cli.stdout).toContain(`attempt 1 cancel URL ${receiver.url}/jobs/cancel: answered 200`);
    // One call to the worker: no retry after a cancel.
    expect((await env.cluster.worker.calls()).filter((c) => c.taskId === 'cancel-with-url')).toHaveLength(1);
  });

  it('records a cancel URL that does not answer, and still completes the cancel', async () => {
    const deadPort = await freePort();
    const run = await startSlowRun('cancel-url-down', `http://127.0.0.1:${deadPort}/cancel`);
    expect(
      (await env.call('POST', `/tasks/cancel-url-down/executions/${run.executionId}/cancel`, {})).status,
    ).toBe(202);
    const fact = await cancelledFact(run.executionId);
    const call = (fact.data as { cancelCall?: CancelCall }).cancelCall;
    expect(call?.httpStatus).toBeUndefined();
    expect(call?.error).toMatch(/ECONNREFUSED/);
  });

  it('refuses a cancel URL that is not an absolute http(s) URL, naming the field', async () => {
    const refused = await env.call('POST', '/tasks', {
      id: 'bad-cancel-url',
      name: 'bad',
      schedule: { kind: 'interval', everyMs: 3_600_000 },
      target: { url: `${env.cluster.worker.url}/ok/x`, cancelUrl: 'ftp://example.com/cancel' },
    });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body)).toContain('target.cancelUrl');
  });
});
