import { type AlertChannel } from '@nono/domain';
import { type NotificationContent } from '../rules/alert-engine.js';

/** Delivers one notification to one channel; throws when the receiver did not accept it. */
export interface ChannelSender {
  send(channel: AlertChannel, content: NotificationContent): Promise<void>;
}

/** A receiver's refusal or a transport failure, with what to record on the notification row. */
export class DeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeliveryError';
  }
}
