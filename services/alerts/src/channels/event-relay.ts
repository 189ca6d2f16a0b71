import { type Clock, type NonoEvent, type TimerHandle } from '@nono/domain';
import { type EventPublisher } from '@nono/events';
import { type Logger } from '@nono/runtime';
import { type AlertStore } from '../store/alert-store.js';

/**
 * Publishes the event outbox to `<prefix>alerts` in the order the transitions were
 * decided, deleting rows only once Kafka acknowledged them; on failure it tries again
 * after `retryMs`. A crash after the publish and before the delete publishes again with
 * the same event ids (derived), which readers drop as repeats.
 */
export class EventRelay {
  readonly #store: AlertStore;
  readonly #publisher: EventPublisher;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #retryMs: number;
  #running: Promise<void> | undefined;
  #again = false;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(options: {
    store: AlertStore;
    publisher: EventPublisher;
    clock: Clock;
    log: Logger;
    retryMs?: number;
  }) {
    this.#store = options.store;
    this.#publisher = options.publisher;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#retryMs = options.retryMs ?? 2_000;
  }

  kick(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain()
      .then(
        () => false,
        (error: unknown) => {
          this.#log.warn({ err: error }, 'could not publish alert events: will retry');
          return true;
        },
      )
      .then((failed) => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        } else if (failed && !this.#stopped && this.#timer === undefined) {
          this.#timer = this.#clock.setTimer(() => {
            this.#timer = undefined;
            this.kick();
          }, this.#retryMs);
        }
      });
  }

  async #drain(): Promise<void> {
    for (;;) {
      const rows = this.#store.pendingEvents(500);
      const last = rows.at(-1);
      if (last === undefined) return;
      await this.#publisher.publish(rows.map((row) => JSON.parse(row.json) as NonoEvent));
      this.#store.deleteEventsUpTo(last.seq);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    await this.#running;
  }
}
