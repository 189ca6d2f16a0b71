/**
 * Bytes per event on the broker's disk: a real scheduler fires per-second tasks into a real
 * worker for a while; then the executions topic's log segments are measured on the broker's
 * data directory and divided by its records (docs/DEPLOYMENT.md sizes Kafka's disks with it).
 *
 *   export NONO_INFRA_DIR=/tmp/nono-size NONO_ZK_PORT=… NONO_KAFKA_PORT=… NONO_KAFKA_CONTROLLER_PORT=…
 *   node infra/bin/nono-infra.mjs up && npm run build
 *   NONO_ZK_CONNECT=127.0.0.1:<zk> NONO_KAFKA_BROKERS=127.0.0.1:<kafka> \
 *     npx tsx --conditions source bench/kafka/event-size.ts --compression gzip
 *
 * The broker must be infra/'s single node of NONO_INFRA_DIR (its data directory is read).
 * `--compression` sets the topic's `compression.type` before the run (`producer`, the default,
 * keeps what nono's producer sends: uncompressed); every record is read back and decoded at the
 * end, as history would.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createKafka } from '@nono/events';
import {
  catchUpTasks,
  collectEvents,
  connectZk,
  defineTasks,
  startScheduler,
} from '../../tests/support/cluster.js';
import { createIsolatedTopics, dropIsolation, isolateOn } from '../../tests/support/isolation.js';
import { REPO_ROOT, startTestWorker } from '../../tests/support/processes.js';

process.on('SIGINT', () => process.exit(130));

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '60' },
    compression: { type: 'string', default: 'producer' },
  },
});
const zkServers = process.env['NONO_ZK_CONNECT'] ?? '127.0.0.1:2181';
const brokers = process.env['NONO_KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const dataDir = join(
  resolve(process.env['NONO_INFRA_DIR'] ?? join(REPO_ROOT, 'infra', '.run')),
  'kafka',
  'data',
);

const iso = await isolateOn('event-size', zkServers, brokers);
await createIsolatedTopics(iso, 6);
const kafka = createKafka({ brokers: iso.kafkaBrokers, clientId: `event-size-${iso.name}` });
const admin = kafka.admin();
await admin.connect();
await admin.alterConfigs({
  validateOnly: false,
  resources: [
    {
      type: 2, // ConfigResourceTypes.TOPIC
      name: iso.topics.executions,
      configEntries: [{ name: 'compression.type', value: values.compression }],
    },
  ],
});
const zk = await connectZk(iso);
const worker = await startTestWorker({ record: false });
const scheduler = await startScheduler(iso, 'size-1', { NONO_LOG_LEVEL: 'warn' });
// All due at the same instants (interval tasks anchored on whole seconds): the spool's batches hold many events.
await defineTasks(iso, zk, catchUpTasks('size', Number(values.tasks), worker.url));
await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
await scheduler.kill('SIGTERM');

const offsets = await admin.fetchTopicOffsets(iso.topics.executions);
const records = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
let logBytes = 0;
for (const dir of readdirSync(dataDir).filter((name) => name.startsWith(`${iso.topics.executions}-`)))
  for (const file of readdirSync(join(dataDir, dir)).filter((name) => name.endsWith('.log')))
    logBytes += statSync(join(dataDir, dir, file)).size;
const log = await collectEvents(iso, iso.topics.executions);
for (let i = 0; i < 120 && log.events.length < records; i++) await new Promise((r) => setTimeout(r, 500));
console.log(
  JSON.stringify({
    compression: values.compression,
    tasks: Number(values.tasks),
    seconds: Number(values.seconds),
    records,
    logBytes,
    bytesPerRecord: Number((logBytes / records).toFixed(1)),
    readBackAndDecoded: log.events.length,
  }),
);
await log.stop();
await admin.disconnect();
zk.close();
await worker.process.kill();
await dropIsolation(iso);
