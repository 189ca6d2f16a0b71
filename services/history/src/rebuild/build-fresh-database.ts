import { type Clock } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type Kafka } from 'kafkajs';
import { type KafkaSecurity } from '@nono/events';
import { BatchProjector } from '../projector/batch-projector.js';
import { ProjectionStore } from '../projector/projection-store.js';
import { BulkLoad, fsyncFile } from '../store/bulk-load.js';
import { removeDatabaseFiles } from '../store/live-database.js';
import { openDatabase } from '../store/open-database.js';
import { projectFromBeginning } from './project-from-beginning.js';
import { type RebuildProgress } from './rebuild-progress.js';

export interface BuildOptions {
  readonly kafka: Kafka;
  /** The same brokers as `kafka`'s: the fetch thread opens its own client (see ThreadedFetch). */
  readonly brokers: readonly string[];
  readonly kafkaSecurity?: KafkaSecurity | undefined;
  readonly topics: readonly string[];
  /** The configured database path: the new file is built beside it. */
  readonly target: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly catchUpLag: number;
  readonly onProgress: (progress: RebuildProgress) => void;
  readonly signal?: AbortSignal;
}

/**
 * Projects the topics from the beginning into `<target>.rebuild-<ms>` and closes it, ready
 * to be renamed over the target. On failure the partial file is deleted. Built as a bulk
 * load (no journal on disk, no syncs, large transactions, secondary indexes created at the
 * end: see BulkLoad): a crash mid-rebuild loses only this throwaway file, and the file is
 * synced to disk once it is complete.
 */
export async function buildFreshDatabase(options: BuildOptions): Promise<{ file: string; records: number }> {
  const file = `${options.target}.rebuild-${options.clock.now()}`;
  // The store below relies on the file starting empty (ProjectionStore's freshFile).
  removeDatabaseFiles(file);
  const database = openDatabase(file);
  try {
    const bulk = new BulkLoad(database.sqlite);
    const store = new ProjectionStore(database.db, { freshFile: true });
    const { records } = await projectFromBeginning({
      kafka: options.kafka,
      brokers: options.brokers,
      kafkaSecurity: options.kafkaSecurity,
      topics: options.topics,
      store,
      projector: new BatchProjector(store, options.clock),
      clock: options.clock,
      log: options.log,
      catchUpLag: options.catchUpLag,
      onProgress: options.onProgress,
      onChunk: (records) => bulk.projected(records),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    store.writeDeferred();
    bulk.finish();
    database.close();
    fsyncFile(file);
    return { file, records };
  } catch (error) {
    database.close();
    removeDatabaseFiles(file);
    throw error;
  }
}
