import { existsSync, renameSync, rmSync } from 'node:fs';
import { type Clock } from '@nono/domain';
import { createKafka, topicNames } from '@nono/events';
import { type Logger } from '@nono/runtime';
import { type HistoryConfig } from '../config.js';
import { BatchProjector } from '../projector/batch-projector.js';
import { ProjectionStore } from '../projector/projection-store.js';
import { openDatabase } from '../store/open-database.js';
import { drainTopics } from './topic-drain.js';

/**
 * `history rebuild`: projects the topics from their beginning into a NEW database file,
 * then renames it over the configured one. The rename is atomic, so a reader sees the old
 * database or the new one, never a half-built one. The service must be stopped while the
 * file is swapped (it would keep writing to the old file); on its next start it resumes
 * from the offsets the rebuild stored, so records published meanwhile are not lost.
 */
export async function rebuildDatabase(
  config: HistoryConfig,
  deps: { clock: Clock; log: Logger; progress: (line: string) => void },
): Promise<{ records: number; file: string }> {
  const target = config.dbFile;
  const building = `${target}.rebuild-${deps.clock.now()}`;
  const database = openDatabase(building);
  try {
    const projector = new BatchProjector(new ProjectionStore(database.db), deps.clock);
    const topics = topicNames(config.common.topicPrefix);
    const kafka = createKafka({
      brokers: config.common.kafkaBrokers,
      clientId: `nono-history-rebuild-${process.pid}`,
    });
    const { records } = await drainTopics({
      kafka,
      topics: [topics.tasks, topics.executions, topics.cluster],
      startAt: () => undefined,
      onBatch: (batch) => void projector.project(batch),
      onProgress: ({ records: done, remaining, elapsedMs }) =>
        deps.progress(
          `rebuild: ${done} records, ${Math.round(done / Math.max(elapsedMs / 1000, 0.001))} records/s, ${remaining} remaining`,
        ),
      log: deps.log,
    });
    database.close();
    // A stale WAL beside the new file would be replayed into it: the old one's go first.
    for (const suffix of ['-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
    renameSync(building, target);
    return { records, file: target };
  } catch (error) {
    database.close();
    for (const suffix of ['', '-wal', '-shm'])
      if (existsSync(`${building}${suffix}`)) rmSync(`${building}${suffix}`);
    throw error;
  }
}
