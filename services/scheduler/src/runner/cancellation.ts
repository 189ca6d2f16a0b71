import { type Actor } from '@nono/domain';

/** An operator's cancel: recorded on the `execution.cancelled` fact. */
export interface OperatorCancel {
  readonly actor: Actor;
  readonly note?: string;
}

/**
 * How the engine tells a running execution to stop (its overlap policy cancels it, or a
 * shutdown passed its deadline). Not an AbortController: one is made for every execution
 * and only a few are ever cancelled, and an AbortSignal is an EventTarget, among the costliest
 * objects a fire allocated. The HTTP call still gets a real AbortSignal, from the invoker's
 * own controller, which a cancellation aborts.
 */
export class Cancellation {
  #cancelled = false;
  #operator: OperatorCancel | undefined;
  #listeners: Array<() => void> | undefined;

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Who stopped it, when an operator did (`nono executions cancel`); undefined for the engine's own reasons. */
  get operator(): OperatorCancel | undefined {
    return this.#operator;
  }

  /** Runs the listeners once; later calls do nothing. */
  cancel(operator?: OperatorCancel): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#operator = operator;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  }

  /**
   * Calls `listener` when cancelled (at once if already cancelled); returns what takes it off.
   */
  onCancel(listener: () => void): () => void {
    if (this.#cancelled) {
      listener();
      return () => undefined;
    }
    (this.#listeners ??= []).push(listener);
    return () => {
      const index = this.#listeners?.indexOf(listener) ?? -1;
      if (index >= 0) this.#listeners?.splice(index, 1);
    };
  }
}
