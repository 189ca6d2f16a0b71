import { mkdtempSync } from 'node:fs';
import {
  type AlertView,
  type NonoEvent,
  createEvent,
  executionEventId,
  formatInstant,
  scheduledExecutionId,
} from '@nono/domain';
import { createKafka, encodeEvent } from '@nono/events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Isolation, eventually } from './isolation.js';
import { type RunningProcess, freePort, startProcess } from './processes.js';

/** The alerts service (built dist) and the real receivers its channels call, for the alerts tests. */

export interface AlertsProcess extends RunningProcess {
  readonly url: string;
  readonly dbFile: string;
}

export async function startAlertsProcess(
  iso: Isolation,
  options: { dbFile?: string; port?: number; env?: Record<string, string> } = {},
): Promise<AlertsProcess> {
  const port = options.port ?? (await freePort());
  const dbFile = options.dbFile ?? join(mkdtempSync(join(tmpdir(), 'nono-alerts-')), 'alerts.sqlite');
  const proc = startProcess('alerts', 'services/alerts/dist/main.js', {
    NONO_KAFKA_BROKERS: iso.kafkaBrokers.join(','),
    NONO_TOPIC_PREFIX: iso.topicPrefix,
    NONO_ALERTS_DB: dbFile,
    NONO_ALERTS_PORT: String(port),
    NONO_ALERTS_GROUP_ID: `alerts-${iso.name}`,
    NONO_ALERTS_DEAD_MAN_CHECK_MS: '250',
    NONO_ALERTS_RETRY_INITIAL_MS: '200',
    NONO_ALERTS_RETRY_MAX_MS: '1000',
    NONO_LOG_LEVEL: 'info',
    ...options.env,
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined),
    30_000,
    `alerts to answer (log: ${proc.logFile})`,
  );
  return Object.assign(proc, { url, dbFile });
}

export async function putRule(alertsUrl: string, id: string, rule: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${alertsUrl}/rules/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(rule),
  });
  if (response.status >= 300)
    throw new Error(`PUT /rules/${id}: ${response.status} ${await response.text()}`);
}

/** Publishes events to one of the isolation's topics (keyed as nono keys them), 500 to a request. */
export async function publishFacts(
  iso: Isolation,
  topic: string,
  events: readonly NonoEvent[],
): Promise<void> {
  const producer = createKafka({ brokers: iso.kafkaBrokers, clientId: `facts-${iso.name}` }).producer();
  await producer.connect();
  try {
    for (let from = 0; from < events.length; from += 500)
      await producer.send({
        topic,
        messages: events.slice(from, from + 500).map((event) => encodeEvent(event)),
      });
  } finally {
    await producer.disconnect();
  }
}

/** Publishes what a scheduler would after the last attempt of `taskId`'s instant at `nominal` failed. */
export async function publishFinalFailure(iso: Isolation, taskId: string, nominal: number): Promise<void> {
  const executionId = scheduledExecutionId(taskId, nominal);
  await publishFacts(iso, iso.topics.executions, [
    createEvent(
      'nono.execution.failed.v1',
      {
        taskId,
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
        subject: taskId,
        time: nominal + 50,
      },
    ),
  ]);
}

/** The alerts the alerts service lists (`state`: open by default, resolved or all). */
export async function listAlerts(
  alertsUrl: string,
  state: 'open' | 'resolved' | 'all' = 'all',
): Promise<AlertView[]> {
  return (
    (await (await fetch(`${alertsUrl}/alerts?state=${state}&limit=1000`)).json()) as { alerts: AlertView[] }
  ).alerts;
}

export interface ReceivedRequest {
  readonly path: string;
  readonly key: string;
  readonly webhookId: string;
  readonly signature: string | undefined;
  readonly timestamp: string;
  readonly body: {
    readonly type?: string;
    readonly text?: string;
    readonly attachments?: unknown;
    readonly cardsV2?: unknown;
    readonly alert?: { readonly id: string; readonly taskId: string; readonly condition: string };
  };
  readonly raw: string;
  readonly answered: number;
  readonly at: number;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly process: RunningProcess;
  requests(): Promise<ReceivedRequest[]>;
  failFor(ms: number): Promise<void>;
}

export async function startWebhookReceiver(env: Record<string, string> = {}): Promise<WebhookReceiver> {
  const proc = startProcess('webhook-receiver', 'tests/support/webhook-receiver.mjs', { PORT: '0', ...env });
  const line = await proc.waitForLine(/^listening \d+/);
  const url = `http://127.0.0.1:${line.split(' ')[1]}`;
  return {
    url,
    process: proc,
    requests: async () => (await (await fetch(`${url}/requests`)).json()) as ReceivedRequest[],
    failFor: async (ms) => void (await fetch(`${url}/fail?ms=${ms}`, { method: 'POST' })),
  };
}

export interface ReceivedMail {
  readonly to: string[];
  readonly subject: string | undefined;
  readonly messageId: string | undefined;
  readonly idempotencyKey: string | undefined;
  readonly raw: string;
}

export interface SmtpReceiver {
  readonly smtpUrl: string;
  readonly process: RunningProcess;
  messages(): Promise<ReceivedMail[]>;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const proc = startProcess('smtp-receiver', 'tests/support/smtp-receiver.mjs', {});
  const line = await proc.waitForLine(/^listening \d+ \d+/);
  const [, smtpPort, httpPort] = line.split(' ');
  return {
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    process: proc,
    messages: async () =>
      (await (await fetch(`http://127.0.0.1:${httpPort}/messages`)).json()) as ReceivedMail[],
  };
}
