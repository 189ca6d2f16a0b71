import { type Clock, type TimerHandle } from '@nono/domain';

/**
 * One timer for all tasks: a binary min-heap of (dueAt, key) and a single clock timer
 * armed for the earliest entry. 10,000 tasks cost 10,000 heap entries, not 10,000
 * setTimeouts. Rescheduling a key leaves its old entry in the heap; entries carry a
 * sequence number and stale ones are dropped when they surface (lazy deletion).
 */
interface Entry<K> {
  readonly dueAt: number;
  readonly key: K;
  readonly seq: number;
}

export class FireQueue<K = string> {
  readonly #clock: Clock;
  readonly #onDue: (key: K, dueAt: number) => void;
  readonly #heap: Array<Entry<K>> = [];
  readonly #current = new Map<K, number>();
  #seq = 0;
  #timer: TimerHandle | undefined;
  #timerDueAt = Infinity;

  constructor(clock: Clock, onDue: (key: K, dueAt: number) => void) {
    this.#clock = clock;
    this.#onDue = onDue;
  }

  /** Schedules (or reschedules) a key; only its latest schedule counts. */
  schedule(key: K, dueAt: number): void {
    const seq = ++this.#seq;
    this.#current.set(key, seq);
    this.#push({ dueAt, key, seq });
    if (dueAt < this.#timerDueAt) this.#arm();
  }

  cancel(key: K): void {
    this.#current.delete(key);
  }

  clear(): void {
    this.#current.clear();
    this.#heap.length = 0;
    this.#disarm();
  }

  get size(): number {
    return this.#current.size;
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
      this.#current.delete(head.key);
      this.#onDue(head.key, head.dueAt);
    }
    if (this.#timer === undefined) this.#arm();
  }

  #peekLive(): Entry<K> | undefined {
    for (;;) {
      const head = this.#heap[0];
      if (head === undefined || this.#current.get(head.key) === head.seq) return head;
      this.#pop();
    }
  }

  #push(entry: Entry<K>): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Entry<K>, heap[parent] as Entry<K>)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry<K>, heap[i] as Entry<K>];
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
      if (left < heap.length && before(heap[left] as Entry<K>, heap[smallest] as Entry<K>)) smallest = left;
      if (right < heap.length && before(heap[right] as Entry<K>, heap[smallest] as Entry<K>))
        smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest] as Entry<K>, heap[i] as Entry<K>];
      i = smallest;
    }
  }
}

function before<K>(a: Entry<K>, b: Entry<K>): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}
