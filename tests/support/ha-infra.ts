import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error plain ESM module (JSDoc-typed, checked by tsconfig.scripts.json), shared with the infra CLI
import * as infra from '../../infra/lib/infra.mjs';
import { REPO_ROOT, alive, freePort, portFree } from './processes.js';

/**
 * A HA infra of a test's own (infra/'s `--ha`: three ZooKeeper servers, three Kafka nodes) in
 * a run dir of its own, for tests that kill servers. Ports come from NONO_FAULTS_INFRA_PORTS
 * (ranges `<first>-<last>`, comma-separated, 15 ports in all, e.g. `2281-2289,9192-9197`: the
 * `--ha` defaults) when set, else from the test port range or the kernel.
 */
export interface HaServerStatus {
  readonly name: string;
  readonly running: boolean;
  readonly pid: number | null;
  readonly answering: boolean;
  /** ZooKeeper's: leader, follower (or standalone). */
  readonly mode?: string;
}

export interface HaInfra {
  readonly zkConnect: string;
  readonly kafkaBrokers: string;
  readonly runDir: string;
  /** Where infra/ writes what it does (a file in test-results/logs). */
  readonly logFile: string;
  status(): Promise<Record<string, HaServerStatus>>;
  /** The ZooKeeper server that leads the ensemble now. */
  zooKeeperLeader(): Promise<string>;
  /** Sends `signal` to a server (SIGKILL: it dies at once, as a crashed machine's process would). */
  signal(name: string, signal: NodeJS.Signals): Promise<void>;
  /**
   * Stops servers as an operator's `systemctl stop` would: SIGTERM to all of them at once, SIGKILL
   * to any still running 15 s later (infra/'s `down` grace). Resolves once every one has exited.
   */
  stop(names: readonly string[]): Promise<void>;
  /** Starts whatever is not running (a killed server); resolves the names it started. */
  restart(): Promise<string[]>;
  down(): Promise<void>;
}

interface InfraModule {
  ensureUp(options: {
    log: (line: string) => void;
    ha: boolean;
    env: NodeJS.ProcessEnv;
  }): Promise<{ zkConnect: string; kafkaBrokers: string; started: string[]; runDir: string }>;
  down(options: { log: (line: string) => void; ha: boolean; env: NodeJS.ProcessEnv }): Promise<unknown>;
  status(options: {
    ha: boolean;
    env: NodeJS.ProcessEnv;
  }): Promise<{ servers: Record<string, HaServerStatus> }>;
}
const ha = infra as InfraModule;

/** 15 ports: 3 ZooKeeper clients, 3 quorum:election pairs, 3 brokers, 3 controllers. */
async function haPorts(): Promise<number[]> {
  const raw = process.env['NONO_FAULTS_INFRA_PORTS']?.trim();
  if (raw === undefined || raw === '') return Promise.all(Array.from({ length: 15 }, () => freePort()));
  const ports: number[] = [];
  for (const range of raw.split(',')) {
    const match = /^(\d+)-(\d+)$/.exec(range.trim());
    if (match === null)
      throw new Error(
        `NONO_FAULTS_INFRA_PORTS=${JSON.stringify(raw)}: expected <first>-<last>[,<first>-<last>…]`,
      );
    for (let port = Number(match[1]); port <= Number(match[2]) && ports.length < 15; port++)
      if (await portFree(port)) ports.push(port);
  }
  if (ports.length < 15) throw new Error(`NONO_FAULTS_INFRA_PORTS=${raw}: fewer than 15 free ports`);
  return ports;
}

export async function startHaInfra(label: string): Promise<HaInfra> {
  const p = await haPorts();
  const at = (i: number): number => p[i] ?? 0;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NONO_INFRA_DIR: mkdtempSync(join(tmpdir(), `nono-ha-${label}-`)),
    NONO_ZK_PORTS: [at(0), at(1), at(2)].join(','),
    NONO_ZK_PEER_PORTS: `${at(3)}:${at(4)},${at(5)}:${at(6)},${at(7)}:${at(8)}`,
    NONO_KAFKA_PORTS: [at(9), at(10), at(11)].join(','),
    NONO_KAFKA_CONTROLLER_PORTS: [at(12), at(13), at(14)].join(','),
  };
  mkdirSync(join(REPO_ROOT, 'test-results', 'logs'), { recursive: true });
  const logFile = join(REPO_ROOT, 'test-results', 'logs', `ha-infra-${label}-${Date.now()}.log`);
  const log = (line: string): void => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
  const up = await ha.ensureUp({ log, ha: true, env });
  const status = async (): Promise<Record<string, HaServerStatus>> =>
    (await ha.status({ ha: true, env })).servers;
  return {
    zkConnect: up.zkConnect,
    kafkaBrokers: up.kafkaBrokers,
    runDir: up.runDir,
    logFile,
    status,
    async zooKeeperLeader() {
      const servers = Object.values(await status());
      const leader = servers.find((server) => server.mode === 'leader');
      if (leader === undefined)
        throw new Error(`no ZooKeeper leader: ${servers.map((s) => `${s.name}=${s.mode ?? '?'}`).join(' ')}`);
      return leader.name;
    },
    async signal(name, signal) {
      const server = (await status())[name];
      if (server?.pid === null || server?.pid === undefined || !server.running)
        throw new Error(`${name} is not running`);
      process.kill(server.pid, signal);
      log(`${name}: ${signal} sent by the test (pid ${server.pid})`);
      if (signal === 'SIGKILL')
        for (let i = 0; i < 100 && alive(server.pid); i++) await new Promise((r) => setTimeout(r, 50));
    },
    async stop(names) {
      const servers = await status();
      const pids = names.map((name) => {
        const pid = servers[name]?.pid;
        if (pid === null || pid === undefined || servers[name]?.running !== true)
          throw new Error(`${name} is not running`);
        return pid;
      });
      for (const [i, pid] of pids.entries()) {
        process.kill(pid, 'SIGTERM');
        log(`${names[i] ?? '?'}: SIGTERM sent by the test (pid ${pid})`);
      }
      const graceEnd = Date.now() + 15_000;
      while (pids.some((pid) => alive(pid)) && Date.now() < graceEnd)
        await new Promise((r) => setTimeout(r, 100));
      for (const [i, pid] of pids.entries())
        if (alive(pid)) {
          process.kill(pid, 'SIGKILL');
          log(`${names[i] ?? '?'}: SIGKILL sent by the test, 15 s after SIGTERM (pid ${pid})`);
        }
      for (let i = 0; i < 100 && pids.some((pid) => alive(pid)); i++)
        await new Promise((r) => setTimeout(r, 50));
    },
    async restart() {
      return (await ha.ensureUp({ log, ha: true, env })).started;
    },
    async down() {
      await ha.down({ log, ha: true, env });
    },
  };
}
