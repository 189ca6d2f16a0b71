import {
  type Backfill,
  type ZkClient,
  type ZkOutbox,
  type ZnodeLayout,
  backfillDocument,
  isZkError,
} from '@nono/coordination';
import { type Actor, type NonoEvent, formatInstant } from '@nono/domain';
import { ApiError, ApiErrorCode } from '../errors.js';
import { mapZkError, recordWithOutbox } from '../zk-errors.js';

/**
 * Backfills in ZooKeeper (`/backfills/<taskId>@<backfillId>`). The API creates them (with
 * their audit event, through the outbox) and cancels them by compare-and-set; the task's
 * owner runs them and writes their progress into the same document.
 */
export class ZkBackfills {
  readonly #zk: ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #outbox: ZkOutbox;

  constructor(options: { zk: ZkClient; layout: ZnodeLayout; outbox: ZkOutbox }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#outbox = options.outbox;
  }

  async create(backfill: Backfill, event: NonoEvent): Promise<void> {
    try {
      await this.#zk.ensurePath(this.#layout.backfills);
    } catch (error) {
      throw mapZkError(error, 'write', backfill.taskId);
    }
    await recordWithOutbox(
      this.#outbox,
      event,
      () =>
        this.#zk.create(
          this.#layout.backfill(backfill.taskId, backfill.backfillId),
          backfillDocument.encode(backfill),
          'persistent',
        ),
      (error, during) => mapZkError(error, during, backfill.taskId),
    );
  }

  /** The task's backfills, newest first. */
  async list(taskId: string): Promise<Backfill[]> {
    let names: string[];
    try {
      names = await this.#zk.children(this.#layout.backfills);
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return [];
      throw mapZkError(error, 'read');
    }
    const prefix = `${taskId}@`;
    const found: Backfill[] = [];
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const read = await this.#read(taskId, name.slice(prefix.length));
      if (read !== undefined) found.push(read.backfill);
    }
    return found.sort((a, b) => (a.requestedAt < b.requestedAt ? 1 : a.requestedAt > b.requestedAt ? -1 : 0));
  }

  async get(taskId: string, backfillId: string): Promise<Backfill> {
    const read = await this.#read(taskId, backfillId);
    if (read === undefined) throw notFound(taskId, backfillId);
    return read.backfill;
  }

  /**
   * Marks a running backfill cancelled, at the version read (the scheduler running it writes
   * the same document): its owner claims nothing more; calls already made finish. Returns the
   * backfill as it is after, and whether this call cancelled it (false: it had ended already).
   */
  async cancel(
    taskId: string,
    backfillId: string,
    actor: Actor,
    now: number,
    event: NonoEvent,
  ): Promise<{ backfill: Backfill; cancelled: boolean }> {
    for (;;) {
      const read = await this.#read(taskId, backfillId);
      if (read === undefined) throw notFound(taskId, backfillId);
      if (read.backfill.state !== 'running') return { backfill: read.backfill, cancelled: false };
      const next: Backfill = {
        ...read.backfill,
        state: 'cancelled',
        cancelledBy: actor,
        updatedAt: formatInstant(now),
      };
      try {
        await recordWithOutbox(
          this.#outbox,
          event,
          () =>
            this.#zk.set(
              this.#layout.backfill(taskId, backfillId),
              backfillDocument.encode(next),
              read.version,
            ),
          (error, during) => mapZkError(error, during, taskId),
        );
        return { backfill: next, cancelled: true };
      } catch (error) {
        // The scheduler moved it on meanwhile (a claim, a finish): read again and retry.
        if (error instanceof ApiError && error.code === ApiErrorCode.RevisionConflict) continue;
        throw error;
      }
    }
  }

  async #read(
    taskId: string,
    backfillId: string,
  ): Promise<{ backfill: Backfill; version: number } | undefined> {
    try {
      const { data, stat } = await this.#zk.get(this.#layout.backfill(taskId, backfillId));
      const parsed = backfillDocument.parse(data);
      if (!parsed.ok) return undefined;
      return { backfill: parsed.value, version: stat.version };
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw mapZkError(error, 'read');
    }
  }
}

function notFound(taskId: string, backfillId: string): ApiError {
  return new ApiError(ApiErrorCode.BackfillNotFound, `no backfill "${backfillId}" of task "${taskId}"`);
}
