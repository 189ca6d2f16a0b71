import { type WatchEvent } from '@nono/coordination';

/**
 * One ZooKeeper watch per path on the current session, re-armed when it fires: what a book of
 * znodes kept in memory (calendars, webhook secrets) needs, since a watch is one-shot and a
 * second registration on the same path would deliver the change twice.
 */
export class WatchPerPath {
  readonly #armed = new Set<string>();
  readonly #onChange: () => void;

  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  /** A new session: the old one's watches are gone. */
  reset(): void {
    this.#armed.clear();
  }

  /** The watcher to pass with a read of `path`, or undefined when one is armed already. */
  watcher(path: string): ((event: WatchEvent) => void) | undefined {
    if (this.#armed.has(path)) return undefined;
    this.#armed.add(path);
    return () => {
      this.#armed.delete(path);
      this.#onChange();
    };
  }

  /** The read failed (the node is gone): its watch was not registered. */
  forget(path: string): void {
    this.#armed.delete(path);
  }
}
