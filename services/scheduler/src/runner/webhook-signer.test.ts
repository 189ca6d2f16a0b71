import { describe, expect, it } from 'vitest';
import { signWebhook, webhookIdFor } from '@nono/domain';
import { parseWebhookSecrets } from './webhook-signer.js';

describe('Standard Webhooks signatures', () => {
  it('matches the specification’s own test vector', () => {
    const [secret] = parseWebhookSecrets(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], 'S');
    if (secret === undefined) throw new Error('one secret');
    expect(signWebhook([secret], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toEqual(
      {
        'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        'webhook-timestamp': '1614265330',
        'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      },
    );
  });

  it('signs with each secret while rotating', () => {
    const secrets = parseWebhookSecrets([`whsec_${'a'.repeat(32)}`, `whsec_${'b'.repeat(32)}`], 'S');
    const signature = signWebhook(secrets, webhookIdFor('e-1', 2), 1, '{}')['webhook-signature'];
    expect(signature.split(' ')).toHaveLength(2);
    expect(signature).toMatch(/^v1,\S+ v1,\S+$/);
  });

  it('an id per attempt', () => {
    expect(webhookIdFor('0b3a8e40-bd6b-813d-8cba-d7210136d543', 3)).toBe(
      '0b3a8e40-bd6b-813d-8cba-d7210136d543:3',
    );
  });

  it.each([['whsec_c2hvcnQ='], ['not-base64-secret!'], ['whsec_x1', 'whsec_x2', 'whsec_x3']])(
    'refuses %s without echoing it',
    (...items) => {
      expect(() => parseWebhookSecrets(items, 'NONO_WEBHOOK_SECRETS')).toThrow(/NONO_WEBHOOK_SECRETS/);
      try {
        parseWebhookSecrets(items, 'NONO_WEBHOOK_SECRETS');
      } catch (error) {
        expect(String(error)).not.toContain(items[0]);
      }
    },
  );
});
