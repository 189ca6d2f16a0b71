#!/usr/bin/env node
// Benchmarks the built API (services/api/dist/main.js) as a real process against the
// running ZooKeeper and Kafka, in a private ZooKeeper root and topic prefix that are
// removed afterwards (also on Ctrl-C or SIGTERM). Load comes from autocannon over
// loopback. Prints a Markdown table for docs/BENCHMARKS.md (## api).
//
//   npx turbo run build --filter=@nono/api...
//   flock -x /tmp/nono-load.lock node bench/api/run.mjs [--tasks 10000] [--duration 15]
//       [--connections 16] [--profile <dir>]
//
// --profile starts the API with --cpu-prof and --heap-prof, writing the profiles to <dir>
// when it exits (open them in Chrome DevTools or speedscope).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { ZkClient } from '@nono/coordination';
import { createKafka, decodeEvent, topicNames } from '@nono/events';
import { hashToken } from '@nono/api';

const args = new Map(
  process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith('--') ? [[arg.slice(2), all[i + 1]]] : [])),
);
const TASKS = Number(args.get('tasks') ?? 10_000);
const DURATION_S = Number(args.get('duration') ?? 15);
const CONNECTIONS = Number(args.get('connections') ?? 16);
const PROFILE_DIR = args.get('profile');
const ZK = process.env.NONO_ZK_CONNECT ?? '127.0.0.1:2181';
const KAFKA = process.env.NONO_KAFKA_BROKERS ?? '127.0.0.1:9092';
const PORT = Number(process.env.BENCH_API_PORT ?? 7281);
const BASE = `http://127.0.0.1:${PORT}`;
const id = randomBytes(3).toString('hex');
const zkBase = '/nono-bench';
const root = `${zkBase}/api-${id}`;
const prefix = `t.bench-api-${id}.`;
const topics = topicNames(prefix);
const groupId = `${prefix}bench`;
const TOKEN = `bench-${randomBytes(16).toString('hex')}`;
const auth = { authorization: `Bearer ${TOKEN}` };
const SCHEDULERS = ['sched-a', 'sched-b', 'sched-c'];

const taskId = (n) => `bench-${String(n).padStart(5, '0')}`;
const spec = (n) => ({
  id: taskId(n),
  name: `bench ${n}`,
  schedule: { kind: 'cron', expression: `${n % 60} * * * *`, timeZone: 'Europe/Paris' },
  target: { url: 'http://127.0.0.1:9/hook' },
  labels: { bench: 'api', shard: String(n % 4) },
  // Every 10th task paused, so `paused=true` selects a tenth of them.
  ...(n % 10 === 0 ? { paused: true } : {}),
});

// ---------------------------------------------------------------- cleanup, once, on any exit
let child;
let consumer;
let kafka;
let running; // the autocannon instance in progress, if any
let cleaning;
function cleanup() {
  cleaning ??= (async () => {
    running?.stop();
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await once(child, 'exit');
      clearTimeout(timer);
    }
    await consumer?.disconnect().catch(() => undefined);
    if (kafka !== undefined) {
      const admin = kafka.admin();
      try {
        await admin.connect();
        await admin.deleteGroups([groupId]).catch(() => undefined);
        await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
    const zk = await ZkClient.connect({ connect: ZK, sessionTimeoutMs: 10_000 });
    try {
      await zk.deleteTree(root);
      // Leave the shared parent only if someone else's run is still in it.
      await zk.delete(zkBase).catch(() => undefined);
    } finally {
      zk.close();
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the API and removing ${root} and ${prefix}*\n`);
    cleanup().then(
      () => process.exit(130),
      (error) => {
        process.stderr.write(`cleanup failed: ${error}\n`);
        process.exit(1);
      },
    );
  });
}

// ---------------------------------------------------------------- helpers
/** The API process's resident set now and at its peak (Linux /proc), in MiB. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: Math.round(kib('VmRSS') / 1024), peakMiB: Math.round(kib('VmHWM') / 1024) };
}

async function request(method, path, body) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : JSON.parse(text) };
}

async function waitReady() {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${BASE}/readyz`);
      if (r.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error('API did not become ready');
}

const results = [];
/** One autocannon run; the row keeps req/s, latency percentiles, statuses and the load before it. */
async function measure(name, options) {
  const load = loadavg().map((x) => x.toFixed(2));
  const { path = '', ...rest } = options;
  const started = performance.now();
  const instance = autocannon({
    url: `${BASE}${path}`,
    connections: CONNECTIONS,
    headers: auth,
    timeout: 30,
    ...(options.amount === undefined ? { duration: DURATION_S } : {}),
    ...rest,
  });
  running = instance;
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  running = undefined;
  const statuses = Object.entries(result.statusCodeStats ?? {})
    .map(([status, { count }]) => `${status}×${count}`)
    .join(' ');
  const row = {
    name,
    load: load.join(' '),
    requests: result.requests.total,
    seconds: seconds.toFixed(1),
    rps: (result.requests.total / seconds).toFixed(0),
    p50: result.latency.p50,
    p99: result.latency.p99,
    kibPerResponse: (result.throughput.total / Math.max(1, result.requests.total) / 1024).toFixed(1),
    statuses: [
      statuses,
      result.errors ? `errors×${result.errors}` : '',
      result.timeouts ? `timeouts×${result.timeouts}` : '',
    ]
      .filter((s) => s !== '')
      .join(' '),
    memory: memoryOf(child.pid),
  };
  results.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
  return row;
}

// ---------------------------------------------------------------- the run
const main = fileURLToPath(new URL('../../services/api/dist/main.js', import.meta.url));
const nodeArgs =
  PROFILE_DIR === undefined
    ? []
    : [
        '--cpu-prof',
        `--cpu-prof-dir=${resolve(PROFILE_DIR)}`,
        '--heap-prof',
        `--heap-prof-dir=${resolve(PROFILE_DIR)}`,
      ];
let auditSeconds;
let walk;
let idle;
try {
  child = spawn(process.execPath, [...nodeArgs, main], {
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
  await waitReady();

  // What a leader would have written: three schedulers sharing the tasks, so `owner=` has work to do.
  const zk = await ZkClient.connect({ connect: ZK, sessionTimeoutMs: 10_000 });
  try {
    const owners = Object.fromEntries(SCHEDULERS.map((s) => [s, []]));
    for (let n = 0; n < TASKS; n++) owners[SCHEDULERS[n % SCHEDULERS.length]].push(taskId(n));
    await zk
      .set(
        `${root}/assignment`,
        JSON.stringify({ generation: 1, members: SCHEDULERS, owners, updatedAt: new Date().toISOString() }),
        -1,
      )
      .catch(async () =>
        zk.create(
          `${root}/assignment`,
          JSON.stringify({ generation: 1, members: SCHEDULERS, owners, updatedAt: new Date().toISOString() }),
        ),
      );
  } finally {
    zk.close();
  }

  kafka = createKafka({ brokers: KAFKA.split(','), clientId: `bench-${id}` });
  consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: topics.tasks, fromBeginning: true });
  let defined = 0;
  let allDefined;
  const allDefinedSeen = new Promise((done) => (allDefined = done));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = decodeEvent(message.value);
      if (event.ok && event.value.type === 'nono.task.defined.v1' && ++defined === TASKS)
        allDefined(performance.now());
    },
  });

  let next = 0;
  await measure(`POST /tasks (0 → ${TASKS} tasks)`, {
    amount: TASKS,
    requests: [
      {
        method: 'POST',
        path: '/api/v1/tasks',
        setupRequest: (req) => ({
          ...req,
          headers: { ...req.headers, 'content-type': 'application/json' },
          body: JSON.stringify(spec(next++)),
        }),
      },
    ],
  });
  const createdAt = performance.now();
  auditSeconds = ((Math.max(await allDefinedSeen, createdAt) - createdAt) / 1000).toFixed(2);
  await new Promise((done) => setTimeout(done, 2_000));
  idle = memoryOf(child.pid);

  // Correctness before speed: paging through everything sees every task once, in id order.
  const started = performance.now();
  const seen = [];
  let cursor;
  do {
    const page = await request('GET', `/api/v1/tasks?limit=500${cursor ? `&after=${cursor}` : ''}`);
    if (page.status !== 200) throw new Error(`GET /tasks answered ${page.status}`);
    seen.push(...page.json.items.map((item) => item.task.id));
    cursor = page.json.nextCursor;
  } while (cursor);
  const ordered = seen.every((v, i) => i === 0 || seen[i - 1] < v);
  if (seen.length !== TASKS || !ordered)
    throw new Error(`paging saw ${seen.length} tasks, ordered=${ordered}`);
  walk = { pages: Math.ceil(TASKS / 500), ms: Math.round(performance.now() - started) };

  const middle = taskId(Math.floor(TASKS / 2));
  for (const [name, path] of [
    [`GET /tasks?limit=100 (first page of ${TASKS})`, '/api/v1/tasks?limit=100'],
    [`GET /tasks?limit=100&after=<middle>`, `/api/v1/tasks?limit=100&after=${middle}`],
    [`GET /tasks?limit=500`, '/api/v1/tasks?limit=500'],
    [`GET /tasks?label=shard:1&limit=100`, '/api/v1/tasks?label=shard:1&limit=100'],
    [`GET /tasks?paused=true&limit=100`, '/api/v1/tasks?paused=true&limit=100'],
    [`GET /tasks?owner=sched-b&limit=100`, '/api/v1/tasks?owner=sched-b&limit=100'],
  ])
    await measure(name, { path });

  let read = 0;
  await measure('GET /tasks/:id', {
    requests: [
      { method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/tasks/${taskId(read++ % TASKS)}` }) },
    ],
  });
  let patched = 0;
  await measure('PATCH /tasks/:id (distinct tasks)', {
    amount: Math.min(TASKS, 2_000),
    requests: [
      {
        method: 'PATCH',
        setupRequest: (req) => {
          const n = patched++;
          return {
            ...req,
            path: `/api/v1/tasks/${taskId(n % TASKS)}`,
            headers: { ...req.headers, 'content-type': 'application/json' },
            body: JSON.stringify({ description: `patched ${n}` }),
          };
        },
      },
    ],
  });
} finally {
  await cleanup();
}

const cpu = cpus();
console.log(
  `\nAPI benchmark ${new Date().toISOString()}: ${TASKS} tasks, ${cpu.length} cores (${cpu[0]?.model ?? '?'}), ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; autocannon, ${CONNECTIONS} connections, ` +
    `${DURATION_S} s per GET row\n`,
);
console.log(
  '| operation | load avg before (1/5/15 min) | requests | s | req/s | p50 ms | p99 ms | statuses | API RSS after (peak) MiB |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
for (const r of results)
  console.log(
    `| ${r.name} | ${r.load} | ${r.requests} | ${r.seconds} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.statuses} | ${r.memory.rssMiB} (${r.memory.peakMiB}) |`,
  );
console.log(
  `\nAll ${TASKS} nono.task.defined.v1 events were on Kafka ${auditSeconds} s after the last create returned.` +
    `\nAPI RSS with ${TASKS} tasks, idle after creating them: ${idle?.rssMiB} MiB (peak so far ${idle?.peakMiB} MiB).` +
    `\nPaging through all ${TASKS} tasks (limit=500, ${walk?.pages} pages, one client): ${walk?.ms} ms, every id once and in order.`,
);
