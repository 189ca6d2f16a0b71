/**
 * Time is an input. Everything that needs "now" or a timer takes a Clock, so schedule
 * logic is proven with a ManualClock (pinned instants, DST days, a clock that jumps
 * back) and only the wiring runs on the SystemClock.
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export class SystemClock implements Clock {
  readonly #timers = new Map<number, NodeJS.Timeout>();
  #nextId = 1;

  now(): number {
    return Date.now();
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    const timeout = setTimeout(
      () => {
        this.#timers.delete(id);
        callback();
      },
      Math.max(0, delayMs),
    );
    this.#timers.set(id, timeout);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const timeout = this.#timers.get(handle.id);
    if (timeout !== undefined) {
      clearTimeout(timeout);
      this.#timers.delete(handle.id);
    }
  }
}

interface ManualTimer {
  readonly id: number;
  readonly dueAt: number;
  readonly callback: () => void;
}

/**
 * A clock that only moves when told to. `advance` runs due timers in due order, each
 * with `now()` set to its due instant, like a real clock would have. `set` may move
 * time backwards, to test behaviour when the system clock is corrected.
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: ManualTimer[] = [];
  #nextId = 1;

  constructor(startAt: number | string) {
    this.#now = typeof startAt === 'number' ? startAt : Date.parse(startAt);
    if (Number.isNaN(this.#now))
      throw new RangeError(`ManualClock: invalid start instant ${String(startAt)}`);
  }

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.push({ id, dueAt: this.#now + Math.max(0, delayMs), callback });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((timer) => timer.id !== handle.id);
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  advanceTo(target: number): void {
    for (;;) {
      const due = this.#earliestDue();
      if (due === undefined || due.dueAt > target) break;
      this.#timers = this.#timers.filter((timer) => timer.id !== due.id);
      this.#now = Math.max(this.#now, due.dueAt);
      due.callback();
    }
    this.#now = Math.max(this.#now, target);
  }

  /** Sets the wall clock, forwards or backwards, without running timers. */
  set(instant: number): void {
    this.#now = instant;
  }

  #earliestDue(): ManualTimer | undefined {
    let earliest: ManualTimer | undefined;
    for (const timer of this.#timers) {
      if (
        earliest === undefined ||
        timer.dueAt < earliest.dueAt ||
        (timer.dueAt === earliest.dueAt && timer.id < earliest.id)
      ) {
        earliest = timer;
      }
    }
    return earliest;
  }
}
