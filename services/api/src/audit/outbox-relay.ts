import {
  type MemberLeaseRecord,
  type ZkClient,
  type ZnodeDocument,
  type ZnodeLayout,
  isZkError,
  memberLeaseDocument,
  workerGroupDocument,
  calendarDocument,
} from '@nono/coordination';
import { type Static, type TSchema } from '@sinclair/typebox';
import { type Clock, type NonoEvent, type TimerHandle, parseStoredTask } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type OutboxEntry, OUTBOX_PREFIX, decodeOutboxEntry, outboxRoot } from '@nono/coordination';
import { type Evidence, judgeEntry, needsEvidence } from './outbox-verdict.js';

/** Where audit events go: EventPublisher in production, a list in tests. */
export interface AuditPublisher {
  publish(events: readonly NonoEvent[]): Promise<void>;
}

interface LoadedEntry {
  readonly path: string;
  readonly entry: OutboxEntry;
  /** Size of the znode's data: a stand-in for the event's size on Kafka. */
  readonly bytes: number;
}

/**
 * One pass reads at most this many entries (the oldest). Reading and decoding the whole
 * outbox per pass made a backlog quadratic: 10,000 entries cost seconds per pass, and a
 * pass runs per commit.
 */
export const MAX_ENTRIES_PER_PASS = 500;
/**
 * Events go to Kafka in batches of at most this many bytes, well under the broker's default
 * `message.max.bytes` (1 MiB per partition batch). One batch of a whole backlog used to be
 * refused by Kafka on every retry: a relay that fell a few thousand entries behind (Kafka
 * slow or away for a while) never caught up again.
 */
export const MAX_BATCH_BYTES = 256 * 1024;

interface PassResult {
  /** When undecided entries are due, if any. */
  readonly wakeAt: number | undefined;
  /** Entries remain beyond this pass's window and this pass made progress: run another now. */
  readonly more: boolean;
}

/**
 * Publishes outbox entries in sequence order and deletes them once Kafka acknowledged.
 * Runs inside every API process; several relays at once are safe because they all judge
 * the same entries the same way and event ids are deterministic (a double publish is
 * the same event twice, which consumers drop by id).
 *
 * Delivery is at-least-once; per task the order of the outbox is kept: an undecided
 * entry holds back every later entry of its task.
 */
export class OutboxRelay {
  readonly #zk: ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #root: string;
  readonly #publisher: AuditPublisher;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #orphanAfterMs: number;
  readonly #retryMs: number;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #watching = false;
  #timer: TimerHandle | undefined;

  constructor(options: {
    zk: ZkClient;
    layout: ZnodeLayout;
    publisher: AuditPublisher;
    clock: Clock;
    log: Logger;
    orphanAfterMs: number;
    retryMs?: number;
  }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#root = outboxRoot(options.layout.root);
    this.#publisher = options.publisher;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#orphanAfterMs = options.orphanAfterMs;
    this.#retryMs = options.retryMs ?? 2_000;
  }

  /** Runs a pass now; passes never overlap, and a request during one runs another after it. */
  drain(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        if (await this.#passSafely()) this.#again = true;
      } while (this.#again && !this.#stopped);
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops scheduling passes and waits for the one in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    await this.#running;
  }

  /** Runs one pass; true when another should follow at once. */
  async #passSafely(): Promise<boolean> {
    try {
      const { wakeAt, more } = await this.#pass();
      if (wakeAt !== undefined) this.#wakeAt(wakeAt);
      return more;
    } catch (error) {
      this.#log.warn({ err: error }, 'outbox relay pass failed: retrying');
      this.#wakeAt(this.#clock.now() + this.#retryMs);
      return false;
    }
  }

  #wakeAt(instant: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = undefined;
      void this.drain();
    }, instant - this.#clock.now());
  }

  /**
   * One pass over the oldest entries (at most MAX_ENTRIES_PER_PASS). Per task, an undecided
   * entry holds back the later ones, so events leave in outbox order per task.
   */
  async #pass(): Promise<PassResult> {
    const names = await this.#listEntries();
    const window = names.slice(0, MAX_ENTRIES_PER_PASS);
    const loaded = await this.#loadAll(window);
    // Entries past the window, read only if an orphan needs them as evidence (rare: a crash).
    let beyond: Promise<LoadedEntry[]> | undefined;
    const entriesBeyond = () => (beyond ??= this.#loadAll(names.slice(window.length)));
    const held = new Set<string>();
    const decided: Array<{ item: LoadedEntry; publish: boolean }> = [];
    let wakeAt: number | undefined;
    const now = this.#clock.now();
    for (const [index, item] of loaded.entries()) {
      const taskId = item.entry.event.subject;
      if (held.has(taskId)) continue;
      // Only an orphan is judged on evidence; reading it for every young entry cost a read
      // and a scan of the rest per entry.
      const evidence = needsEvidence(item.entry, now, this.#orphanAfterMs)
        ? await this.#gatherEvidence(item, [...loaded.slice(index + 1), ...(await entriesBeyond())])
        : undefined;
      const verdict = judgeEntry(item.entry, now, this.#orphanAfterMs, () => {
        if (evidence === undefined) throw new Error('evidence needed for an uncommitted entry');
        return evidence;
      });
      if (verdict === 'wait') {
        held.add(taskId);
        const due = item.entry.stagedAt + this.#orphanAfterMs;
        wakeAt = wakeAt === undefined ? due : Math.min(wakeAt, due);
        continue;
      }
      if (verdict === 'drop') {
        this.#log.warn(
          { entry: item.path, eventId: item.entry.event.id, type: item.entry.event.type },
          'dropping audit event of a change that never happened',
        );
      }
      decided.push({ item, publish: verdict === 'publish' });
    }
    const toPublish = decided.filter((d) => d.publish).map((d) => d.item);
    // Publish first, delete after: a crash in between republishes the same ids, never loses one.
    // Batches go in outbox order, one after the other, so per-task order holds across them.
    for (const batch of byteBoundedBatches(toPublish, MAX_BATCH_BYTES)) {
      await this.#publisher.publish(batch.map((item) => item.entry.event));
      await Promise.all(batch.map((item) => this.#deleteQuietly(item.path)));
    }
    await Promise.all(decided.filter((d) => !d.publish).map((d) => this.#deleteQuietly(d.item.path)));
    if (toPublish.length > 0) this.#log.debug({ count: toPublish.length }, 'audit events published');
    return { wakeAt, more: names.length > window.length && decided.length > 0 };
  }

  async #loadAll(names: readonly string[]): Promise<LoadedEntry[]> {
    const loaded = await Promise.all(names.map((name) => this.#load(`${this.#root}/${name}`)));
    return loaded.filter((item): item is LoadedEntry => item !== undefined);
  }

  async #listEntries(): Promise<string[]> {
    const watch = this.#watching
      ? undefined
      : () => {
          this.#watching = false;
          void this.drain();
        };
    try {
      const children = await this.#zk.children(this.#root, watch);
      if (watch !== undefined) this.#watching = true;
      // Sequence suffixes are zero-padded, so name order is staging order.
      return children.filter((name) => name.startsWith(OUTBOX_PREFIX));
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return [];
      throw error;
    }
  }

  async #load(path: string): Promise<LoadedEntry | undefined> {
    try {
      const { data } = await this.#zk.get(path);
      const entry = decodeOutboxEntry(data);
      if (entry === undefined) {
        this.#log.error({ entry: path }, 'unreadable outbox entry: removing it');
        await this.#deleteQuietly(path);
        return undefined;
      }
      return { path, entry, bytes: data.length };
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw error;
    }
  }

  async #gatherEvidence(item: LoadedEntry, rest: readonly LoadedEntry[]): Promise<Evidence> {
    const event = item.entry.event;
    const subject = event.subject;
    const later = rest
      .filter((other) => other.entry.event.subject === subject)
      .map((other) => other.entry.event);
    if (event.type.startsWith('nono.worker-group.')) {
      const currentGroup = await this.#readDocument(this.#layout.workerGroup(subject), workerGroupDocument);
      const lease: MemberLeaseRecord | undefined =
        event.type === 'nono.worker-group.member-joined.v1' ||
        event.type === 'nono.worker-group.member-left.v1'
          ? await this.#readDocument(
              this.#layout.workerLease(subject, event.data.memberId),
              memberLeaseDocument,
            )
          : undefined;
      return { current: undefined, triggerExists: false, currentGroup, lease, later };
    }
    if (event.type.startsWith('nono.calendar.')) {
      const currentCalendar = await this.#readDocument(this.#layout.calendar(subject), calendarDocument);
      return { current: undefined, triggerExists: false, currentCalendar, later };
    }
    const current = await this.#readTask(subject);
    const triggerExists =
      event.type === 'nono.task.triggered.v1'
        ? (await this.#zk.exists(this.#layout.trigger(subject, event.data.triggerRequestId))) !== undefined
        : false;
    return { current, triggerExists, later };
  }

  /** A document as it is now; undefined when absent or unreadable. */
  async #readDocument<S extends TSchema>(
    path: string,
    document: ZnodeDocument<S>,
  ): Promise<Static<S> | undefined> {
    try {
      const parsed = document.parse((await this.#zk.get(path)).data);
      return parsed.ok ? parsed.value : undefined;
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw error;
    }
  }

  async #readTask(taskId: string): Promise<Evidence['current']> {
    try {
      const { data } = await this.#zk.get(this.#layout.task(taskId));
      const parsed = parseStoredTask(JSON.parse(data.toString('utf8')));
      return parsed.ok ? parsed.value : undefined;
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw error;
    }
  }

  async #deleteQuietly(path: string): Promise<void> {
    try {
      await this.#zk.delete(path);
    } catch (error) {
      if (!(isZkError(error) && error.isNoNode)) throw error;
    }
  }
}

/** Consecutive runs of entries of at most `maxBytes` each (an entry larger alone is a batch alone). */
export function byteBoundedBatches<T extends { readonly bytes: number }>(
  items: readonly T[],
  maxBytes: number,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    if (current.length > 0 && size + item.bytes > maxBytes) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
