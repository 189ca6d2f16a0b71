import { type AlertChannel } from '@nono/domain';
import { type Transporter, createTransport } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { type NotificationContent } from '../rules/alert-engine.js';
import { type ChannelSender, DeliveryError } from './channel-sender.js';
import { emailMessage } from './payloads.js';

/**
 * Email over SMTP (nodemailer). The Message-ID is derived from the idempotency key, so a
 * mail sent again after a crash carries the same id and a mail system can drop the repeat.
 */
export class EmailChannelSender implements ChannelSender {
  readonly #transport: Transporter | undefined;
  readonly #from: string;

  /** `smtpUrl` undefined: email channels fail (and are retried) until one is configured. */
  constructor(options: { smtpUrl: string | undefined; from: string; timeoutMs: number }) {
    this.#from = options.from;
    this.#transport =
      options.smtpUrl === undefined
        ? undefined
        : createTransport({
            ...smtpServerOf(options.smtpUrl),
            connectionTimeout: options.timeoutMs,
            greetingTimeout: options.timeoutMs,
            socketTimeout: options.timeoutMs,
          });
  }

  async send(channel: AlertChannel, content: NotificationContent): Promise<void> {
    if (channel.kind !== 'email') throw new DeliveryError('not an email channel');
    if (this.#transport === undefined)
      throw new DeliveryError('no SMTP server configured (NONO_ALERTS_SMTP_URL)');
    const { subject, text } = emailMessage(content);
    try {
      await this.#transport.sendMail({
        from: this.#from,
        to: channel.to,
        subject,
        text,
        messageId: `<${content.idempotencyKey.replaceAll(':', '.')}@nono-alerts>`,
        headers: { 'Idempotency-Key': content.idempotencyKey },
      });
    } catch (error) {
      throw new DeliveryError(`SMTP: ${(error as Error).message}`, { cause: error });
    }
  }

  close(): void {
    this.#transport?.close();
  }
}

/** `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…` (TLS from the start). */
function smtpServerOf(text: string): SMTPTransport.Options {
  const url = new URL(text);
  const secure = url.protocol === 'smtps:';
  return {
    host: url.hostname,
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    ...(url.username === ''
      ? {}
      : { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }),
  };
}
