import { type AlertChannel, type Clock, type TimerHandle } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type NotificationContent } from '../rules/alert-engine.js';
import { type AlertStore, type NotificationRow } from '../store/alert-store.js';
import { type RetryPolicy, retryDelayMs } from './backoff.js';
import { type ChannelSender } from './channel-sender.js';

/** One delivery attempt and what to record of it. */
interface Attempt {
  readonly id: number;
  readonly row: NotificationRow;
  readonly channel: AlertChannel['kind'];
  readonly outcome: 'sent' | 'retry' | 'failed';
  readonly error?: string;
  readonly change: Partial<Omit<NotificationRow, 'id'>>;
}

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
      for (let i = 0; i < due.length; i += concurrency) {
        const attempts = await Promise.all(due.slice(i, i + concurrency).map((row) => this.#deliver(row)));
        // One transaction for the group: a commit per notification cost more than its request.
        // A crash before it sends the group again, under the same keys (at least once, as before).
        store.transaction(() => {
          for (const { id, change } of attempts) store.updateNotification(id, change);
        });
        for (const attempt of attempts) this.#report(attempt);
      }
    }
  }

  /** Sends one notification; answers what to record of the attempt. */
  async #deliver(row: NotificationRow): Promise<Attempt> {
    const { clock, retry, senders } = this.#options;
    const channel = JSON.parse(row.channel) as AlertChannel;
    const content = JSON.parse(row.content) as NotificationContent;
    const attempts = row.attempts + 1;
    try {
      await senders[channel.kind].send(channel, content);
      return {
        id: row.id,
        row,
        channel: channel.kind,
        outcome: 'sent',
        change: { state: 'sent', attempts, sentAt: clock.now(), lastError: null },
      };
    } catch (error) {
      const now = clock.now();
      const message = error instanceof Error ? error.message : String(error);
      const giveUp = now - row.createdAt >= retry.giveUpAfterMs;
      return {
        id: row.id,
        row,
        channel: channel.kind,
        outcome: giveUp ? 'failed' : 'retry',
        error: message,
        change: {
          state: giveUp ? 'failed' : 'pending',
          attempts,
          lastError: message.slice(0, 1000),
          nextAttemptAt: now + retryDelayMs(retry, attempts, row.idempotencyKey),
        },
      };
    }
  }

  #report(attempt: Attempt): void {
    const { log, onOutcome } = this.#options;
    onOutcome?.(attempt.channel, attempt.outcome);
    if (attempt.outcome === 'sent') return;
    log.warn(
      {
        key: attempt.row.idempotencyKey,
        channel: attempt.channel,
        attempts: attempt.change.attempts,
        err: attempt.error,
        gaveUp: attempt.outcome === 'failed',
      },
      attempt.outcome === 'failed'
        ? 'notification failed for good'
        : 'notification not delivered: will retry',
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimer(this.#timer);
    await this.#running;
  }
}
