/**
 * Reproduces schedulers dying of SIGABRT (issue #12, hole 5) and collects the evidence:
 * three schedulers share per-second tasks on a ZooKeeper and Kafka of this script's own,
 * CPU burners take the cores, and each cycle freezes one scheduler past its session timeout
 * (SIGSTOP/SIGCONT) and restarts ZooKeeper. Every scheduler death is reported with its
 * signal, the non-JSON lines of its output (native messages) and its core dump, with a gdb
 * backtrace when gdb is installed.
 *
 *   npm run build
 *   ulimit -c unlimited   # core dumps; they land in each scheduler's working directory
 *   npx tsx bench/scheduler/zk-abort.ts --cycles 3 --burners 4
 *
 * Deaths here depend on timing (a request must meet a reset connection in one loop turn);
 * the deterministic reproduction of the known cause is
 * tests/integration/zookeeper-send-failure.itest.ts, and the chaos test
 * tests/scheduler/starvation-chaos.itest.ts runs the same scenario with ledger checks.
 *
 * Exit code 0 when no scheduler died, 1 when one did. It loads the machine hard for about a
 * minute per cycle: on a shared machine run it under `flock -x /tmp/nono-load.lock`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildTask,
  connectZk,
  putTask,
  startScheduler,
  type SchedulerProcess,
} from '../../tests/support/cluster.js';
import { createIsolatedTopics, isolateOn } from '../../tests/support/isolation.js';
import { startPrivateInfra } from '../../tests/support/private-infra.js';
import { startTestWorker } from '../../tests/support/processes.js';
import { freeze, startCpuBurners, watchForDeaths } from '../../tests/support/starvation.js';

// Ctrl-C exits through 'exit', where tests/support/processes.ts kills every child.
process.on('SIGINT', () => process.exit(130));

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '3' },
    burners: { type: 'string', default: '4' },
    tasks: { type: 'string', default: '150' },
    'session-ms': { type: 'string', default: '4000' },
    'zk-down-ms': { type: 'string', default: '7000' },
  },
});
const cycles = Number(values.cycles);
const burnerCount = Number(values.burners);
const taskCount = Number(values.tasks);
const sessionMs = Number(values['session-ms']);
const zkDownMs = Number(values['zk-down-ms']);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const corePattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim();
const coreLimit = /^Max core file size\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? '?';
console.log(
  `core_pattern=${corePattern} core limit=${coreLimit}${coreLimit === '0' ? ' (run `ulimit -c unlimited` first for core dumps)' : ''}`,
);

const runDir = mkdtempSync(join(tmpdir(), 'nono-zk-abort-'));
console.log(`run directory (scheduler working directories, cores): ${runDir}`);
const infra = await startPrivateInfra();
const iso = await isolateOn('zk-abort', infra.zkConnect, infra.kafkaBrokers);
await createIsolatedTopics(iso, 6);
const zk = await connectZk(iso);
const worker = await startTestWorker({ record: false });
const schedulers: SchedulerProcess[] = [];
for (const id of ['a1', 'a2', 'a3']) {
  const cwd = join(runDir, id);
  mkdirSync(cwd);
  schedulers.push(await startScheduler(iso, id, { NONO_ZK_SESSION_TIMEOUT_MS: String(sessionMs) }, [], cwd));
}
for (let i = 0; i < taskCount; i++)
  await putTask(
    zk,
    buildTask(`z${i}`, {
      schedule: { kind: 'interval', everyMs: 1000 },
      target: { url: `${worker.url}/ok/z${i}`, timeoutMs: 2_000 },
      misfire: { policy: 'fire-all' },
      overlap: 'allow',
    }),
  );
zk.close();
await sleep(5_000);

const watch = watchForDeaths(schedulers);
const burners = startCpuBurners(burnerCount, cycles * 60_000 + 60_000);
const loadOf = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
try {
  for (let cycle = 1; cycle <= cycles && watch.deaths.length < schedulers.length; cycle++) {
    const victim = schedulers[(cycle - 1) % schedulers.length];
    if (victim === undefined) break;
    console.log(`cycle ${cycle}: load ${loadOf()}; freezing ${victim.name} for ${sessionMs * 2 + 1_000} ms`);
    await freeze(victim, sessionMs * 2 + 1_000);
    await sleep(5_000);
    console.log(`cycle ${cycle}: load ${loadOf()}; ZooKeeper down for ${zkDownMs} ms`);
    await infra.stopZooKeeper();
    await sleep(zkDownMs);
    await infra.startZooKeeper();
    await sleep(10_000);
    console.log(`cycle ${cycle}: ${watch.deaths.length} scheduler(s) dead so far`);
  }
} finally {
  await burners.stop();
}

for (const death of watch.deaths) {
  console.log(`\n${death.name} died at ${death.at}: code ${death.code} signal ${death.signal}`);
  const native = readFileSync(death.logFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('{'));
  console.log(`  non-JSON output (native messages), last 15 of ${native.length}:`);
  for (const line of native.slice(-15)) console.log(`    ${line}`);
  const id = death.name.replace('scheduler-', '');
  const core = join(runDir, id, corePattern);
  if (existsSync(core)) {
    const kept = `${core}.${Date.parse(death.at)}`;
    renameSync(core, kept);
    console.log(`  core: ${kept}`);
    try {
      const bt = execFileSync('gdb', ['-batch', '-ex', 'bt 30', process.execPath, kept], {
        encoding: 'utf8',
      });
      console.log(
        bt
          .split('\n')
          .filter((line) => line.startsWith('#'))
          .map((line) => `    ${line}`)
          .join('\n'),
      );
    } catch (error) {
      console.log(
        `  (no gdb backtrace: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
      );
    }
  } else console.log(`  no core at ${core} (core limit ${coreLimit}, core_pattern ${corePattern})`);
}
watch.release();
await Promise.all(schedulers.map((scheduler) => scheduler.kill('SIGKILL')));
await worker.process.kill();
await infra.down();
console.log(`\n${watch.deaths.length} of ${schedulers.length} schedulers died; load ${loadOf()}`);
process.exit(watch.deaths.length === 0 ? 0 : 1);
