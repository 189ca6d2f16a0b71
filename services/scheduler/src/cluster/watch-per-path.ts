import { type WatchEvent } from '@nono/coordination';

/**
 * One ZooKeeper watch per path on the current session, re-armed when it fires: what a book of
 * znodes kept in memory (calendars, webhook secrets) needs, since a watch is one-shot and a
 * second registration on the same path would deliver the change twice.
 */
export class WatchPerPath {
  readonly #armed = new Set<string>();
  readonly #onChange: () => void;

  /** `onChange`: what a fired watch does, unless its `watcher` call names something else. */
  constructor(onChange: () => void = () => undefined) {
    this.#onChange = onChange;
  }

  /** A new ZooKeeper session: the old one's watches are gone. */
  reset(): void {
    this.#armed.clear();
  }

  /**
   * The watcher to pass with a read of `path` (any key naming a read: one per path and kind of
   * watch), or undefined when one is armed already; `onFire` replaces `onChange` for this one.
   */
  watcher(path: string, onFire: () => void = this.#onChange): ((event: WatchEvent) => void) | undefined {
    if (this.#armed.has(path)) return undefined;
    this.#armed.add(path);
    return () => {
      this.#armed.delete(path);
      onFire();
    };
  }

  /** The read failed (the node is gone): its watch was not registered. */
  forget(path: string): void {
    this.#armed.delete(path);
  }
}
