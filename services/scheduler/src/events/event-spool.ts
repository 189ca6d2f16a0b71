import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type NonoEvent } from '@nono/domain';
import { type EncodedEvent } from '@nono/events';
import { type Logger } from '@nono/runtime';

/** Where the engine appends its facts (the spool, or a list in unit tests). */
export interface EventSink {
  append(events: readonly NonoEvent[]): void;
}

export interface EventPublisherPort {
  /** Each event comes with the JSON the spool wrote, so it is serialised once. */
  publish(events: readonly EncodedEvent[]): Promise<void>;
}

/** `json` is the spooled line without its newline: its length + 1 is what delivery advances the cursor by. */
interface SpooledEvent extends EncodedEvent {
  readonly event: NonoEvent;
}

/** The spool's log file, as the spool uses it: a port so a failing disk can be injected in tests. */
export interface SpoolFile {
  write(data: Buffer): Promise<unknown>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** The log file on the real file system, opened for appending. */
export const openSpoolFile = (path: string): Promise<SpoolFile> => open(path, 'a');

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
 * Events go to a local append-only spool first (fsynced in small batches), then to Kafka
 * in spool order. If Kafka is away the scheduler keeps firing and the spool grows; when
 * Kafka returns everything is delivered, in order. A restart resumes from the delivered
 * cursor, so nothing is lost; a crash between "sent" and "cursor saved" resends a few
 * events with the same ids, which consumers drop.
 */
export class EventSpool implements EventSink {
  readonly #options: EventSpoolOptions;
  #file: SpoolFile | undefined;
  /** Bytes of whole lines in the log: a failed write is cut back to here, so no torn line stays. */
  #fileBytes = 0;
  #writable = true;
  #writeError: string | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs = RETRY_FIRST_MS;
  #cursor = 0;
  #cursorSavedAt = 0;
  #cursorTimer: NodeJS.Timeout | undefined;
  #cursorWrite: Promise<void> = Promise.resolve();
  #unflushed: NonoEvent[] = [];
  #pending: SpooledEvent[] = [];
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
    if (offset < content.length) await this.#file.truncate(offset);
    this.#fileBytes = offset;
    void this.#deliverLoop();
    return this.#pending.length;
  }

  get depth(): number {
    return this.#unflushed.length + this.#pending.length;
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
    this.#unflushed.push(...events);
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      this.flush().catch(() => undefined); // logged, surfaced as not writable, retried
      // 20 ms: one write + fdatasync and one Kafka batch per 20 ms of fires (5 ms cost ~25% more CPU per fire).
    }, this.#options.flushIntervalMs ?? 20);
  }

  /**
   * Writes and fsyncs what was appended; serialised so lines never interleave. Rejects when the
   * write fails: the events stay in memory, in order, are retried with back-off, and are handed
   * to Kafka only once durable (the delivery cursor counts bytes of the log). Callers that rely
   * on durability (the open-executions record) therefore never take a failed flush for success.
   */
  flush(): Promise<void> {
    const run = this.#flushing.then(async () => {
      const file = this.#file;
      if (file === undefined || this.#unflushed.length === 0) return;
      // A copy: events appended while this write is in flight wait for the next one.
      const batch = this.#unflushed.slice();
      const spooled = batch.map((event) => ({ event, json: Buffer.from(JSON.stringify(event)) }));
      const chunks: Buffer[] = [];
      for (const item of spooled) chunks.push(item.json, NEWLINE);
      const data = Buffer.concat(chunks);
      try {
        await file.write(data);
        await file.datasync();
      } catch (error) {
        // Cut a partial write back so the next attempt starts on a line boundary.
        await file.truncate(this.#fileBytes).catch(() => undefined);
        this.#setWritable(false, error);
        this.#retryLater();
        throw error;
      }
      this.#unflushed = this.#unflushed.slice(batch.length);
      this.#fileBytes += data.length;
      this.#setWritable(true);
      this.#pending.push(...spooled);
      this.#wake?.();
    });
    // The chain goes on after a failure; each caller sees its own flush's outcome.
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  #setWritable(writable: boolean, error?: unknown): void {
    this.#writeError = writable ? undefined : error instanceof Error ? error.message : String(error);
    if (writable) this.#retryDelayMs = RETRY_FIRST_MS;
    if (writable === this.#writable) return;
    this.#writable = writable;
    if (writable) this.#options.log.info({ depth: this.depth }, 'event spool writable again');
    else
      this.#options.log.error(
        { err: error, unflushed: this.#unflushed.length },
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
    if (this.#pending.length > 0 || this.#unflushed.length > 0) return;
    await this.#file?.truncate(0);
    this.#fileBytes = 0;
    this.#cursor = 0;
    // Through the serialised cursor writes: a direct write raced a trailing save on the temporary file.
    await this.#saveCursor(true);
  }

  /** Flushes, then delivers what it can before `deadlineMs`; the rest stays spooled for the next start. */
  async close(deadlineMs: number): Promise<number> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    clearTimeout(this.#retryTimer);
    await this.flush().catch((error: unknown) =>
      this.#options.log.error(
        { err: error, lost: this.#unflushed.length },
        'event spool: events not written at close',
      ),
    );
    const deadline = Date.now() + deadlineMs;
    while (this.#pending.length > 0 && Date.now() < deadline && this.#kafkaHealthy) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.#closed = true;
    this.#wake?.();
    clearTimeout(this.#cursorTimer);
    await this.#saveCursor(true);
    await this.#file?.close();
    this.#file = undefined;
    return this.#pending.length + this.#unflushed.length;
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
