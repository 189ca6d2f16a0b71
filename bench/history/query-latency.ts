/**
 * Query latency with 10,000,000 executions stored. The rows are generated straight into
 * SQLite (no Kafka: projecting 10M through it would take the better part of an hour):
 * 1,000 tasks x 10,000 executions, one a minute per task (~6.9 days), a realistic status
 * mix, plus the matching daily aggregates. Secondary indexes are dropped for the bulk
 * insert and created afterwards, as the migrations define them. The API then runs in a
 * CHILD process (so the load generator does not share its event loop) and is timed with
 * undici over keep-alive connections: per endpoint, sequential requests (concurrency 1)
 * and a concurrent run. The database file is deleted at the end.
 *   npx tsx --conditions source bench/history/query-latency.ts [executions] [tasks]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetricsRegistry } from '@nono/runtime';
import { Pool } from 'undici';
import { buildHttpApp } from '../../services/history/src/http/http-app.js';
import { HistoryQueries } from '../../services/history/src/store/history-queries.js';
import { openDatabase } from '../../services/history/src/store/open-database.js';
import { seededRandom as random } from '../../services/history/src/testing/event-stream.js';

/** History's query routes need a token, as the API presents one. */
const READ_TOKEN = 'bench-read-token';
const READER = { authorization: `Bearer ${READ_TOKEN}` };

const DAY_MS = 86_400_000;
const START = Date.parse('2026-11-01T00:00:00Z');

const taskId = (t: number): string => `task-${String(t).padStart(5, '0')}`;

function generate(file: string, total: number, tasks: number): void {
  const database = openDatabase(file);
  const { sqlite } = database;
  const indexes = sqlite
    .prepare(
      "select name, sql from sqlite_master where type = 'index' and tbl_name = 'executions' and sql is not null",
    )
    .all() as { name: string; sql: string }[];
  for (const { name } of indexes) sqlite.exec(`drop index "${name}"`);
  sqlite.pragma('journal_mode = OFF');
  sqlite.pragma('synchronous = OFF');
  sqlite.pragma('cache_size = -262144');
  const insert = sqlite.prepare(
    `insert into executions (execution_id, task_id, nominal_time, fired_at, finished_at, status, terminal,
       status_attempt, status_phase, status_at, status_event_id, attempts, http_status, error, duration_ms,
       late_ms, fired_attempt, scheduler_id, fencing_token, reason)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const rand = random(42);
  const daily = new Map<string, number[]>();
  const started = performance.now();
  const perTask = Math.ceil(total / tasks);
  let n = 0;
  const insertSome = sqlite.transaction((from: number, to: number) => {
    for (let m = from; m < to; m += 1) {
      const nominal = START + m * 60_000;
      const day = new Date(nominal).toISOString().slice(0, 10);
      for (let t = 0; t < tasks && n < total; t += 1, n += 1) {
        const roll = rand();
        const late = Math.floor(rand() * 50);
        const duration = 5 + Math.floor(rand() * 2000);
        const [status, http, error] =
          roll < 0.05
            ? (['skipped', null, null] as const)
            : roll < 0.08
              ? (['misfired', null, null] as const)
              : roll < 0.1
                ? (['lost', null, null] as const)
                : roll < 0.2
                  ? (['failed', 500, 'HTTP 500'] as const)
                  : roll < 0.25
                    ? (['timed-out', null, 'timed out'] as const)
                    : (['succeeded', 200, null] as const);
        const ran = status !== 'skipped' && status !== 'misfired';
        const finished = ran && status !== 'lost' ? nominal + late + duration : null;
        const durationMs = finished === null ? null : duration;
        insert.run(
          `x${String(n).padStart(9, '0')}`,
          taskId(t),
          nominal,
          ran ? nominal + late : null,
          finished,
          status,
          1,
          ran ? 1 : 0,
          3,
          finished ?? nominal,
          `e${n}`,
          ran ? 1 : 0,
          http,
          error,
          durationMs,
          ran ? late : null,
          ran ? 1 : null,
          'sched-a',
          1000 + n,
          'scheduled',
        );
        const key = `${taskId(t)}|${day}`;
        const stats = daily.get(key) ?? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        stats[0] = (stats[0] ?? 0) + (ran ? 1 : 0);
        const column = { succeeded: 1, failed: 2, 'timed-out': 3, skipped: 4, misfired: 5, lost: 6 }[status];
        stats[column] = (stats[column] ?? 0) + 1;
        if (durationMs !== null) {
          stats[7] = (stats[7] ?? 0) + 1;
          stats[8] = (stats[8] ?? 0) + durationMs;
          stats[9] = Math.max(stats[9] ?? 0, durationMs);
        }
        daily.set(key, stats);
      }
    }
  });
  for (let m = 0; m < perTask; m += 1000) {
    insertSome(m, Math.min(perTask, m + 1000));
    process.stderr.write(`\rinserted ${n}`);
  }
  const insertDaily = sqlite.prepare(
    'insert into task_daily_stats values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  sqlite.transaction(() => {
    for (const [key, stats] of daily) insertDaily.run(...key.split('|'), ...stats);
  })();
  const inserted = performance.now();
  for (const { sql } of indexes) sqlite.exec(sql);
  // No ANALYZE: the service never runs it, so the planner sees what it sees in production.
  sqlite.pragma('journal_mode = WAL');
  const plan = new HistoryQueries(database.db).explainTaskPage(taskId(1));
  database.close();
  process.stderr.write('\n');
  console.log(
    JSON.stringify({
      executions: n,
      dailyRows: daily.size,
      insertSeconds: Number(((inserted - started) / 1000).toFixed(1)),
      indexSeconds: Number(((performance.now() - inserted) / 1000).toFixed(1)),
      fileMiB: Math.round(statSync(file).size / 1024 / 1024),
      taskPagePlan: plan,
    }),
  );
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function measure(
  pool: Pool,
  name: string,
  path: (i: number) => string,
  requests: number,
  concurrency: number,
): Promise<void> {
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  let bytes = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const i = next;
        next += 1;
        const sent = performance.now();
        const response = await pool.request({ method: 'GET', path: path(i), headers: READER });
        const body = await response.body.arrayBuffer();
        latencies.push(performance.now() - sent);
        bytes += body.byteLength;
        if (response.statusCode !== 200) failures += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      endpoint: name,
      concurrency,
      requests,
      failures,
      rps: Math.round(requests / seconds),
      avgBytes: Math.round(bytes / requests),
      p50: Number(percentile(latencies, 50).toFixed(2)),
      p99: Number(percentile(latencies, 99).toFixed(2)),
      max: Number((latencies.at(-1) ?? 0).toFixed(2)),
    }),
  );
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? '10000000');
  const tasks = Number(process.argv[3] ?? '1000');
  const dir = mkdtempSync(join(tmpdir(), 'nono-history-latency-'));
  const file = join(dir, 'history.sqlite');
  let child: ChildProcess | undefined;
  try {
    generate(file, total, tasks);
    const days = Math.floor((Math.ceil(total / tasks) * 60_000) / DAY_MS);
    child = fork(process.argv[1] ?? '', ['serve', file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const url = await new Promise<string>((resolve) =>
      child?.once('message', (m) => resolve((m as { url: string }).url)),
    );
    const pool = new Pool(url, { connections: 16, pipelining: 1 });
    const task = (i: number): string => taskId((i * 7919) % tasks);
    const day = (i: number): string =>
      new Date(START + (i % Math.max(days, 1)) * DAY_MS).toISOString().slice(0, 10);
    const endpoints: [string, (i: number) => string][] = [
      ['GET /tasks/:id/executions (first page, 50)', (i) => `/tasks/${task(i)}/executions`],
      ['GET /reports/daily?day', (i) => `/reports/daily?day=${day(i)}`],
      [
        'GET /reports/tasks/:id (one day)',
        (i) =>
          `/reports/tasks/${task(i)}?from=${day(i)}T00:00:00Z&to=${new Date(Date.parse(`${day(i)}T00:00:00Z`) + DAY_MS).toISOString()}`,
      ],
    ];
    for (const [name, path] of endpoints) {
      await measure(pool, `${name} (warm-up)`, path, 300, 4);
      await measure(pool, name, path, 3000, 1);
      await measure(pool, name, path, 5000, 8);
    }
    await pool.close();
  } finally {
    child?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

// Dispatched at the end: the helpers above are module-level consts.
if (process.argv[2] === 'serve') {
  const file = process.argv[3] ?? '';
  const database = openDatabase(file);
  const app = buildHttpApp({
    queries: new HistoryQueries(database.db),
    readTokenHashes: [createHash('sha256').update(READ_TOKEN).digest()],
    registry: createMetricsRegistry('history-bench'),
    readiness: () => ({ ready: true, detail: {} }),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ url });
} else {
  await main();
}
