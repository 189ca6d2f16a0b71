import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error plain ESM module (JSDoc-typed, checked by tsconfig.scripts.json), shared with the infra CLI
import * as infraProbes from '../../infra/lib/probes.mjs';

const probes = infraProbes as {
  zkSrvr(host: string, port: number, timeoutMs?: number): Promise<string | null>;
};

/**
 * What the benches read of the stores infra/ runs (ZooKeeper and Kafka, single node or the HA
 * infra's three of each): each server's CPU from /proc and ZooKeeper's mode and transaction
 * count from its `srvr` four-letter word. On a machine where nothing else uses those servers,
 * their CPU and transactions over a window are the workload's.
 */

export type StoreKind = 'zookeeper' | 'kafka';

/** A server infra/ started, from its pid file (`<run dir>/<name>.pid`). */
export interface StoreServer {
  /** `zookeeper`, `kafka` (single node) or `zookeeper-1`…`kafka-3` (the HA infra). */
  readonly name: string;
  readonly kind: StoreKind;
  readonly pid: number;
  readonly port: number;
}

const PID_FILE = /^(zookeeper|kafka)(-\d+)?\.pid$/;

/** The servers whose pid files are in `infraDir`; none when it is not infra/'s run dir. */
export function storeServers(infraDir: string): StoreServer[] {
  let files: string[];
  try {
    files = readdirSync(infraDir);
  } catch {
    return [];
  }
  return files
    .filter((file) => PID_FILE.test(file))
    .sort()
    .map((file) => {
      const { pid, port } = JSON.parse(readFileSync(join(infraDir, file), 'utf8')) as {
        pid: number;
        port: number;
      };
      return {
        name: file.slice(0, -'.pid'.length),
        kind: file.startsWith('zookeeper') ? 'zookeeper' : 'kafka',
        pid,
        port,
      };
    });
}

/** CPU seconds (user + system, all threads) a process has used; undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  const ticksPerSecond = 100; // USER_HZ, 100 on Linux whatever the kernel's HZ
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 14th and 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Each server's CPU seconds so far, by name. */
export function storeCpuSeconds(servers: readonly StoreServer[]): Record<string, number | undefined> {
  return Object.fromEntries(servers.map((s) => [s.name, processCpuSeconds(s.pid)]));
}

/** CPU seconds a kind of server (all its processes) used between two readings. */
export function cpuSecondsOfKind(
  servers: readonly StoreServer[],
  kind: StoreKind,
  start: Record<string, number | undefined>,
  end: Record<string, number | undefined>,
): number | undefined {
  const ofKind = servers.filter((s) => s.kind === kind);
  if (ofKind.length === 0) return undefined;
  let total = 0;
  for (const s of ofKind) {
    const from = start[s.name];
    const to = end[s.name];
    if (from === undefined || to === undefined) return undefined;
    total += to - from;
  }
  return total;
}

/** A ZooKeeper server's `srvr` answer: its mode and the last transaction id it applied. */
export interface ZooKeeperState {
  /** leader, follower or standalone. */
  readonly mode: string;
  /**
   * The transaction counter (zxid's low 32 bits): every write (create, set, delete, a multi as
   * one, a ZooKeeper session's creation and close) adds one, so its growth over a window is the
   * ensemble's writes. The epoch (high bits) changes with each election, when the counter restarts.
   */
  readonly epoch: number;
  readonly counter: number;
}

export async function zooKeeperState(server: StoreServer): Promise<ZooKeeperState | undefined> {
  const text = await probes.zkSrvr('127.0.0.1', server.port);
  const mode = text === null ? null : /^Mode: (\S+)/m.exec(text);
  const zxid = text === null ? null : /^Zxid: 0x([0-9a-f]+)/im.exec(text);
  if (mode?.[1] === undefined || zxid?.[1] === undefined) return undefined;
  const value = BigInt(`0x${zxid[1]}`);
  return { mode: mode[1], epoch: Number(value >> 32n), counter: Number(value & 0xffffffffn) };
}

/** The server leading the ZooKeeper ensemble (or the standalone one), and its state. */
export async function zooKeeperLeader(
  servers: readonly StoreServer[],
): Promise<{ server: StoreServer; state: ZooKeeperState } | undefined> {
  for (const server of servers.filter((s) => s.kind === 'zookeeper')) {
    const state = await zooKeeperState(server);
    if (state !== undefined && (state.mode === 'leader' || state.mode === 'standalone'))
      return { server, state };
  }
  return undefined;
}

/** `name{labels} value` of a Prometheus text exposition (the first series of that name). */
export function metricValue(text: string, name: string): number {
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1]);
}

/** The sum of every series of a metric (all label sets). */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'gm')))
    sum += Number(match[1]);
  return sum;
}

/** The value at a percentile of sorted numbers (NaN when there are none). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
