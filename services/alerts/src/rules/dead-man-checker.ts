import { type Clock, type TimerHandle } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type AlertEngine } from './alert-engine.js';

export interface DeadManCheckerOptions {
  readonly engine: AlertEngine;
  /** Whether the executions topic has been read to its end (AlertConsumer.caughtUp). */
  readonly caughtUp: () => Promise<boolean>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly intervalMs: number;
  readonly onChecked: (missed: number) => void;
  /** The clock-driven cluster conditions (no scheduler, consumer lag): judged on every tick, caught up or not. */
  readonly checkCluster?: () => Promise<void>;
}

/**
 * Runs the cluster checks every `intervalMs`, and the engine's dead-man check, but that one only while the consumer has
 * read the executions topic to its end: on a backlog, a success not read yet would look
 * missing. Skipped checks lose nothing: the next one judges from where the last stopped.
 */
export class DeadManChecker {
  readonly #options: DeadManCheckerOptions;
  #timer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #behindSince: number | undefined;

  constructor(options: DeadManCheckerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#options.clock.setTimer(() => {
      this.#running = this.#check().finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    }, this.#options.intervalMs);
  }

  async #check(): Promise<void> {
    const { engine, caughtUp, clock, log, onChecked, checkCluster } = this.#options;
    try {
      // A lagging consumer is what a lag rule is about: this check must not wait for it.
      await checkCluster?.();
    } catch (error) {
      log.warn({ err: error }, 'cluster check failed: will try again');
    }
    try {
      if (!(await caughtUp())) {
        this.#behindSince ??= clock.now();
        return;
      }
      this.#behindSince = undefined;
      onChecked(engine.checkDeadMen(clock.now()));
    } catch (error) {
      log.warn({ err: error }, 'dead-man check failed: will try again');
    }
  }

  /** Since when checks have been waiting for the consumer to catch up, if they are. */
  get behindSince(): number | undefined {
    return this.#behindSince;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimer(this.#timer);
    await this.#running;
  }
}
