import { type Clock } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type Kafka } from 'kafkajs';
import { BatchProjector } from '../projector/batch-projector.js';
import { ProjectionStore } from '../projector/projection-store.js';
import { removeDatabaseFiles } from '../store/live-database.js';
import { openDatabase } from '../store/open-database.js';
import { projectFromBeginning } from './project-from-beginning.js';
import { type RebuildProgress } from './rebuild-progress.js';

export interface BuildOptions {
  readonly kafka: Kafka;
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
 * Projects the topics from the beginning into `<target>.rebuild-<ms>` and closes it (which
 * checkpoints the WAL into the file), ready to be renamed over the target. On failure the
 * partial file is deleted. `synchronous=OFF` while building: a crash mid-rebuild loses only
 * this throwaway file, and the final close makes it durable.
 */
export async function buildFreshDatabase(options: BuildOptions): Promise<{ file: string; records: number }> {
  const file = `${options.target}.rebuild-${options.clock.now()}`;
  const database = openDatabase(file);
  try {
    database.sqlite.pragma('synchronous = OFF');
    database.sqlite.pragma('cache_size = -131072');
    const store = new ProjectionStore(database.db);
    const { records } = await projectFromBeginning({
      kafka: options.kafka,
      topics: options.topics,
      store,
      projector: new BatchProjector(store, options.clock),
      clock: options.clock,
      log: options.log,
      catchUpLag: options.catchUpLag,
      onProgress: options.onProgress,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    database.sqlite.pragma('synchronous = FULL');
    database.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    database.close();
    return { file, records };
  } catch (error) {
    database.close();
    removeDatabaseFiles(file);
    throw error;
  }
}
