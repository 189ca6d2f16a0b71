/**
 * A 100-shard instant's completion time: one scheduler, a worker group of `--members` test
 * workers (each answers at once, or after `--work-ms`), and a task with route `shard` whose
 * instants become `--shards` shard executions. For each instant: from its nominal time to the
 * first shard's call, and to the last shard's `execution.succeeded` (its `finishedAt`), read
 * back from Kafka; and how the shards spread over the members. Each round is a fresh
 * isolation and scheduler; `--instants` instants per round, `--every-ms` apart.
 *
 *   npm run infra:up && npm run build
 *   npx tsx bench/scheduler/shard-instant.ts --rounds 3 --instants 5 --shards 100 --members 3
 */
import { parseArgs } from 'node:util';
import { workerGroupDocument } from '@nono/coordination';
import { createWorkerGroup, parseWorkerGroupSpec } from '@nono/domain';
import {
  buildTask,
  collectEvents,
  connectZk,
  layout,
  putTask,
  startScheduler,
} from '../../tests/support/cluster.js';
import { createIsolatedTopics, dropIsolation, eventually, isolateOn } from '../../tests/support/isolation.js';
import { type TestWorker, freePort, startTestWorker } from '../../tests/support/processes.js';

// Ctrl-C exits through 'exit', where tests/support/processes.ts kills the workers and schedulers.
process.on('SIGINT', () => process.exit(130));

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    instants: { type: 'string', default: '5' },
    shards: { type: 'string', default: '100' },
    members: { type: 'string', default: '3' },
    'every-ms': { type: 'string', default: '4000' },
    'work-ms': { type: 'string', default: '0' },
  },
});
const rounds = Number(values.rounds);
const instants = Number(values.instants);
const shards = Number(values.shards);
const memberCount = Number(values.members);
const everyMs = Number(values['every-ms']);
const workMs = Number(values['work-ms']);

interface ShardFact {
  readonly executionId: string;
  readonly instantId?: string;
  readonly nominalTime: string;
  readonly firedAt?: string;
  readonly finishedAt?: string;
  readonly attempt: number;
  readonly member?: { url: string };
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

const results: Array<{ round: number; completionMs: number[]; firstCallMs: number[]; perMember: number[] }> =
  [];
for (let round = 1; round <= rounds; round++) {
  const iso = await isolateOn(
    `bench-shard-${round}`,
    process.env.NONO_ZK_CONNECT ?? '127.0.0.1:2181',
    process.env.NONO_KAFKA_BROKERS ?? '127.0.0.1:9092',
  );
  await createIsolatedTopics(iso, 3);
  const zk = await connectZk(iso);
  const members: TestWorker[] = [];
  for (let i = 0; i < memberCount; i++)
    members.push(await startTestWorker({ name: `shard-bench-${i}`, port: await freePort() }));
  const scheduler = await startScheduler(iso, 'a', { NONO_LOG_LEVEL: 'warn' });
  const spec = parseWorkerGroupSpec({ members: members.map(({ url }) => ({ url })) });
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  await zk.create(layout.workerGroups, null).catch(() => undefined);
  await zk.create(
    layout.workerGroup('bench'),
    workerGroupDocument.encode(createWorkerGroup('bench', spec.value, Date.now())),
  );
  const facts = await collectEvents(iso, iso.topics.executions);
  // Let the scheduler see the group before the first instant.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const path = workMs > 0 ? `/slow/bench?ms=${workMs}` : '/ok/bench';
  await putTask(
    zk,
    buildTask('bench', {
      schedule: { kind: 'interval', everyMs },
      maxRuns: instants,
      overlap: 'allow',
      retry: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 300 },
      target: { group: 'bench', route: 'shard', shards, path, timeoutMs: 10_000 },
    }),
  );
  const succeeded = await eventually(
    () => {
      const done = facts.events
        .filter((e) => e.type === 'nono.execution.succeeded.v1')
        .map((e) => e.data as ShardFact);
      return new Set(done.map((f) => f.executionId)).size >= shards * instants ? done : undefined;
    },
    everyMs * instants + 120_000,
    'every shard of every instant succeeded',
  );
  const fired = facts.events
    .filter((e) => e.type === 'nono.execution.fired.v1')
    .map((e) => e.data as ShardFact);
  const completionMs: number[] = [];
  const firstCallMs: number[] = [];
  const byInstant = new Map<string, ShardFact[]>();
  for (const fact of succeeded)
    byInstant.set(fact.instantId ?? '', [...(byInstant.get(fact.instantId ?? '') ?? []), fact]);
  for (const [instantId, done] of byInstant) {
    const nominal = Date.parse(done[0]?.nominalTime ?? '');
    completionMs.push(Math.max(...done.map((f) => Date.parse(f.finishedAt ?? ''))) - nominal);
    const starts = fired.filter((f) => f.instantId === instantId).map((f) => Date.parse(f.firedAt ?? ''));
    firstCallMs.push(Math.min(...starts) - nominal);
  }
  const perMember = members.map((m) => fired.filter((f) => f.member?.url === m.url).length);
  results.push({ round, completionMs, firstCallMs, perMember });
  process.stderr.write(`round ${round}: ${JSON.stringify(results.at(-1))}\n`);
  await facts.stop();
  await scheduler.kill('SIGTERM');
  await Promise.all(members.map((m) => m.process.kill()));
  zk.close();
  await dropIsolation(iso);
}
const all = results.flatMap((r) => r.completionMs).sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    shards,
    members: memberCount,
    instants,
    workMs,
    completionMs: { min: all[0], p50: quantile(all, 0.5), max: all.at(-1) },
    perRoundMedianMs: results.map((r) =>
      quantile(
        [...r.completionMs].sort((a, b) => a - b),
        0.5,
      ),
    ),
    results,
  })}\n`,
);
process.exit(0);
