/**
 * BullMQ on nono's cron workload, for a side-by-side with bench/scheduler/fire-lateness.ts:
 * N job schedulers with one cron in one zone, a BullMQ worker that calls the same test worker
 * (tests/support/test-worker.mjs) over HTTP with undici, and the same measures: fires per
 * second, lateness at the worker (arrival minus nominal instant) and CPU per fire (the BullMQ
 * process plus its own redis-server).
 *
 *   apt-get install redis-server          # Debian's; any redis-server on PATH
 *   npm ci --prefix bench/peers/bullmq
 *   npx tsx bench/peers/bullmq/cron-fires.ts --tasks 1000 --cron '* * * * * *' --zone Europe/Paris --seconds 30
 *
 * The nominal instant of a BullMQ repeat job is the millis in its id (`repeat:<scheduler>:<millis>`);
 * the worker sends it as `Nono-Nominal-Time` with `Nono-Attempt: 1`, so the test worker measures
 * BullMQ's lateness exactly as it measures nono's.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { startTestWorker } from '../../../tests/support/processes.js';

process.on('SIGINT', () => process.exit(130));

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000' },
    cron: { type: 'string', default: '* * * * * *' },
    zone: { type: 'string', default: 'UTC' },
    seconds: { type: 'string', default: '30' },
    'warmup-s': { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '256' },
  },
});
const tasks = Number(values.tasks);
const seconds = Number(values.seconds);
const warmupS = Number(values['warmup-s']);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** utime + stime of a process, in CPU seconds (Linux /proc; clock ticks of 100 Hz). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const redisPort = await freePort();
const redis = spawn(
  'redis-server',
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  {
    stdio: 'ignore',
  },
);
process.on('exit', () => redis.kill('SIGKILL'));
// BullMQ 6 takes a client instance under ESM (ioredis is an optional peer there).
const client = (): Redis => new Redis({ host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: null });
// Wait for the port before any client exists (an ioredis client logs every refused connect).
for (let tries = 0; ; tries++) {
  const open = await new Promise<boolean>((resolve) => {
    const socket = connect(redisPort, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (open) break;
  if (tries > 100) throw new Error(`redis-server did not listen on ${redisPort}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const receiver = await startTestWorker({ record: false });
const queue = new Queue('cron', { connection: client() });
for (let i = 0; i < tasks; i++)
  await queue.upsertJobScheduler(
    `t${i}`,
    { pattern: values.cron, tz: values.zone },
    { name: 'fire', data: { task: `t${i}` } },
  );

let fires = 0;
const worker = new Worker(
  'cron',
  async (job) => {
    const nominal = Number(job.id?.split(':').at(-1));
    fires++;
    const response = await request(`${receiver.url}/ok/${String((job.data as { task: string }).task)}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'nono-nominal-time': new Date(nominal).toISOString(),
        'nono-attempt': '1',
        'idempotency-key': job.id ?? '',
      },
      body: '{}',
    });
    await response.body.dump();
  },
  {
    connection: client(),
    concurrency: Number(values.concurrency),
    removeOnComplete: { count: 0 },
    removeOnFail: { count: 1000 },
  },
);

await new Promise((resolve) => setTimeout(resolve, warmupS * 1000));
const windowStart = Math.ceil(Date.now() / 1000) * 1000;
await new Promise((resolve) => setTimeout(resolve, windowStart - Date.now()));
const firesAtStart = fires;
const cpuStart = { own: process.cpuUsage(), redis: cpuSecondsOf(redis.pid ?? 0) };
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const windowEnd = windowStart + seconds * 1000;
const windowFires = fires - firesAtStart;
const own = process.cpuUsage(cpuStart.own);
const ownCpuS = (own.user + own.system) / 1e6;
const redisCpuS = cpuSecondsOf(redis.pid ?? 0) - cpuStart.redis;
// Calls of the window's last instants may still be on their way.
await new Promise((resolve) => setTimeout(resolve, 2_000));
const lateness = (await (
  await fetch(`${receiver.url}/lateness?from=${windowStart}&to=${windowEnd}`)
).json()) as { count: number; p50: number | null; p99: number | null; max: number | null };

process.stdout.write(
  `${JSON.stringify({
    system: 'bullmq',
    tasks,
    schedule: { cron: values.cron, zone: values.zone },
    seconds,
    expectedFires: tasks * seconds,
    workerArrivals: lateness.count,
    firesPerSecond: Math.round(windowFires / seconds),
    workerLatenessMs: lateness,
    cpuMsPerFire: {
      bullmq: Number(((ownCpuS * 1000) / windowFires).toFixed(3)),
      redis: Number(((redisCpuS * 1000) / windowFires).toFixed(3)),
      total: Number((((ownCpuS + redisCpuS) * 1000) / windowFires).toFixed(3)),
    },
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  })}\n`,
);
await worker.close(true);
await queue.obliterate({ force: true }).catch(() => undefined);
await queue.close();
await receiver.process.kill();
process.exit(0);
