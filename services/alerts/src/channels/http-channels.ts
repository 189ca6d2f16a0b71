import { createHmac } from 'node:crypto';
import { type AlertChannel } from '@nono/domain';
import { request } from 'undici';
import { type NotificationContent } from '../rules/alert-engine.js';
import { type ChannelSender, DeliveryError } from './channel-sender.js';
import { googleChatPayload, slackPayload, teamsPayload, webhookPayload } from './payloads.js';

type HttpChannel = Exclude<AlertChannel, { kind: 'email' }>;

/** The JSON body each HTTP channel kind is sent. */
const PAYLOADS: Readonly<Record<HttpChannel['kind'], (content: NotificationContent) => unknown>> = {
  webhook: webhookPayload,
  slack: slackPayload,
  teams: teamsPayload,
  'google-chat': googleChatPayload,
};

/**
 * The HTTP channels (webhook, Slack, Microsoft Teams, Google Chat): a JSON POST of the
 * kind's payload to the channel's URL. Every request carries the
 * notification's idempotency key (`Idempotency-Key`, and `webhook-id` of the Standard
 * Webhooks specification, with its timestamp and, when the channel has a secret, its
 * HMAC-SHA256 signature), so a receiver can drop a repeat. Any 2xx is accepted.
 */
export class HttpChannelSender implements ChannelSender {
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(options: { timeoutMs: number; now: () => number }) {
    this.#timeoutMs = options.timeoutMs;
    this.#now = options.now;
  }

  async send(channel: AlertChannel, content: NotificationContent): Promise<void> {
    if (channel.kind === 'email') throw new DeliveryError('not an HTTP channel');
    const body = JSON.stringify(PAYLOADS[channel.kind](content));
    const timestamp = String(Math.floor(this.#now() / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'idempotency-key': content.idempotencyKey,
      'webhook-id': content.idempotencyKey,
      'webhook-timestamp': timestamp,
      'user-agent': 'nono-alerts',
    };
    if (channel.kind === 'webhook' && channel.secret !== undefined)
      headers['webhook-signature'] = signStandardWebhook(
        channel.secret,
        content.idempotencyKey,
        timestamp,
        body,
      );
    let status: number;
    try {
      const response = await request(channel.url, {
        method: 'POST',
        headers,
        body,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      status = response.statusCode;
      await response.body.dump();
    } catch (error) {
      throw new DeliveryError(`no answer from ${new URL(channel.url).host}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (status < 200 || status >= 300)
      throw new DeliveryError(`${new URL(channel.url).host} answered ${status}`);
  }
}

/** Standard Webhooks: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the secret's bytes. */
export function signStandardWebhook(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}
