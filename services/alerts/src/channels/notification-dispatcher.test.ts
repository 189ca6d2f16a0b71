import { type AlertChannel, ManualClock, parseAlertRuleSpec } from '@nono/domain';
import { createLogger } from '@nono/runtime';
import { describe, expect, it } from 'vitest';
import { AlertEngine, type NotificationContent } from '../rules/alert-engine.js';
import { AlertStore } from '../store/alert-store.js';
import { openDatabase } from '../store/open-database.js';
import { executionFact } from '../testing/facts.js';
import { retryDelayMs } from './backoff.js';
import { type ChannelSender, DeliveryError } from './channel-sender.js';
import { signStandardWebhook } from './http-channels.js';
import { NotificationDispatcher } from './notification-dispatcher.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const RETRY = { initialMs: 1_000, maxMs: 8_000, giveUpAfterMs: 60_000 };

describe('retryDelayMs', () => {
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [4, 8_000],
    [9, 8_000],
  ])('after attempt %i waits %i ms plus at most a tenth of jitter, the same every time', (attempts, base) => {
    const delay = retryDelayMs(RETRY, attempts, 'rule:task:alert:opened');
    expect(delay).toBeGreaterThanOrEqual(base);
    expect(delay).toBeLessThanOrEqual(base * 1.1);
    expect(retryDelayMs(RETRY, attempts, 'rule:task:alert:opened')).toBe(delay);
  });
});

describe('signStandardWebhook', () => {
  it('matches the Standard Webhooks reference signature', () => {
    // The example of the specification's reference libraries (svix): secret, msg id, timestamp, payload.
    const signature = signStandardWebhook(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      '1614265330',
      '{"test": 2432232314}',
    );
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});

describe('NotificationDispatcher', () => {
  function setUp(sender: ChannelSender) {
    const open = openDatabase(':memory:');
    const store = new AlertStore(open);
    const clock = new ManualClock(T0);
    const engine = new AlertEngine({ store, source: 'test', transitionMs: 2_000 });
    const spec = parseAlertRuleSpec({
      name: 'r',
      scope: { kind: 'all' },
      condition: { kind: 'failed' },
      channels: [{ kind: 'webhook', url: 'http://127.0.0.1:9/hook' }],
    });
    if (!spec.ok) throw new TypeError('bad rule');
    engine.putRule('r', spec.value, null, T0);
    engine.apply(executionFact('pay', T0, 'failed'), T0);
    const dispatcher = new NotificationDispatcher({
      store,
      senders: { webhook: sender, slack: sender, teams: sender, 'google-chat': sender, email: sender },
      retry: RETRY,
      clock,
      log: createLogger('test', 'silent'),
      idleMs: 60_000,
    });
    const state = () =>
      open.sqlite
        .prepare<[], { state: string; attempts: number }>('SELECT state, attempts FROM notifications')
        .get();
    return { clock, dispatcher, state };
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

  it('retries a refused notification with backoff, with the same key, until the receiver accepts it', async () => {
    const keys: string[] = [];
    let refuse = 3;
    const { clock, dispatcher, state } = setUp({
      send: async (_channel: AlertChannel, content: NotificationContent) => {
        keys.push(content.idempotencyKey);
        if (refuse-- > 0) throw new DeliveryError('answered 500');
      },
    });
    dispatcher.start();
    await settle();
    for (const step of [1_100, 2_200, 4_400]) {
      clock.advance(step);
      await settle();
    }
    expect(state()).toEqual({ state: 'sent', attempts: 4 });
    expect(new Set(keys).size).toBe(1);
    expect(keys).toHaveLength(4);
    await dispatcher.stop();
  });

  it('gives up only after giveUpAfterMs, keeping the notification as failed', async () => {
    const { clock, dispatcher, state } = setUp({
      send: async () => {
        throw new DeliveryError('answered 500');
      },
    });
    dispatcher.start();
    await settle();
    for (let i = 0; i < 12; i++) {
      clock.advance(8_800);
      await settle();
    }
    expect(state()?.state).toBe('failed');
    await dispatcher.stop();
  });
});
