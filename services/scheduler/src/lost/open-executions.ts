import { randomBytes } from 'node:crypto';
import {
  type OpenExecutionsRecord,
  type ZkClient,
  type ZnodeLayout,
  isZkError,
  openExecutionsRecordDocument,
} from '@nono/coordination';
import { type Clock, type TimerHandle } from '@nono/domain';
import { type Logger } from '@nono/runtime';

export { type OpenExecutionsRecord } from '@nono/coordination';

/** Stamped on an execution's fire-state entry when its claim is built. */
export interface ClaimMark {
  readonly incarnation: string;
  readonly seq: number;
}

export interface OpenExecutionsStore {
  write(schedulerId: string, record: OpenExecutionsRecord): Promise<void>;
  read(schedulerId: string): Promise<OpenExecutionsRecord | undefined>;
}

/** True only if `record` proves the claim's execution ended before the record was written. */
export function endedPerRecord(entry: Partial<ClaimMark>, record: OpenExecutionsRecord | undefined): boolean {
  const seq = entry.seq;
  return (
    record !== undefined &&
    entry.incarnation === record.incarnation &&
    seq !== undefined &&
    seq <= record.seq &&
    !inRanges(record.open, seq)
  );
}

/** Sorted numbers as inclusive ranges: [1, 2, 3, 7] -> [[1, 3], [7, 7]]. */
export function toRanges(sorted: readonly number[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const n of sorted) {
    const last = ranges.at(-1);
    if (last !== undefined && n === last[1] + 1) last[1] = n;
    else ranges.push([n, n]);
  }
  return ranges;
}

function inRanges(ranges: ReadonlyArray<readonly [number, number]>, n: number): boolean {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const [from, to] = ranges[mid] as readonly [number, number];
    if (n < from) high = mid - 1;
    else if (n > to) low = mid + 1;
    else return true;
  }
  return false;
}

export interface OpenExecutionsOptions {
  readonly schedulerId: string;
  readonly store: OpenExecutionsStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly flushIntervalMs: number;
  /** Resolves once every event appended so far is durable: an execution is only recorded as ended after its outcome is. */
  readonly eventsDurable: () => Promise<void>;
  /** How long another scheduler's record is reused (a failover reads it for every adopted task). */
  readonly readCacheMs?: number;
  /** Fixed in unit tests; random per process otherwise. */
  readonly incarnation?: string;
}

/** ZooKeeper limits a znode to 1 MiB; a record that big (~50,000 scattered open claims) is not written (the older one errs towards "lost"). */
const MAX_RECORD_BYTES = 1_000_000;

/**
 * Which of a scheduler's executions are still open, written to ZooKeeper in batches.
 *
 * Every execution this process claims is listed in its task's fire state until it ends, so a
 * new owner can tell the calls a dead scheduler left unfinished. Taking each finished one
 * off its fire state right away costs a ZooKeeper write per fire on top of the claim. Instead,
 * the entry stays (it rides on the task's next claim) and this record says it ended: each
 * claim is numbered (`seq`, per process `incarnation`) when it is built, and the record lists
 * which of the claims numbered up to its own `seq` are still open, as ranges of numbers (open
 * claims are mostly the latest ones, so a few hundred bytes even with thousands open). So for
 * an entry left by a process that is gone:
 *
 * - numbered at or below the record's `seq` and not listed: it ended (its events were durable
 *   before the record was written), nothing to report;
 * - listed, numbered later, from another incarnation, or no record at all: it may have been
 *   running when the process died, and after its deadline it is reported lost.
 *
 * A stale or missing record therefore only errs towards "lost", never towards "ended": the
 * window in which a crash makes a finished execution look lost is one flush interval.
 */
export class OpenExecutions {
  readonly incarnation: string;
  readonly #o: OpenExecutionsOptions;
  /** Open executions by task, each with its claim number. */
  readonly #openByTask = new Map<string, Map<string, number>>();
  #seq = 0;
  #dirty = true;
  #writing: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #stopped = false;
  #tooBigLogged = false;
  #failing = false;
  /** What the previous process with our scheduler id wrote: judges its entries in our fire states. */
  #previousOwn: Promise<OpenExecutionsRecord | undefined> | undefined;
  readonly #readCache = new Map<string, { at: number; record: Promise<OpenExecutionsRecord | undefined> }>();

  constructor(options: OpenExecutionsOptions) {
    this.#o = options;
    this.incarnation = options.incarnation ?? randomBytes(6).toString('hex');
  }

  /** Numbers a claim about to be written and lists its execution as open. */
  open(taskId: string, executionId: string): ClaimMark {
    let open = this.#openByTask.get(taskId);
    if (open === undefined) this.#openByTask.set(taskId, (open = new Map<string, number>()));
    const seq = ++this.#seq;
    open.set(executionId, seq);
    this.#dirty = true;
    this.#arm();
    return { incarnation: this.incarnation, seq };
  }

  /** Ended, never started, or its claim was refused. */
  close(taskId: string, executionIds: Iterable<string>): void {
    const open = this.#openByTask.get(taskId);
    if (open === undefined) return;
    for (const id of executionIds) if (open.delete(id)) this.#dirty = true;
    if (open.size === 0) this.#openByTask.delete(taskId);
    this.#arm();
  }

  /** Drops a task's open executions that `keep` no longer vouches for (a claim whose outcome was unknown). */
  prune(taskId: string, keep: (executionId: string) => boolean): void {
    const open = this.#openByTask.get(taskId);
    if (open === undefined) return;
    this.close(
      taskId,
      [...open.keys()].filter((id) => !keep(id)),
    );
  }

  /** The last record a scheduler wrote; for our own id, the one the previous process left. */
  recordOf(schedulerId: string): Promise<OpenExecutionsRecord | undefined> {
    if (schedulerId === this.#o.schedulerId) return this.#loadPreviousOwn();
    const now = this.#o.clock.now();
    const cached = this.#readCache.get(schedulerId);
    if (cached !== undefined && now - cached.at < (this.#o.readCacheMs ?? 2_000)) return cached.record;
    const record = this.#o.store.read(schedulerId);
    this.#readCache.set(schedulerId, { at: now, record });
    // A failed read is not remembered: the next caller asks again.
    record.catch(() => this.#readCache.delete(schedulerId));
    return record;
  }

  /** Writes what is open now (after the events it relies on are durable) and stops the batching. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    if (this.#dirty) await this.#write();
  }

  get openCount(): number {
    let count = 0;
    for (const open of this.#openByTask.values()) count += open.size;
    return count;
  }

  #arm(): void {
    if (this.#stopped || this.#timer !== undefined || !this.#dirty) return;
    this.#timer = this.#o.clock.setTimer(() => {
      this.#timer = undefined;
      if (this.#writing !== undefined) return this.#arm();
      this.#writing = this.#write().finally(() => {
        this.#writing = undefined;
        this.#arm();
      });
    }, this.#o.flushIntervalMs);
  }

  async #write(): Promise<void> {
    try {
      // The previous process's record must be read before ours replaces it.
      await this.#loadPreviousOwn();
      this.#dirty = false;
      const seqs: number[] = [];
      for (const open of this.#openByTask.values()) for (const seq of open.values()) seqs.push(seq);
      seqs.sort((a, b) => a - b);
      const record: OpenExecutionsRecord = {
        incarnation: this.incarnation,
        seq: this.#seq,
        open: toRanges(seqs),
      };
      await this.#o.eventsDurable();
      await this.#o.store.write(this.#o.schedulerId, record);
      this.#failing = false;
    } catch (error) {
      this.#dirty = true;
      if (error instanceof RecordTooBig) {
        if (!this.#tooBigLogged) this.#o.log.warn({ open: this.openCount }, error.message);
        this.#tooBigLogged = true;
        return;
      }
      // Once per outage (a suspended session fails every flush until it is back).
      if (!this.#failing)
        this.#o.log.warn({ err: error }, 'could not write the open-executions record; retrying');
      this.#failing = true;
    }
  }

  #loadPreviousOwn(): Promise<OpenExecutionsRecord | undefined> {
    if (this.#previousOwn !== undefined) return this.#previousOwn;
    const read = this.#o.store.read(this.#o.schedulerId).then((record) =>
      // Our own incarnation's record (after a session expiry) says nothing about a previous process.
      record?.incarnation === this.incarnation ? undefined : record,
    );
    this.#previousOwn = read;
    read.catch(() => {
      if (this.#previousOwn === read) this.#previousOwn = undefined;
    });
    return read;
  }
}

export class RecordTooBig extends Error {}

/** The record as a persistent znode per scheduler, `/open-executions/<schedulerId>`. */
export class ZkOpenExecutionsStore implements OpenExecutionsStore {
  readonly #zk: () => ZkClient;
  readonly #layout: ZnodeLayout;

  constructor(zk: () => ZkClient, layout: ZnodeLayout) {
    this.#zk = zk;
    this.#layout = layout;
  }

  async write(schedulerId: string, record: OpenExecutionsRecord): Promise<void> {
    const data = openExecutionsRecordDocument.encode(record);
    if (data.length > MAX_RECORD_BYTES)
      throw new RecordTooBig(
        `${record.open.length} ranges of open claims do not fit in one znode: the record is not updated, so a crash reports more executions lost than necessary`,
      );
    const path = this.#layout.openExecutionsOf(schedulerId);
    try {
      await this.#zk().set(path, data, -1);
    } catch (error) {
      if (!(isZkError(error) && error.isNoNode)) throw error;
      await this.#zk().create(path, data);
    }
  }

  async read(schedulerId: string): Promise<OpenExecutionsRecord | undefined> {
    let data: Buffer;
    try {
      ({ data } = await this.#zk().get(this.#layout.openExecutionsOf(schedulerId)));
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw error;
    }
    return parseRecord(data);
  }
}

/** A record that does not parse proves nothing: the entries it would judge count as possibly open. */
function parseRecord(data: Buffer): OpenExecutionsRecord | undefined {
  const parsed = openExecutionsRecordDocument.parse(data);
  return parsed.ok ? parsed.value : undefined;
}
