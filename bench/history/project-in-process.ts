/**
 * The projector alone, without Kafka: pre-encoded records fed to BatchProjector in batches
 * of 2,000 (the size of a live fetch) into a SQLite file in a temp dir, WAL,
 * synchronous=NORMAL (the service's settings). The ceiling for the end-to-end figure.
 *   npx tsx --conditions source bench/history/project-in-process.ts [executions] [records per batch]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '@nono/domain';
import { encodeEvent } from '@nono/events';
import { BatchProjector } from '../../services/history/src/projector/batch-projector.js';
import { ProjectionStore } from '../../services/history/src/projector/projection-store.js';
import { openDatabase } from '../../services/history/src/store/open-database.js';
import { generateStream } from '../../services/history/src/testing/event-stream.js';

const executions = Number(process.argv[2] ?? '45000');
const batchRecords = Number(process.argv[3] ?? '2000');
const dir = mkdtempSync(join(tmpdir(), 'nono-history-bench-'));
const events = generateStream({ executions, tasks: 100, seed: 5 });
const records = events.map((event, offset) => ({
  offset,
  key: event.subject,
  value: Buffer.from(String(encodeEvent(event).value)),
}));
const database = openDatabase(join(dir, 'history.sqlite'));
const projector = new BatchProjector(new ProjectionStore(database.db), new SystemClock());
const start = performance.now();
const cpuStart = process.cpuUsage();
for (let i = 0; i < records.length; i += batchRecords)
  projector.project({ topic: 'bench', partition: 0, records: records.slice(i, i + batchRecords) });
const seconds = (performance.now() - start) / 1000;
// CPU time of this process: on a shared machine it moves much less with the neighbours' load than wall time.
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
database.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    events: events.length,
    batchRecords,
    projectSeconds: Number(seconds.toFixed(2)),
    eventsPerSecond: Math.round(events.length / seconds),
    cpuSeconds: Number(cpuSeconds.toFixed(2)),
    eventsPerCpuSecond: Math.round(events.length / cpuSeconds),
  }),
);
