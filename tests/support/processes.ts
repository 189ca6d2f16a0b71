import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain ESM module (JSDoc-typed, checked by tsconfig.scripts.json), shared with infra/ and npm start
import * as shared from '../../infra/lib/processes.mjs';

/** Real processes for end-to-end tests: services run from their built dist, logs go to test-results/. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LOG_DIR = join(REPO_ROOT, 'test-results', 'logs');

/** Whether nothing listens on 127.0.0.1:`port` (this process can bind it): infra/'s helper. */
export const portFree: (port: number) => Promise<boolean> = shared.portFree;

/**
 * Whether a process with this pid still runs: infra/'s helper, for which a zombie (exited, not
 * yet reaped: an orphan waits for PID 1 to reap it) counts as gone.
 */
export const alive: (pid: number) => boolean = shared.pidAlive;

/**
 * How long the helpers wait for a started service to answer /readyz: 30 s, or
 * NONO_TEST_READY_TIMEOUT_MS (the fault tests start services on a machine loaded with six JVMs
 * and other people's work, where a history service took 28 s to listen).
 */
export function readyTimeoutMs(): number {
  const raw = Number(process.env['NONO_TEST_READY_TIMEOUT_MS']);
  return Number.isFinite(raw) && raw > 0 ? raw : 30_000;
}

export interface RunningProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<number | null>;
  /** Resolves with the first stdout line matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Every stdout line so far. */
  lines(): readonly string[];
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Every child still running: killed when this process exits, however it exits (a failed bench left workers behind). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function startProcess(
  name: string,
  script: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
  /** The working directory: where a core dump lands when core_pattern is a bare name. */
  cwd = REPO_ROOT,
  /**
   * A command that runs node in turn and becomes it (`ip netns exec <ns>`: the same pid, so
   * signals reach the service), put before node's path.
   */
  launcher: readonly string[] = [],
): RunningProcess {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${name}-${Date.now()}.log`);
  const log = createWriteStream(logFile);
  const [command, ...launcherArgs] = [...launcher, process.execPath];
  const child = spawn(
    command ?? process.execPath,
    [...launcherArgs, ...nodeArgs, resolve(REPO_ROOT, script)],
    {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const listener of listeners) listener(line);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  running.add(child);
  const exited = new Promise<number | null>((resolveExit) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolveExit(code);
    }),
  );
  return {
    name,
    child,
    logFile,
    exited,
    lines: () => [...lines],
    waitForLine(pattern, timeoutMs = 30_000) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolveLine, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(
            new Error(
              `${name}: no line matching ${String(pattern)} within ${timeoutMs} ms (log: ${logFile})`,
            ),
          );
        }, timeoutMs);
        const listener = (line: string): void => {
          if (!pattern.test(line)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolveLine(line);
        };
        listeners.add(listener);
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/**
 * A port nothing listens on. With NONO_TEST_PORTS=<first>-<last> every port comes from that range
 * (people sharing one machine each give their tests their own range); without it the kernel picks one.
 */
export async function freePort(): Promise<number> {
  const range = testPortRange();
  if (range === undefined) return handOut(await kernelPickedPort());
  // Each test worker walks its own quarter of the range (VITEST_POOL_ID is 1, 2, …), so that two
  // workers do not both find the same port free before either binds it; then the whole range.
  const size = range.last - range.first + 1;
  const quarter = Math.floor(size / 4);
  const worker = (Number(process.env['VITEST_POOL_ID'] ?? '1') - 1) % 4;
  const ownFirst = range.first + (quarter > 0 ? worker * quarter : 0);
  const ownSize = quarter > 0 ? quarter : size;
  for (const [first, count] of [
    [ownFirst, ownSize],
    [range.first, size],
  ] as const) {
    for (let tried = 0; tried < count; tried += 1) {
      portCursor = (portCursor ?? -1) + 1;
      const port = first + (portCursor % count);
      if (!handedOut.has(port) && (await portFree(port))) return handOut(port);
    }
  }
  throw new Error(`NONO_TEST_PORTS=${range.first}-${range.last}: every port in the range is taken`);
}

let portCursor: number | undefined;
/** Ports given out by this test file: free now, but its servers may not have bound them yet. */
const handedOut = new Set<number>();

function handOut(port: number): number {
  handedOut.add(port);
  return port;
}

function testPortRange(): { first: number; last: number } | undefined {
  const raw = process.env['NONO_TEST_PORTS']?.trim();
  if (raw === undefined || raw === '') return undefined;
  const match = /^(\d+)-(\d+)$/.exec(raw);
  const first = Number(match?.[1]);
  const last = Number(match?.[2]);
  if (match === null || first < 1 || last > 65_535 || first > last)
    throw new Error(
      `NONO_TEST_PORTS=${JSON.stringify(raw)} is not valid: expected <first>-<last>, e.g. 8000-8049`,
    );
  return { first, last };
}

function kernelPickedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Two consecutive free ports; resolves the first. */
export async function twoFreePorts(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65_535 && !handedOut.has(port + 1) && (await portFree(port + 1))) {
      handOut(port + 1);
      return port;
    }
  }
}

export interface WorkerCall {
  readonly mode: string;
  readonly taskId: string;
  readonly executionId: string;
  readonly token: number;
  readonly attempt: number;
  readonly nominal: string;
  readonly traceparent: string;
  /** `Nono-Shard` (index/count) of a shard's call. */
  readonly shard?: string;
  readonly body: string;
  readonly receivedAt: number;
  /** The status it was answered with; absent while it runs (or when its worker died first). */
  readonly answeredStatus?: number;
}

/** Milliseconds between consecutive calls' arrivals. */
export function arrivalGaps(calls: readonly WorkerCall[]): number[] {
  return calls.slice(1).map((call, i) => call.receivedAt - (calls[i] as WorkerCall).receivedAt);
}

/** Milliseconds between consecutive calls' nominal instants. */
export function nominalGaps(calls: readonly WorkerCall[]): number[] {
  return calls
    .slice(1)
    .map((call, i) => Date.parse(call.nominal) - Date.parse((calls[i] as WorkerCall).nominal));
}

export interface TestWorker {
  readonly url: string;
  /** `url`, then one URL per extra port (`extraPorts`): the same worker under distinct origins. */
  readonly urls: readonly string[];
  readonly process: RunningProcess;
  calls(): Promise<WorkerCall[]>;
}

export async function startTestWorker(
  options: { record?: boolean; port?: number; callLog?: string; name?: string; extraPorts?: number } = {},
): Promise<TestWorker> {
  const worker = startProcess(options.name ?? 'worker', 'tests/support/test-worker.mjs', {
    PORT: String(options.port ?? 0),
    RECORD: options.record === false ? '0' : '1',
    EXTRA_PORTS: String(options.extraPorts ?? 0),
    ...(options.callLog === undefined ? {} : { CALL_LOG: options.callLog }),
  });
  const line = await worker.waitForLine(/^listening \d+/);
  const url = `http://127.0.0.1:${line.split(' ')[1]}`;
  const also = worker
    .lines()
    .filter((l) => l.startsWith('also '))
    .map((l) => `http://127.0.0.1:${l.split(' ')[1]}`);
  return {
    url,
    urls: [url, ...also],
    process: worker,
    calls: async () => (await (await fetch(`${url}/calls`)).json()) as WorkerCall[],
  };
}

/** The example worker (examples/worker, built dist) verifying Standard Webhooks signatures with `secrets`. */
export async function startExampleWorker(
  name: string,
  secrets: string,
): Promise<{ port: number; url: string; proc: RunningProcess }> {
  const port = await freePort();
  const proc = startProcess(name, 'examples/worker/dist/main.js', {
    WORKER_PORT: String(port),
    WORKER_WEBHOOK_SECRETS: secrets,
    WORKER_LOG_LEVEL: 'info',
  });
  await proc.waitForLine(/example worker listening/);
  return { port, url: `http://127.0.0.1:${port}`, proc };
}
