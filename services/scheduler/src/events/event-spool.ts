import { ftruncateSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type NonoEvent } from '@nono/domain';
import { type EncodedEvent } from '@nono/events';
import { type Logger } from '@nono/runtime';

/** Where the engine appends its facts (the spool, or a list in unit tests). */
export interface EventSink {
  append(events: readonly NonoEvent[]): void;
  /**
   * Resolves once everything appended so far is in the spool's file (true), so that a process
   * killed from then on still has it; false when the spool closed first. A worker is called
   * only after its `fired` fact is written: a call never happens without a fact that says so.
   */
  written(): Promise<boolean>;
}

export interface EventPublisherPort {
  /** Each event comes with the JSON the spool wrote, so it is serialised once. */
  publish(events: readonly EncodedEvent[]): Promise<void>;
}

/** `json` is the spooled line without its newline: its length + 1 is what delivery advances the cursor by. */
interface SpooledEvent extends EncodedEvent {
  readonly event: NonoEvent;
}

/**
 * The spool's log file, as the spool uses it: a port so a failing disk can be injected in tests.
 * Writes and truncations are synchronous: a write lands in the kernel's page cache in
 * microseconds, cheaper than a round trip through libuv's thread pool on the path of every
 * fire, and two writes can never interleave. Only the fdatasync, which waits for the disk,
 * leaves the event loop.
 */
export interface SpoolFile {
  write(data: Buffer): void;
  datasync(): Promise<void>;
  truncate(length: number): void;
  close(): Promise<void>;
}

/** The log file on the real file system, opened for appending. */
export async function openSpoolFile(path: string): Promise<SpoolFile> {
  const handle = await open(path, 'a');
  return {
    write: (data) => {
      for (let offset = 0; offset < data.length;)
        offset += writeSync(handle.fd, data, offset, data.length - offset);
    },
    datasync: () => handle.datasync(),
    truncate: (length) => ftruncateSync(handle.fd, length),
    close: () => handle.close(),
  };
}

export interface EventSpoolOptions {
  readonly dir: string;
  /** Opens the log for appending (default: the file system). */
  readonly openFile?: (path: string) => Promise<SpoolFile>;
  /** Told when writes start failing (with the error) and when they succeed again. */
  readonly onWritable?: (writable: boolean, error?: unknown) => void;
  readonly publisher: EventPublisherPort;
  readonly log: Logger;
  readonly flushIntervalMs?: number;
  readonly maxBatch?: number;
  /** Once everything is delivered and the log is this big, it is truncated. */
  readonly compactAtBytes?: number;
  readonly onDelivered?: (count: number) => void;
  readonly onDeliveryError?: (error: unknown) => void;
  /** How long a batch may wait for Kafka's answer before Kafka counts as unreachable (default 5 s). */
  readonly unreachableAfterMs?: number;
}

const LOG_FILE = 'events.jsonl';
const CURSOR_FILE = 'cursor';
const COMPACT_AT_BYTES = 16 * 1024 * 1024;
const NEWLINE = Buffer.from('\n');
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 5_000;
/**
 * The publisher keeps retrying one batch for about 21 s, so that a partition leader moving to
 * another broker costs no failed send (PUBLISH_RETRY in @nono/events); readiness and a
 * shutdown's wait for delivery hear of an outage after this long without an answer instead.
 */
const UNREACHABLE_AFTER_MS = 5_000;

/**
 * Events go to a local append-only spool first, then to Kafka in spool order. An event is
 * written to the file as soon as someone waits for it (`written()`: the runner does, before it
 * calls a worker), or with the next flush; the file is fdatasynced every `flushIntervalMs`,
 * and only synced events are handed to Kafka. If Kafka is away the scheduler keeps firing and
 * the spool grows; when Kafka returns everything is delivered, in order. A restart resumes
 * from the delivered cursor, so nothing is lost; a crash between "sent" and "cursor saved"
 * resends a few events with the same ids, which consumers drop.
 *
 * What each failure costs: a killed process (SIGKILL, OOM) loses no written event, since the
 * kernel holds it; a machine that loses power loses what was written but not yet synced (at
 * most `flushIntervalMs` of facts), and the fire state in ZooKeeper still lists those
 * executions, so they are reported lost rather than forgotten.
 */
export class EventSpool implements EventSink {
  readonly #options: EventSpoolOptions;
  #file: SpoolFile | undefined;
  /** Bytes of whole lines written to the log: a failed write is cut back to here, so no torn line stays. */
  #writtenBytes = 0;
  /** Bytes of the log known to be on disk: a failed fdatasync cuts the log back to here and writes the rest again. */
  #syncedBytes = 0;
  #writable = true;
  #writeError: string | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs = RETRY_FIRST_MS;
  #cursor = 0;
  #cursorSavedAt = 0;
  #cursorTimer: NodeJS.Timeout | undefined;
  #cursorWrite: Promise<void> = Promise.resolve();
  /** Appended, not yet in the file. */
  #unwritten: NonoEvent[] = [];
  /** In the file, not yet fdatasynced. */
  #unsynced: SpooledEvent[] = [];
  /** On disk, not yet delivered to Kafka. */
  #pending: SpooledEvent[] = [];
  /** Events ever appended, and how many of them are in the file (the first `#writtenCount`). */
  #appendedCount = 0;
  #writtenCount = 0;
  /** `written()` callers, each waiting for the events appended before it. */
  #writeWaiters: { readonly upTo: number; readonly resolve: (written: boolean) => void }[] = [];
  #writeSoon = false;
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #delivering = false;
  #closed = false;
  #kafkaHealthy = true;
  #wake: (() => void) | undefined;

  constructor(options: EventSpoolOptions) {
    this.#options = options;
  }

  /** Opens the spool and queues whatever a previous run left undelivered. */
  async open(): Promise<number> {
    await mkdir(this.#options.dir, { recursive: true });
    const logPath = join(this.#options.dir, LOG_FILE);
    this.#cursor = await readCursor(join(this.#options.dir, CURSOR_FILE));
    const content = await readFile(logPath).catch(() => Buffer.alloc(0));
    if (this.#cursor > content.length) this.#cursor = 0; // compaction crashed between truncate and cursor write
    let offset = this.#cursor;
    for (const line of content.subarray(this.#cursor).toString('utf8').split('\n')) {
      const bytes = Buffer.byteLength(line) + 1;
      if (line.trim() === '') break;
      try {
        this.#pending.push({ event: JSON.parse(line) as NonoEvent, json: Buffer.from(line) });
        offset += bytes;
      } catch {
        // A torn last line from a crash mid-write: everything before it is intact.
        break;
      }
    }
    this.#file = await (this.#options.openFile ?? openSpoolFile)(logPath);
    // Anything after the last whole line is garbage from a torn write; new lines start clean.
    if (offset < content.length) this.#file.truncate(offset);
    this.#writtenBytes = offset;
    this.#syncedBytes = offset;
    void this.#deliverLoop();
    return this.#pending.length;
  }

  get depth(): number {
    return this.#unwritten.length + this.#unsynced.length + this.#pending.length;
  }

  get kafkaHealthy(): boolean {
    return this.#kafkaHealthy;
  }

  /** False while appended events cannot be made durable: the scheduler must not claim (fail closed). */
  get writable(): boolean {
    return this.#writable;
  }

  /** Why the last write failed, while it fails. */
  get writeError(): string | undefined {
    return this.#writeError;
  }

  append(events: readonly NonoEvent[]): void {
    if (events.length === 0) return;
    this.#unwritten.push(...events);
    this.#appendedCount += events.length;
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      this.flush().catch(() => undefined); // logged, surfaced as not writable, retried
      // 20 ms: one write + fdatasync and one Kafka batch per 20 ms of fires (5 ms cost ~25% more CPU per fire).
    }, this.#options.flushIntervalMs ?? 20);
  }

  written(): Promise<boolean> {
    if (this.#writtenCount >= this.#appendedCount) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    const waiting = new Promise<boolean>((resolve) =>
      this.#writeWaiters.push({ upTo: this.#appendedCount, resolve }),
    );
    if (!this.#writeSoon) {
      this.#writeSoon = true;
      // After this turn of the event loop: the fires started together share one write. While
      // writes fail, the retry with back-off writes them (#failed).
      setImmediate(() => {
        this.#writeSoon = false;
        const file = this.#file;
        if (file === undefined || !this.#writable) return;
        try {
          this.#writeUnwritten(file);
        } catch {
          // Logged and retried by #failed.
        }
      });
    }
    return waiting;
  }

  /**
   * Writes and fdatasyncs what was appended; serialised so lines never interleave. Rejects when
   * the write or the sync fails: the events stay in memory, in order, are retried with back-off,
   * and are handed to Kafka only once synced (the delivery cursor counts bytes of the log).
   * Callers that rely on durability (the open-executions record) therefore never take a failed
   * flush for success.
   */
  flush(): Promise<void> {
    return this.#serialised(async (file) => {
      this.#writeUnwritten(file);
      if (this.#unsynced.length === 0) return;
      // Lines written while the sync runs are not covered by it.
      const covered = this.#unsynced.length;
      const coveredBytes = this.#writtenBytes;
      try {
        await file.datasync();
      } catch (error) {
        // What the failed sync covered may not be on disk: cut the log back to what is, and
        // write the rest again (the same lines, so the same event ids).
        cutBack(file, this.#syncedBytes);
        this.#unwritten = [...this.#unsynced.map((item) => item.event), ...this.#unwritten];
        this.#writtenCount -= this.#unsynced.length;
        this.#unsynced = [];
        this.#writtenBytes = this.#syncedBytes;
        this.#failed(error);
        throw error;
      }
      this.#syncedBytes = coveredBytes;
      this.#pending.push(...this.#unsynced.splice(0, covered));
      this.#setWritable(true);
      this.#wake?.();
    });
  }

  /** One file operation at a time, in the order asked; each caller sees its own outcome. */
  #serialised(operation: (file: SpoolFile) => Promise<void>): Promise<void> {
    const run = this.#flushing.then(() => (this.#file === undefined ? undefined : operation(this.#file)));
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  /** Appends the unwritten events to the log (no sync) and tells whoever waited for them; throws when the write fails. */
  #writeUnwritten(file: SpoolFile): void {
    if (this.#unwritten.length === 0) return;
    const batch = this.#unwritten;
    const spooled = batch.map((event) => ({ event, json: Buffer.from(JSON.stringify(event)) }));
    const chunks: Buffer[] = [];
    for (const item of spooled) chunks.push(item.json, NEWLINE);
    const data = Buffer.concat(chunks);
    try {
      file.write(data);
    } catch (error) {
      // Cut a partial write back so the next attempt starts on a line boundary.
      cutBack(file, this.#writtenBytes);
      this.#failed(error);
      throw error;
    }
    this.#unwritten = [];
    this.#writtenBytes += data.length;
    this.#writtenCount += batch.length;
    this.#unsynced.push(...spooled);
    const waiting = this.#writeWaiters;
    this.#writeWaiters = [];
    for (const waiter of waiting)
      if (waiter.upTo <= this.#writtenCount) waiter.resolve(true);
      else this.#writeWaiters.push(waiter);
  }

  #failed(error: unknown): void {
    this.#setWritable(false, error);
    this.#retryLater();
  }

  #setWritable(writable: boolean, error?: unknown): void {
    this.#writeError = writable ? undefined : error instanceof Error ? error.message : String(error);
    if (writable) this.#retryDelayMs = RETRY_FIRST_MS;
    if (writable === this.#writable) return;
    this.#writable = writable;
    if (writable) this.#options.log.info({ depth: this.depth }, 'event spool writable again');
    else
      this.#options.log.error(
        { err: error, unwritten: this.#unwritten.length + this.#unsynced.length },
        'event spool write failed: events kept in memory, claiming stops until writes succeed',
      );
    this.#options.onWritable?.(writable, error);
  }

  #retryLater(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    const delay = this.#retryDelayMs;
    this.#retryDelayMs = Math.min(RETRY_MAX_MS, delay * 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.flush().catch(() => undefined); // a failure re-arms the retry
    }, delay);
  }

  async #deliverLoop(): Promise<void> {
    if (this.#delivering) return;
    this.#delivering = true;
    let backoffMs = 100;
    while (!this.#closed) {
      if (this.#pending.length === 0) {
        await this.#maybeCompact().catch((error: unknown) =>
          this.#options.log.warn({ err: error }, 'could not compact the event spool; will retry'),
        );
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      const batch = this.#pending.slice(0, this.#options.maxBatch ?? 500);
      const unanswered = setTimeout(
        () => this.#kafkaUnreachable(new Error('Kafka has not acknowledged a batch for a while')),
        this.#options.unreachableAfterMs ?? UNREACHABLE_AFTER_MS,
      );
      try {
        await this.#options.publisher.publish(batch);
        clearTimeout(unanswered);
        this.#pending.splice(0, batch.length);
        this.#cursor += batch.reduce((sum, item) => sum + item.json.length + 1, 0);
        await this.#saveCursor(false);
        this.#options.onDelivered?.(batch.length);
        if (!this.#kafkaHealthy)
          this.#options.log.info({ depth: this.depth }, 'Kafka reachable again: delivering spooled events');
        this.#kafkaHealthy = true;
        backoffMs = 100;
      } catch (error) {
        clearTimeout(unanswered);
        this.#kafkaUnreachable(error);
        this.#options.onDeliveryError?.(error);
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(5_000, backoffMs * 2);
      }
    }
    this.#delivering = false;
  }

  #kafkaUnreachable(error: unknown): void {
    if (this.#kafkaHealthy)
      this.#options.log.warn({ err: error, depth: this.depth }, 'Kafka unreachable: spooling events on disk');
    this.#kafkaHealthy = false;
  }

  /**
   * Saved at most every 200 ms under load: a cursor that lags only means a few events are
   * resent after a crash, with the same ids, and consumers drop them.
   */
  async #saveCursor(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - this.#cursorSavedAt < 200) {
      // Trailing save, so an idle spool still records where it got to.
      this.#cursorTimer ??= setTimeout(() => {
        this.#cursorTimer = undefined;
        void this.#saveCursor(true);
      }, 200);
      return;
    }
    this.#cursorSavedAt = now;
    const cursor = this.#cursor;
    // Serialised: two writers sharing the temporary file would race on the rename.
    this.#cursorWrite = this.#cursorWrite
      .then(() => writeCursor(this.#options.dir, cursor))
      .catch((error: unknown) => this.#options.log.warn({ err: error }, 'could not save the spool cursor'));
    await this.#cursorWrite;
  }

  async #maybeCompact(): Promise<void> {
    if (this.#cursor < (this.#options.compactAtBytes ?? COMPACT_AT_BYTES)) return;
    await this.flush();
    // Among the file operations, so no line is written between the check and the truncation.
    await this.#serialised(async (file) => {
      if (this.#pending.length > 0 || this.#unsynced.length > 0 || this.#unwritten.length > 0) return;
      file.truncate(0);
      this.#writtenBytes = 0;
      this.#syncedBytes = 0;
      this.#cursor = 0;
      // Before any new line: a crash after it must not find an old cursor inside new lines.
      // Through the serialised cursor writes: a direct write raced a trailing save on the temporary file.
      await this.#saveCursor(true);
    });
  }

  /** Flushes, then delivers what it can before `deadlineMs`; the rest stays spooled for the next start. */
  async close(deadlineMs: number): Promise<number> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    clearTimeout(this.#retryTimer);
    await this.flush().catch((error: unknown) =>
      this.#options.log.error(
        { err: error, lost: this.#unwritten.length + this.#unsynced.length },
        'event spool: events not written at close',
      ),
    );
    const deadline = Date.now() + deadlineMs;
    while (this.#pending.length > 0 && Date.now() < deadline && this.#kafkaHealthy) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.#closed = true;
    for (const waiter of this.#writeWaiters.splice(0)) waiter.resolve(false);
    this.#wake?.();
    clearTimeout(this.#cursorTimer);
    await this.#saveCursor(true);
    await this.#file?.close();
    this.#file = undefined;
    return this.depth;
  }
}

/** Truncates the log back to a line boundary after a failure; if that fails too, the next write's failure says so. */
function cutBack(file: SpoolFile, length: number): void {
  try {
    file.truncate(length);
  } catch {
    // The disk refuses even this: the spool stays not writable and retries.
  }
}

async function readCursor(path: string): Promise<number> {
  const text = await readFile(path, 'utf8').catch(() => '0');
  const value = Number.parseInt(text, 10);
  return Number.isFinite(value) && value >= 0 ? value : 0;
}

async function writeCursor(dir: string, cursor: number): Promise<void> {
  const tmp = join(dir, `${CURSOR_FILE}.tmp`);
  await writeFile(tmp, String(cursor));
  await rename(tmp, join(dir, CURSOR_FILE));
}
