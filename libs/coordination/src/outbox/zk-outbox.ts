import { type ZkClient, isZkError } from '../zk-client.js';
import { type Clock, type NonoEvent } from '@nono/domain';
import { OUTBOX_PREFIX, encodeOutboxEntry, outboxRoot } from './outbox-entry.js';

/** What the outbox says of trouble (a pino logger fits; coordination does not depend on the runtime). */
export interface OutboxLog {
  warn(detail: Record<string, unknown>, message: string): void;
  error(detail: Record<string, unknown>, message: string): void;
}

export interface StagedEntry {
  readonly path: string;
  readonly event: NonoEvent;
  readonly stagedAt: number;
}

/**
 * The writer's side of the outbox: stage the event, make the change, then commit or
 * discard the entry. Committing wakes the relay (in the API) so the event leaves within
 * milliseconds. The API writes task changes through it, and so does a scheduler that pauses
 * a task after consecutive failures.
 */
export class ZkOutbox {
  readonly #zk: ZkClient;
  readonly #root: string;
  readonly #clock: Clock;
  readonly #log: OutboxLog;
  readonly #listeners = new Set<() => void>();

  constructor(options: { zk: ZkClient; zkRoot: string; clock: Clock; log: OutboxLog }) {
    this.#zk = options.zk;
    this.#root = outboxRoot(options.zkRoot);
    this.#clock = options.clock;
    this.#log = options.log;
  }

  get root(): string {
    return this.#root;
  }

  async stage(event: NonoEvent): Promise<StagedEntry> {
    const stagedAt = this.#clock.now();
    const path = await this.#zk.create(
      `${this.#root}/${OUTBOX_PREFIX}`,
      encodeOutboxEntry({ event, stagedAt, committed: false }),
      'persistent-sequential',
    );
    return { path, event, stagedAt };
  }

  /**
   * Marks the change as done. If this write is lost (crash, connection drop) the entry
   * stays uncommitted and the relay works out from the task's state whether it happened.
   */
  async commit(entry: StagedEntry): Promise<void> {
    const committed = encodeOutboxEntry({ event: entry.event, stagedAt: entry.stagedAt, committed: true });
    try {
      await this.#zk.set(entry.path, committed, 0);
    } catch (error) {
      if (isZkError(error) && error.isNoNode) {
        // A relay judged the entry an orphan before our change landed (a writer slower than
        // the grace period, or clocks apart by more than it) and dropped it. The change did
        // happen, so stage the same event again, committed this time.
        await this.#recreateCommitted(committed, entry);
      } else {
        this.#log.warn(
          { err: error, entry: entry.path },
          'could not mark outbox entry committed: the relay will judge it',
        );
      }
    }
    for (const listener of this.#listeners) listener();
  }

  async #recreateCommitted(committed: Buffer, entry: StagedEntry): Promise<void> {
    try {
      await this.#zk.create(`${this.#root}/${OUTBOX_PREFIX}`, committed, 'persistent-sequential');
      this.#log.warn(
        { entry: entry.path, eventId: entry.event.id },
        'outbox entry was dropped early: staged again',
      );
    } catch (error) {
      this.#log.error({ err: error, eventId: entry.event.id }, 'audit event lost: could not stage it again');
    }
  }

  /** The change was refused: the event must never be published. */
  async discard(entry: StagedEntry): Promise<void> {
    try {
      await this.#zk.delete(entry.path);
    } catch (error) {
      if (!(isZkError(error) && error.isNoNode)) {
        this.#log.warn(
          { err: error, entry: entry.path },
          'could not discard outbox entry: the relay will judge it',
        );
      }
    }
  }

  onCommitted(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
