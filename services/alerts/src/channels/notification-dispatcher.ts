import { type AlertChannel, type Clock, type TimerHandle } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type NotificationContent } from '../rules/alert-engine.js';
import { type AlertStore, type NotificationRow } from '../store/alert-store.js';
import { type RetryPolicy, retryDelayMs } from './backoff.js';
import { type ChannelSender } from './channel-sender.js';

export interface DispatcherOptions {
  readonly store: AlertStore;
  readonly senders: Readonly<Record<AlertChannel['kind'], ChannelSender>>;
  readonly retry: RetryPolicy;
  readonly clock: Clock;
  readonly log: Logger;
  /** Notifications in flight at once. */
  readonly concurrency?: number;
  /** Longest sleep between two looks at the outbox (a kick wakes it sooner). */
  readonly idleMs?: number;
  readonly onOutcome?: (kind: AlertChannel['kind'], outcome: 'sent' | 'retry' | 'failed') => void;
}

/**
 * Drains the notification outbox: sends every due notification, marks it sent once the
 * receiver accepted it, otherwise schedules the next attempt with backoff, and gives up
 * (state `failed`, kept for inspection) only after `giveUpAfterMs`. A crash between the
 * send and the mark sends the notification again after the restart, with the same key:
 * delivery is at least once, and the key lets a receiver make it once.
 */
export class NotificationDispatcher {
  readonly #options: DispatcherOptions;
  #timer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  start(): void {
    this.kick();
  }

  /** Looks at the outbox now (after a commit that may have added rows). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) this.#options.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#running = this.#drain()
      .catch((error: unknown) => this.#options.log.error({ err: error }, 'notification dispatch failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        } else this.#sleep();
      });
  }

  #sleep(): void {
    if (this.#stopped) return;
    const { clock, store } = this.#options;
    const idle = this.#options.idleMs ?? 5_000;
    const due = store.nextNotificationDue();
    const delay = due === undefined ? idle : Math.min(idle, Math.max(0, due - clock.now()));
    this.#timer = clock.setTimer(() => {
      this.#timer = undefined;
      this.kick();
    }, delay);
  }

  async #drain(): Promise<void> {
    const { store, clock } = this.#options;
    const concurrency = this.#options.concurrency ?? 8;
    for (;;) {
      if (this.#stopped) return;
      const due = store.dueNotifications(clock.now(), concurrency * 4);
      if (due.length === 0) return;
      for (let i = 0; i < due.length; i += concurrency)
        await Promise.all(due.slice(i, i + concurrency).map((row) => this.#deliver(row)));
    }
  }

  async #deliver(row: NotificationRow): Promise<void> {
    const { store, clock, log, retry, senders, onOutcome } = this.#options;
    const channel = JSON.parse(row.channel) as AlertChannel;
    const content = JSON.parse(row.content) as NotificationContent;
    const attempts = row.attempts + 1;
    try {
      await senders[channel.kind].send(channel, content);
      store.updateNotification(row.id, { state: 'sent', attempts, sentAt: clock.now(), lastError: null });
      onOutcome?.(channel.kind, 'sent');
    } catch (error) {
      const now = clock.now();
      const message = error instanceof Error ? error.message : String(error);
      const giveUp = now - row.createdAt >= retry.giveUpAfterMs;
      store.updateNotification(row.id, {
        state: giveUp ? 'failed' : 'pending',
        attempts,
        lastError: message.slice(0, 1000),
        nextAttemptAt: now + retryDelayMs(retry, attempts, row.idempotencyKey),
      });
      onOutcome?.(channel.kind, giveUp ? 'failed' : 'retry');
      log.warn(
        { key: row.idempotencyKey, channel: channel.kind, attempts, err: message, gaveUp: giveUp },
        giveUp ? 'notification failed for good' : 'notification not delivered: will retry',
      );
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimer(this.#timer);
    await this.#running;
  }
}
