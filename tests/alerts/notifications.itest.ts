import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AlertsProcess,
  type ReceivedRequest,
  type SmtpReceiver,
  type WebhookReceiver,
  putRule,
  startAlertsProcess,
  startSmtpReceiver,
  startWebhookReceiver,
} from '../support/alerts.js';
import {
  type SchedulerProcess,
  type TestCluster,
  buildTask,
  publishDefinitions,
  putTask,
  startScheduler,
  startTestCluster,
  updateTask,
} from '../support/cluster.js';
import { eventually, isolate } from '../support/fixtures.js';

const SECRET = `whsec_${Buffer.from('a test secret of 24 bytes').toString('base64')}`;

/**
 * The alerts service on real processes: a scheduler calling a real worker, the alerts
 * service reading the topics, a real webhook receiver and a real SMTP server.
 */
describe('alerts on a real cluster', () => {
  let cluster: TestCluster;
  let alerts: AlertsProcess;
  let receiver: WebhookReceiver;
  let smtp: SmtpReceiver;

  beforeAll(async () => {
    cluster = await startTestCluster(await isolate('alerts'), { schedulers: [] });
    receiver = await startWebhookReceiver();
    smtp = await startSmtpReceiver();
    alerts = await startAlertsProcess(cluster.iso, { env: { NONO_ALERTS_SMTP_URL: smtp.smtpUrl } });
  });
  afterAll(async () => {
    await alerts?.kill('SIGTERM');
    await receiver?.process.kill();
    await smtp?.process.kill();
    await cluster?.stop();
  });

  const received = async (
    predicate: (request: ReceivedRequest) => boolean,
    what: string,
  ): Promise<ReceivedRequest> =>
    eventually(async () => (await receiver.requests()).find(predicate), 30_000, what);

  it('a failing task opens an alert: the webhook (signed), the Slack, Microsoft Teams and Google Chat webhooks and an email get it; a later success resolves it', async () => {
    const scheduler = await startScheduler(cluster.iso, 'n1');
    cluster.schedulers.push(scheduler);
    await putRule(alerts.url, 'flaky-fails', {
      name: 'flaky fails',
      scope: { kind: 'label', selector: 'team:payments' },
      condition: { kind: 'failed' },
      channels: [
        { kind: 'webhook', url: `${receiver.url}/hook`, secret: SECRET },
        { kind: 'slack', url: `${receiver.url}/slack` },
        { kind: 'teams', url: `${receiver.url}/teams` },
        { kind: 'google-chat', url: `${receiver.url}/google-chat` },
        { kind: 'email', to: ['oncall@example.com'] },
      ],
    });
    const task = buildTask('flaky', {
      schedule: { kind: 'interval', everyMs: 2_000 },
      target: { url: `${cluster.worker.url}/fail/flaky` },
      labels: { team: 'payments' },
    });
    await publishDefinitions(cluster.iso, [task]);
    await putTask(cluster.zk, task);

    const opened = await received(
      (r) => r.path === '/hook' && r.body.type === 'nono.alert.opened',
      'the webhook to get the opened alert',
    );
    expect(opened.body.alert).toMatchObject({ taskId: 'flaky', condition: 'failed' });
    const alertId = opened.body.alert?.id ?? '';
    expect(opened.key).toBe(`flaky-fails:flaky:${alertId}:opened`);
    expect(opened.webhookId).toBe(opened.key);
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key)
      .update(`${opened.webhookId}.${opened.timestamp}.${opened.raw}`)
      .digest('base64');
    expect(opened.signature).toBe(`v1,${expected}`);
    const slack = await received(
      (r) => r.path === '/slack' && r.key === opened.key,
      'the Slack-style webhook',
    );
    expect(slack.body.text).toContain('[nono] OPEN: flaky fails on task flaky');
    // Teams and Google Chat get their own formats through the same outbox, under the same key.
    const teams = await received((r) => r.path === '/teams' && r.key === opened.key, 'the Teams webhook');
    expect(teams.webhookId).toBe(opened.key);
    expect(teams.body).toMatchObject({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: { type: 'AdaptiveCard', version: '1.4' },
        },
      ],
    });
    expect(teams.raw).toContain('[nono] OPEN: flaky fails on task flaky');
    expect(teams.raw).toContain(alertId);
    const chat = await received(
      (r) => r.path === '/google-chat' && r.key === opened.key,
      'the Google Chat webhook',
    );
    expect(chat.body.text).toContain('[nono] OPEN: flaky fails on task flaky');
    expect(chat.body).toMatchObject({
      cardsV2: [
        {
          cardId: `nono-alert-${alertId}`,
          card: { header: { title: '[nono] OPEN: flaky fails on task flaky' } },
        },
      ],
    });
    const mail = await eventually(
      async () => (await smtp.messages()).find((m) => m.idempotencyKey === opened.key),
      30_000,
      'the email to arrive at the SMTP server',
    );
    expect(mail).toMatchObject({
      to: ['oncall@example.com'],
      subject: '[nono] OPEN: flaky fails on task flaky',
    });
    expect(mail.raw).toContain(alertId);

    await updateTask(cluster.zk, 'flaky', () => ({
      target: { ...task.target, url: `${cluster.worker.url}/ok/flaky` },
    }));
    const resolved = await received(
      (r) => r.path === '/hook' && r.body.type === 'nono.alert.resolved',
      'the webhook to get the resolved alert',
    );
    expect(resolved.key).toBe(`flaky-fails:flaky:${alertId}:resolved`);
    for (const path of ['/teams', '/google-chat'])
      await received((r) => r.path === path && r.key === resolved.key, `the resolved alert at ${path}`);
    const state = (await (await fetch(`${alerts.url}/alerts/${alertId}`)).json()) as {
      state: string;
      resolveReason: string;
    };
    expect(state).toMatchObject({ state: 'resolved', resolveReason: 'cleared' });
    await scheduler.kill('SIGTERM');
    cluster.schedulers.splice(cluster.schedulers.indexOf(scheduler), 1);
  });

  it('dead-man: the only scheduler SIGSTOPped past the grace opens an alert; after SIGCONT it fires again and the alert resolves', async () => {
    // A session longer than the freeze: the scheduler resumes as the owner and catches up.
    const scheduler: SchedulerProcess = await startScheduler(cluster.iso, 'd1', {
      NONO_ZK_SESSION_TIMEOUT_MS: '30000',
    });
    cluster.schedulers.push(scheduler);
    const task = buildTask('heartbeat', {
      schedule: { kind: 'interval', everyMs: 1_000 },
      target: { url: `${cluster.worker.url}/ok/heartbeat` },
    });
    await publishDefinitions(cluster.iso, [task]);
    await putTask(cluster.zk, task);
    await putRule(alerts.url, 'heartbeat-stale', {
      name: 'heartbeat stale',
      scope: { kind: 'task', taskId: 'heartbeat' },
      condition: { kind: 'dead-man', graceMs: 3_000 },
      channels: [{ kind: 'webhook', url: `${receiver.url}/deadman` }],
    });
    await eventually(
      async () =>
        (await cluster.worker.calls()).filter((c) => c.taskId === 'heartbeat').length >= 3 ? true : undefined,
      20_000,
      'the heartbeat to run',
    );
    // Running and succeeding: no alert.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect((await receiver.requests()).filter((r) => r.path === '/deadman')).toEqual([]);

    scheduler.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    const opened = await received(
      (r) => r.path === '/deadman' && r.body.type === 'nono.alert.opened',
      'the dead-man alert to open',
    );
    const openedAfterMs = opened.at - stoppedAt;
    expect(opened.body.alert).toMatchObject({ taskId: 'heartbeat', condition: 'dead-man' });
    expect(openedAfterMs).toBeGreaterThanOrEqual(3_000);
    expect(openedAfterMs).toBeLessThan(8_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 8_000 - (Date.now() - stoppedAt))));
    scheduler.child.kill('SIGCONT');
    const resolved = await received(
      (r) =>
        r.path === '/deadman' &&
        r.body.type === 'nono.alert.resolved' &&
        r.body.alert?.id === opened.body.alert?.id,
      'the dead-man alert to resolve',
    );
    expect(resolved.key).toBe(`heartbeat-stale:heartbeat:${opened.body.alert?.id}:resolved`);
    process.stdout.write(
      `dead-man: opened ${openedAfterMs} ms after SIGSTOP, resolved ${resolved.at - stoppedAt} ms after it (SIGCONT at 8000 ms)\n`,
    );
  });
});
