#!/usr/bin/env node
// Benchmarks the built API (services/api/dist/main.js) as a real process against the
// running ZooKeeper and Kafka, in a private ZooKeeper root and topic prefix that are
// removed afterwards. Prints a Markdown table for docs/BENCHMARKS.md (## api).
//
//   npm run build -w @nono/api && node bench/api/run.mjs [--tasks 500]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ZkClient } from '@nono/coordination';
import { createKafka, decodeEvent, topicNames } from '@nono/events';
import { hashToken } from '@nono/api';
import { Pool } from 'undici';

const args = new Map(
  process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1]]] : [])),
);
const TASKS = Number(args.get('tasks') ?? 500);
const ZK = process.env.NONO_ZK_CONNECT ?? '127.0.0.1:2181';
const KAFKA = process.env.NONO_KAFKA_BROKERS ?? '127.0.0.1:9092';
const PORT = Number(process.env.BENCH_API_PORT ?? 7281);
const id = randomBytes(3).toString('hex');
const root = `/nono-bench/api-${id}`;
const prefix = `t.bench-api-${id}.`;
const TOKEN = `bench-${randomBytes(16).toString('hex')}`;
const auth = { authorization: `Bearer ${TOKEN}` };

const main = fileURLToPath(new URL('../../services/api/dist/main.js', import.meta.url));
const child = spawn(process.execPath, [main], {
  env: {
    ...process.env,
    NONO_API_PORT: String(PORT),
    NONO_ZK_CONNECT: ZK,
    NONO_ZK_ROOT: root,
    NONO_KAFKA_BROKERS: KAFKA,
    NONO_TOPIC_PREFIX: prefix,
    NONO_API_TOKENS: `admin:${hashToken(TOKEN)}`,
    NONO_API_RATE_LIMIT_PER_MINUTE: '1000000',
    NONO_LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});

const pool = new Pool(`http://127.0.0.1:${PORT}`, { connections: 64 });
const results = [];

async function waitReady() {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await pool.request({ method: 'GET', path: '/readyz' });
      await r.body.dump();
      if (r.statusCode === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('API did not become ready');
}

async function send(method, path, body, headers = {}) {
  const r = await pool.request({
    method,
    path,
    headers: { ...auth, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await r.body.dump();
  return r.statusCode;
}

/** Runs `count` calls with `concurrency` in flight; records latency percentiles and status counts. */
async function measure(name, count, concurrency, call) {
  const latencies = [];
  const statuses = new Map();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        const status = await call(i);
        latencies.push(performance.now() - t);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);
  const row = {
    name,
    count,
    concurrency,
    rps: (count / seconds).toFixed(0),
    p50: pct(50),
    p99: pct(99),
    statuses: [...statuses].map(([s, n]) => `${s}×${n}`).join(' '),
  };
  results.push(row);
  return row;
}

const spec = (n) => ({
  id: `bench-${String(n).padStart(5, '0')}`,
  name: `bench ${n}`,
  schedule: { kind: 'cron', expression: `${n % 60} * * * *`, timeZone: 'Europe/Paris' },
  target: { url: 'http://127.0.0.1:9/hook' },
  labels: { bench: 'api', shard: String(n % 4) },
});

let auditSeconds;
try {
  await waitReady();
  const kafka = createKafka({ brokers: KAFKA.split(','), clientId: `bench-${id}` });
  const topics = topicNames(prefix);
  const consumer = kafka.consumer({ groupId: `${prefix}bench` });
  await consumer.connect();
  await consumer.subscribe({ topic: topics.tasks, fromBeginning: true });
  let defined = 0;
  let allDefined;
  const allDefinedSeen = new Promise((resolve) => (allDefined = resolve));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = decodeEvent(message.value);
      if (event.ok && event.value.type === 'nono.task.defined.v1' && ++defined === TASKS)
        allDefined(performance.now());
    },
  });

  await measure('POST /tasks (create)', TASKS, 16, (i) => send('POST', '/api/v1/tasks', spec(i)));
  const createdAt = performance.now();
  auditSeconds = ((Math.max(await allDefinedSeen, createdAt) - createdAt) / 1000).toFixed(2);
  await measure('GET /tasks/:id', TASKS * 4, 32, (i) => send('GET', `/api/v1/tasks/${spec(i % TASKS).id}`));
  await measure(`GET /tasks?limit=100 (of ${TASKS})`, 200, 8, () =>
    send('GET', '/api/v1/tasks?label=shard:1&limit=100'),
  );
  await measure('PATCH /tasks/:id (distinct tasks)', TASKS, 16, (i) =>
    send('PATCH', `/api/v1/tasks/${spec(i).id}`, { description: `patched ${i}` }),
  );
  // Contention: 16 writers on one task, each with the version it read. Losers get 409/412, none is lost.
  await measure('PATCH one task, 16 writers', 400, 16, async (i) => {
    const r = await pool.request({ method: 'GET', path: '/api/v1/tasks/bench-00000', headers: auth });
    await r.body.dump();
    return send(
      'PATCH',
      '/api/v1/tasks/bench-00000',
      { description: `race ${i}` },
      { 'if-match': r.headers.etag },
    );
  });
  await measure('POST /tasks/:id/trigger', TASKS, 16, (i) =>
    send('POST', `/api/v1/tasks/${spec(i).id}/trigger`, {}),
  );
  await consumer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin.disconnect();
} finally {
  child.kill('SIGTERM');
  await once(child, 'exit');
  await pool.close();
  const zk = await ZkClient.connect({ connect: ZK, sessionTimeoutMs: 10_000 });
  await zk.deleteTree(root);
  zk.close();
}

console.log(
  `\nAPI benchmark: ${TASKS} tasks, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}\n`,
);
console.log('| operation | calls | in flight | req/s | p50 ms | p99 ms | statuses |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
for (const r of results)
  console.log(
    `| ${r.name} | ${r.count} | ${r.concurrency} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.statuses} |`,
  );
console.log(
  `\nAll ${TASKS} nono.task.defined.v1 events were on Kafka ${auditSeconds} s after the last create returned.`,
);
