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
 *
 * Timers sit in a binary heap ordered by (due instant, id), and a cleared timer is only
 * forgotten by id until it reaches the top: benchmarks drive thousands of pending timers
 * through this clock, and a scan per timer would be the harness measuring itself.
 */
export class ManualClock implements Clock {
  #now: number;
  #heap: ManualTimer[] = [];
  readonly #live = new Set<number>();
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
    this.#live.add(id);
    this.#push({ id, dueAt: this.#now + Math.max(0, delayMs), callback });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    if (!this.#live.delete(handle.id)) return;
    // Cleared timers wait in the heap until they reach its top; when they outnumber the live
    // ones, the heap is rebuilt (a sorted array is a heap), so it stays within twice the live count.
    if (this.#heap.length > 2 * this.#live.size + 64) {
      this.#heap = this.#heap
        .filter((timer) => this.#live.has(timer.id))
        .sort((a, b) => a.dueAt - b.dueAt || a.id - b.id);
    }
  }

  get pendingTimers(): number {
    return this.#live.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  advanceTo(target: number): void {
    for (;;) {
      const due = this.#heap[0];
      if (due === undefined || due.dueAt > target) break;
      this.#pop();
      if (!this.#live.delete(due.id)) continue;
      this.#now = Math.max(this.#now, due.dueAt);
      due.callback();
    }
    this.#now = Math.max(this.#now, target);
  }

  /** Sets the wall clock, forwards or backwards, without running timers. */
  set(instant: number): void {
    this.#now = instant;
  }

  #push(timer: ManualTimer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!runsBefore(timer, heap[parent] as ManualTimer)) break;
      heap[i] = heap[parent] as ManualTimer;
      i = parent;
    }
    heap[i] = timer;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && runsBefore(heap[right] as ManualTimer, heap[left] as ManualTimer)
          ? right
          : left;
      if (!runsBefore(heap[child] as ManualTimer, last)) break;
      heap[i] = heap[child] as ManualTimer;
      i = child;
    }
    heap[i] = last;
  }
}

/** Due order: earlier instant first, then the order the timers were set in. */
function runsBefore(a: ManualTimer, b: ManualTimer): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.id < b.id);
}
