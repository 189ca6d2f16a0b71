import { type ZkClient, type ZnodeLayout, isZkError, workerHealthDocument } from '@nono/coordination';
import { type Clock, formatInstant } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type MemberHealth } from './member-health.js';

export interface HealthPublisherOptions {
  readonly zk: () => ZkClient;
  readonly layout: ZnodeLayout;
  readonly schedulerId: string;
  readonly health: MemberHealth;
  readonly clock: Clock;
  readonly log: Logger;
  readonly intervalMs?: number;
}

/**
 * Publishes which group members this scheduler's passive health took out, in its ephemeral
 * `/worker-health/<schedulerId>` node (gone with its session), for the API to show. Written
 * when that set changes, at most once per `intervalMs`, and once more when the earliest
 * ejection ends, so a reader never sees an ejection that is over as current for long.
 */
export class HealthPublisher {
  readonly #o: Required<HealthPublisherOptions>;
  #timer: NodeJS.Timeout | undefined;
  /** When the pending write runs. */
  #timerAt = 0;
  #lastWritten = 0;
  #stopped = false;

  constructor(options: HealthPublisherOptions) {
    this.#o = { ...options, intervalMs: options.intervalMs ?? 1_000 };
  }

  /**
   * Something changed: write soon. A write already due sooner stands; one due later (the
   * rewrite at the end of a long ejection) is brought forward: before, a 60 s back-off's
   * pending rewrite held back every change behind it for that minute.
   */
  changed(): void {
    if (this.#stopped) return;
    const now = this.#o.clock.now();
    const at = Math.max(now, this.#lastWritten + this.#o.intervalMs);
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.#writeAt(at, now);
  }

  #writeAt(at: number, now: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#write();
    }, at - now);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #write(): Promise<void> {
    const { zk, layout, schedulerId, health, clock, log } = this.#o;
    const now = clock.now();
    this.#lastWritten = now;
    const ejected = health.ejections(now);
    const data = workerHealthDocument.encode({
      schedulerId,
      updatedAt: formatInstant(now),
      ejected: ejected.map((e) => ({ ...e, until: formatInstant(e.until) })),
    });
    const path = layout.workerHealthOf(schedulerId);
    try {
      const client = zk();
      try {
        await client.set(path, data, -1);
      } catch (error) {
        if (!(isZkError(error) && error.isNoNode)) throw error;
        await client.create(path, data, 'ephemeral');
      }
    } catch (error) {
      log.warn({ err: error }, 'could not publish the members passive health took out; will retry');
      this.changed();
      return;
    }
    // The earliest ejection's end is a change too.
    const nextEnd = Math.min(...ejected.map((e) => e.until));
    if (Number.isFinite(nextEnd) && !this.#stopped)
      this.#writeAt(now + Math.max(this.#o.intervalMs, nextEnd - now + 10), now);
  }
}
