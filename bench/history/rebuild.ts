/**
 * Rebuild time: projects every record under a topic prefix (published once by produce.ts)
 * from the beginning into a fresh SQLite file, exactly as `history rebuild` and
 * `POST /admin/rebuild` do (buildFreshDatabase: bulk fetch sizes, synchronous=OFF while
 * building, chunks of 2,000 records per transaction), then deletes the file.
 *   NONO_KAFKA_BROKERS=127.0.0.1:9092 npx tsx --conditions source bench/history/rebuild.ts [prefix]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '@nono/domain';
import { createKafka, topicNames } from '@nono/events';
import { createLogger } from '@nono/runtime';
import { buildFreshDatabase } from '../../services/history/src/rebuild/build-fresh-database.js';
import { formatProgress } from '../../services/history/src/rebuild/rebuild-progress.js';

const prefix = process.argv[2] ?? 'bench.history-1m.';
const brokers = (process.env['NONO_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const dir = mkdtempSync(join(tmpdir(), 'nono-history-rebuild-bench-'));
const topics = topicNames(prefix);
const started = performance.now();
try {
  const built = await buildFreshDatabase({
    kafka: createKafka({ brokers, clientId: 'bench-history-rebuild' }),
    brokers,
    topics: [topics.tasks, topics.executions, topics.cluster],
    target: join(dir, 'history.sqlite'),
    clock: new SystemClock(),
    log: createLogger('bench-history-rebuild', 'warn'),
    catchUpLag: 0,
    onProgress: (progress) => process.stderr.write(`${formatProgress(progress)}\n`),
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      prefix,
      records: built.records,
      seconds: Number(seconds.toFixed(1)),
      eventsPerSecond: Math.round(built.records / seconds),
      fileMiB: Math.round(statSync(built.file).size / 1024 / 1024),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
