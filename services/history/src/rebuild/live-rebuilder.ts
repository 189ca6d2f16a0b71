import { type Clock, formatInstant } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type Kafka } from 'kafkajs';
import { type KafkaSecurity } from '@nono/events';
import { type KafkaProjector } from '../projector/kafka-projector.js';
import { type LiveDatabase, removeDatabaseFiles } from '../store/live-database.js';
import { buildFreshDatabase } from './build-fresh-database.js';
import { type RebuildPhase, type RebuildProgress } from './rebuild-progress.js';

export interface RebuildStatus extends RebuildProgress {
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** Why a failed rebuild failed (the live database is untouched then). */
  readonly error: string | null;
}

export class RebuildInProgressError extends Error {
  readonly running: RebuildStatus;

  constructor(running: RebuildStatus) {
    super(`rebuild ${running.id} is already running`);
    this.name = 'RebuildInProgressError';
    this.running = running;
  }
}

export interface LiveRebuilderOptions {
  readonly kafka: Kafka;
  readonly brokers: readonly string[];
  readonly kafkaSecurity?: KafkaSecurity | undefined;
  readonly topics: readonly string[];
  readonly database: LiveDatabase;
  readonly projector: KafkaProjector;
  readonly clock: Clock;
  readonly log: Logger;
  /** Lag at which the new database is swapped in; the live projector projects the rest into it. */
  readonly catchUpLag?: number;
}

/**
 * `POST /admin/rebuild`: builds a new database from the beginning of the topics beside the
 * live one while the service keeps projecting and answering from the old one, then swaps
 * it in between two live batches (KafkaProjector.swapDatabase). One rebuild at a time.
 */
export class LiveRebuilder {
  readonly #options: LiveRebuilderOptions;
  #status: RebuildStatus | undefined;
  #running: { abort: AbortController; done: Promise<void> } | undefined;

  constructor(options: LiveRebuilderOptions) {
    this.#options = options;
  }

  status(): RebuildStatus | undefined {
    return this.#status;
  }

  /** Starts a rebuild and returns at once; throws RebuildInProgressError while one runs. */
  start(): RebuildStatus {
    if (this.#running !== undefined && this.#status !== undefined)
      throw new RebuildInProgressError(this.#status);
    const { clock, log } = this.#options;
    const startedMs = clock.now();
    const status: RebuildStatus = {
      id: `rebuild-${startedMs}`,
      startedAt: formatInstant(startedMs),
      finishedAt: null,
      error: null,
      phase: 'building',
      records: 0,
      eventsPerSecond: 0,
      remainingLag: 0,
      elapsedMs: 0,
    };
    this.#status = status;
    const abort = new AbortController();
    const done = this.#run(status.id, abort.signal).then(
      () => undefined,
      (error: unknown) => {
        log.error({ err: error, rebuild: status.id }, 'rebuild failed; the live database is unchanged');
        this.#update(status.id, {
          phase: 'failed',
          error: error instanceof Error ? error.message : String(error),
        });
      },
    );
    this.#running = { abort, done: done.finally(() => (this.#running = undefined)) };
    return status;
  }

  async #run(id: string, signal: AbortSignal): Promise<void> {
    const { kafka, brokers, kafkaSecurity, topics, database, projector, clock, log } = this.#options;
    const built = await buildFreshDatabase({
      kafka,
      brokers,
      kafkaSecurity,
      topics,
      target: database.file,
      clock,
      log,
      catchUpLag: this.#options.catchUpLag ?? 1_000,
      signal,
      onProgress: (progress) => this.#update(id, progress),
    });
    this.#update(id, { phase: 'swapping' });
    try {
      await projector.swapDatabase(built.file);
    } catch (error) {
      removeDatabaseFiles(built.file);
      throw error;
    }
    this.#update(id, { phase: 'done', finishedAt: formatInstant(clock.now()) });
    log.info({ rebuild: id, records: built.records }, 'rebuilt database swapped in');
  }

  #update(id: string, change: Partial<Omit<RebuildStatus, 'phase'>> & { phase?: RebuildPhase }): void {
    if (this.#status?.id !== id) return;
    const next = { ...this.#status, ...change };
    const finished = next.phase === 'done' || next.phase === 'failed';
    this.#status = {
      ...next,
      elapsedMs: this.#options.clock.now() - Date.parse(next.startedAt),
      finishedAt: finished ? (next.finishedAt ?? formatInstant(this.#options.clock.now())) : null,
    };
  }

  /** Aborts a running rebuild (its file is deleted) and waits for it to end. */
  async stop(): Promise<void> {
    const running = this.#running;
    if (running === undefined) return;
    running.abort.abort(new Error('the service is stopping'));
    await running.done;
  }
}
