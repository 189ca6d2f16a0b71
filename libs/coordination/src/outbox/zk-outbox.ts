import { type ZkClient, isZkError } from '../zk-client.js';
import { type Clock, type NonoEvent } from '@nono/domain';
import { OUTBOX_PREFIX, encodeOutboxEntry, outboxRoot } from './outbox-entry.js';

/** What the outbox says of trouble (a pino logger fits; coordination does not depend on the runtime). */
export interface OutboxLog {
  warn(detail: Record<string, unknown>, message: string): void;
  error(detail: Record<string, unknown>, message: string): void;
}

/** The event could not be staged, so the change was not attempted (`cause`: the ZooKeeper error). */
export class OutboxStageError extends Error {
  constructor(cause: unknown) {
    super(`could not stage the audit event: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'OutboxStageError';
  }
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

  /**
   * Stages `event`, makes `change`, then commits the entry; a refused change discards it. When
   * the change's outcome is unknown (the connection went), the entry stays for the relay to judge.
   * A failure to stage is an OutboxStageError: then nothing was changed.
   */
  async record<T>(event: NonoEvent, change: () => Promise<T>): Promise<T> {
    let staged: StagedEntry;
    try {
      staged = await this.stage(event);
    } catch (error) {
      throw new OutboxStageError(error);
    }
    let result: T;
    try {
      result = await change();
    } catch (error) {
      if (!(isZkError(error) && error.isConnectionProblem)) await this.discard(staged);
      throw error;
    }
    await this.commit(staged);
    return result;
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
