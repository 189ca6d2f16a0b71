import { type Clock, type TimerHandle } from '@nono/domain';

/**
 * One timer for all tasks: a binary min-heap of (dueAt, taskId) and a single clock timer
 * armed for the earliest entry. 10,000 tasks cost 10,000 heap entries, not 10,000
 * setTimeouts. Rescheduling a task leaves its old entry in the heap; entries carry a
 * sequence number and stale ones are dropped when they surface (lazy deletion).
 */
interface Entry {
  readonly dueAt: number;
  readonly taskId: string;
  readonly seq: number;
}

export class FireQueue {
  readonly #clock: Clock;
  readonly #onDue: (taskId: string, dueAt: number) => void;
  readonly #heap: Entry[] = [];
  readonly #current = new Map<string, number>();
  #seq = 0;
  #timer: TimerHandle | undefined;
  #timerDueAt = Infinity;

  constructor(clock: Clock, onDue: (taskId: string, dueAt: number) => void) {
    this.#clock = clock;
    this.#onDue = onDue;
  }

  /** Schedules (or reschedules) a task; only its latest schedule counts. */
  schedule(taskId: string, dueAt: number): void {
    const seq = ++this.#seq;
    this.#current.set(taskId, seq);
    this.#push({ dueAt, taskId, seq });
    if (dueAt < this.#timerDueAt) this.#arm();
  }

  cancel(taskId: string): void {
    this.#current.delete(taskId);
  }

  clear(): void {
    this.#current.clear();
    this.#heap.length = 0;
    this.#disarm();
  }

  get size(): number {
    return this.#current.size;
  }

  dueAtOf(taskId: string): number | undefined {
    const seq = this.#current.get(taskId);
    return seq === undefined ? undefined : this.#heap.find((e) => e.seq === seq)?.dueAt;
  }

  #arm(): void {
    this.#disarm();
    const head = this.#peekLive();
    if (head === undefined) return;
    this.#timerDueAt = head.dueAt;
    this.#timer = this.#clock.setTimer(() => this.#fireDue(), head.dueAt - this.#clock.now());
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerDueAt = Infinity;
  }

  #fireDue(): void {
    this.#timer = undefined;
    this.#timerDueAt = Infinity;
    const now = this.#clock.now();
    for (;;) {
      const head = this.#peekLive();
      if (head === undefined || head.dueAt > now) break;
      this.#pop();
      this.#current.delete(head.taskId);
      this.#onDue(head.taskId, head.dueAt);
    }
    if (this.#timer === undefined) this.#arm();
  }

  #peekLive(): Entry | undefined {
    for (;;) {
      const head = this.#heap[0];
      if (head === undefined || this.#current.get(head.taskId) === head.seq) return head;
      this.#pop();
    }
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Entry, heap[parent] as Entry)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry, heap[i] as Entry];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left] as Entry, heap[smallest] as Entry)) smallest = left;
      if (right < heap.length && before(heap[right] as Entry, heap[smallest] as Entry)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest] as Entry, heap[i] as Entry];
      i = smallest;
    }
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}
