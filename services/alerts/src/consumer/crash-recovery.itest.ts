import { uuidV5 } from '@nono/domain';
import { createKafka, encodeEvent } from '@nono/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AlertsProcess,
  type WebhookReceiver,
  putRule,
  startAlertsProcess,
  startWebhookReceiver,
} from '../../../../tests/support/alerts.js';
import {
  type Isolation,
  createIsolatedTopics,
  eventually,
  isolate,
} from '../../../../tests/support/fixtures.js';
// Brings the `inject('kafkaBrokers')` typing of the global setup into this program (type-only, erased).
import type {} from '../../../../tests/support/global-setup.js';
import { executionFact } from '../testing/facts.js';

/**
 * Notifications survive a crash and a failing receiver: the alerts service SIGKILLed part
 * way through a stream of failures and successes and restarted on the same database sends
 * every notification at least once, each under the one idempotency key derived from its
 * rule, task, alert and transition; a receiver that answers 500 for a while gets every
 * notification once it accepts again.
 */
describe('alerts: delivery across a crash and a failing receiver', () => {
  let iso: Isolation;
  let receiver: WebhookReceiver;
  let alerts: AlertsProcess | undefined;

  beforeAll(async () => {
    iso = await isolate('alerts-crash');
    await createIsolatedTopics(iso, 3);
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await alerts?.kill('SIGTERM');
    await receiver?.process.kill();
  });

  /**
   * Publishes, per task, a final failure and then a success, dated now (a rule holds no fact
   * older than itself against a task): one opened and one resolved notification each.
   */
  async function publishFailuresThenSuccesses(prefix: string, tasks: number): Promise<string[]> {
    const T0 = Date.now();
    const producer = createKafka({ brokers: iso.kafkaBrokers, clientId: `facts-${iso.name}` }).producer();
    await producer.connect();
    const keys: string[] = [];
    try {
      const ids = Array.from({ length: tasks }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
      const failures = ids.map((taskId) => executionFact(taskId, T0, 'failed'));
      for (const [i, failure] of failures.entries()) {
        const taskId = ids[i] ?? '';
        const alertId = uuidV5(`alert|on-failure|${taskId}|${failure.id}`);
        keys.push(`on-failure:${taskId}:${alertId}:opened`, `on-failure:${taskId}:${alertId}:resolved`);
      }
      // In slices, so the service is busy delivering while more arrive.
      for (let from = 0; from < tasks; from += 50) {
        const slice = ids.slice(from, from + 50);
        await producer.send({
          topic: iso.topics.executions,
          messages: [
            ...failures.slice(from, from + 50).map((event) => encodeEvent(event)),
            ...slice.map((taskId) => encodeEvent(executionFact(taskId, T0 + 60_000, 'succeeded'))),
          ],
        });
      }
    } finally {
      await producer.disconnect();
    }
    return keys;
  }

  it('SIGKILL mid-stream, then a restart on the same database: every notification arrives, each under its one key', async () => {
    alerts = await startAlertsProcess(iso);
    await putRule(alerts.url, 'on-failure', {
      name: 'on failure',
      scope: { kind: 'all' },
      condition: { kind: 'failed' },
      channels: [{ kind: 'webhook', url: `${receiver.url}/hook` }],
    });
    const expected = await publishFailuresThenSuccesses('crash', 400);
    await eventually(
      async () => ((await receiver.requests()).length >= 100 ? true : undefined),
      60_000,
      'some notifications to arrive before the kill',
    );
    await alerts.kill('SIGKILL');
    const beforeRestart = (await receiver.requests()).length;
    alerts = await startAlertsProcess(iso, { dbFile: alerts.dbFile });
    const requests = await eventually(
      async () => {
        const all = await receiver.requests();
        return new Set(all.map((r) => r.key)).size >= expected.length ? all : undefined;
      },
      90_000,
      `all ${expected.length} notifications after the restart`,
    );
    const keys = new Set(requests.map((r) => r.key));
    expect([...keys].sort()).toEqual([...expected].sort());
    for (const request of requests) expect(request.webhookId).toBe(request.key);
    const repeats = requests.length - keys.size;
    process.stdout.write(
      `crash: ${beforeRestart} requests before the SIGKILL, ${requests.length} in all for ${keys.size} keys (${repeats} repeats)\n`,
    );
  });

  it('a receiver answering 500 gets every notification once it accepts again', async () => {
    const failForMs = 15_000;
    await receiver.failFor(failForMs);
    const failingUntil = Date.now() + failForMs;
    const expected = await publishFailuresThenSuccesses('refused', 20);
    const requests = await eventually(
      async () => {
        const accepted = (await receiver.requests()).filter(
          (r) => r.answered === 200 && r.key.includes(':refused-'),
        );
        return new Set(accepted.map((r) => r.key)).size >= expected.length ? accepted : undefined;
      },
      failForMs + 30_000,
      'every notification to be accepted after the refusals',
    );
    expect(new Set(requests.map((r) => r.key))).toEqual(new Set(expected));
    const refused = (await receiver.requests()).filter(
      (r) => r.answered === 500 && r.key.includes(':refused-'),
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(Math.min(...requests.map((r) => r.at))).toBeGreaterThanOrEqual(failingUntil - 100);
  });
});
