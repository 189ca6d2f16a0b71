import { type ZkClient, type ZnodeLayout, isZkError } from '@nono/coordination';
import { type Clock, type NonoEvent, type TimerHandle, parseStoredTask } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type OutboxEntry, OUTBOX_PREFIX, decodeOutboxEntry, outboxRoot } from './outbox-entry.js';
import { type Evidence, judgeEntry } from './outbox-verdict.js';

/** Where audit events go: EventPublisher in production, a list in tests. */
export interface AuditPublisher {
  publish(events: readonly NonoEvent[]): Promise<void>;
}

interface LoadedEntry {
  readonly path: string;
  readonly entry: OutboxEntry;
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
        await this.#passSafely();
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

  async #passSafely(): Promise<void> {
    try {
      const wakeAt = await this.#pass();
      if (wakeAt !== undefined) this.#wakeAt(wakeAt);
    } catch (error) {
      this.#log.warn({ err: error }, 'outbox relay pass failed: retrying');
      this.#wakeAt(this.#clock.now() + this.#retryMs);
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

  /** One pass over the outbox; returns when the next one is due if entries are still undecided. */
  async #pass(): Promise<number | undefined> {
    const names = await this.#listEntries();
    const loaded = (await Promise.all(names.map((name) => this.#load(`${this.#root}/${name}`)))).filter(
      (item): item is LoadedEntry => item !== undefined,
    );
    const held = new Set<string>();
    const decided: Array<{ item: LoadedEntry; publish: boolean }> = [];
    let wakeAt: number | undefined;
    const now = this.#clock.now();
    for (const [index, item] of loaded.entries()) {
      const taskId = item.entry.event.subject;
      if (held.has(taskId)) continue;
      const evidence = item.entry.committed
        ? undefined
        : await this.#gatherEvidence(item, loaded.slice(index + 1));
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
    const events = decided.filter((d) => d.publish).map((d) => d.item.entry.event);
    // Publish first, delete after: a crash in between republishes the same ids, never loses one.
    await this.#publisher.publish(events);
    for (const { item } of decided) await this.#deleteQuietly(item.path);
    if (events.length > 0) this.#log.debug({ count: events.length }, 'audit events published');
    return wakeAt;
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
      return { path, entry };
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw error;
    }
  }

  async #gatherEvidence(item: LoadedEntry, rest: readonly LoadedEntry[]): Promise<Evidence> {
    const event = item.entry.event;
    const taskId = event.subject;
    const current = await this.#readTask(taskId);
    const triggerExists =
      event.type === 'nono.task.triggered.v1'
        ? (await this.#zk.exists(this.#layout.trigger(taskId, event.data.triggerRequestId))) !== undefined
        : false;
    const later = rest
      .filter((other) => other.entry.event.subject === taskId)
      .map((other) => other.entry.event);
    return { current, triggerExists, later };
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
