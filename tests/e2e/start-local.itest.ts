import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../support/isolation.js';
import { REPO_ROOT, alive, freePort, portFree, twoFreePorts } from '../support/processes.js';

/**
 * `npm start` as a newcomer runs it: scripts/start-local.mjs as a real process tree on free
 * ports, driven with the real CLI, stopped with SIGINT. Everything runs from the built dist
 * (`npx turbo run build` first). Isolated from other tests by its own state directory,
 * ZooKeeper root, topic prefix and history consumer group; the shared ZooKeeper and Kafka are
 * already running, so the script must find them and leave them running. It runs two history
 * replicas (NONO_LOCAL_HISTORY_REPLICAS=2); tests/e2e/start-stop.itest.ts runs one.
 */
const START_SCRIPT = join(REPO_ROOT, 'scripts/start-local.mjs');
const CLI = join(REPO_ROOT, 'services/cli/dist/main.js');

interface LocalState {
  readonly pid: number;
  readonly urls: {
    readonly api: string;
    readonly worker: string;
    readonly history: string;
    readonly historyReplicas: readonly string[];
  };
  readonly children: ReadonlyArray<{ readonly name: string; readonly pid: number; readonly port: number }>;
}

const stateDir = mkdtempSync(join(tmpdir(), 'nono-e2e-'));
const started: ChildProcess[] = [];
let childPids: number[] = [];

afterAll(() => {
  // Only if the test failed half-way: never leave a process tree behind.
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of childPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });
});

describe('npm start (scripts/start-local.mjs)', () => {
  it('runs a whole nono, fires a task defined with the CLI, and stops with nothing left behind', async () => {
    const zkConnect = inject('zkConnect');
    const kafkaBrokers = inject('kafkaBrokers');
    const tag = randomBytes(4).toString('hex');
    const ports = {
      api: await freePort(),
      history: await twoFreePorts(),
      alerts: await freePort(),
      worker: await freePort(),
      schedulerBase: await twoFreePorts(),
    };
    const env: Record<string, string | undefined> = {
      ...process.env,
      NONO_LOCAL_DIR: stateDir,
      NONO_API_PORT: String(ports.api),
      NONO_HISTORY_PORT: String(ports.history),
      NONO_ALERTS_PORT: String(ports.alerts),
      NONO_WORKER_PORT: String(ports.worker),
      NONO_SCHEDULER_PORT_BASE: String(ports.schedulerBase),
      NONO_ZK_ROOT: `/nono-tests/e2e-${tag}/nono`,
      NONO_TOPIC_PREFIX: `t.e2e-${tag}.`,
      NONO_HISTORY_GROUP_ID: `e2e-${tag}`,
      NONO_ALERTS_GROUP_ID: `e2e-alerts-${tag}`,
      NONO_LOCAL_DEMO_TASKS: '0',
      NONO_LOCAL_LOG: 'quiet',
      NONO_LOCAL_HISTORY_REPLICAS: '2',
    };
    // On the default ports the script takes the path `npm start` takes (infra/ finds the
    // running servers); elsewhere it is pointed at the servers of this run.
    const defaultInfra =
      zkConnect === '127.0.0.1:2181' &&
      kafkaBrokers === '127.0.0.1:9092' &&
      process.env['NONO_INFRA_DIR'] === undefined;
    if (defaultInfra) {
      delete env['NONO_ZK_CONNECT'];
      delete env['NONO_KAFKA_BROKERS'];
    } else {
      env['NONO_ZK_CONNECT'] = zkConnect;
      env['NONO_KAFKA_BROKERS'] = kafkaBrokers;
    }

    const script = runScript(env);
    await script.waitFor(/nono is running\./, 60_000);
    expect(script.output()).toMatch(
      defaultInfra
        ? /were already running \(left running on exit\)/
        : /from the environment \(not managed here\)/,
    );
    const state = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as LocalState;
    childPids = state.children.map((child) => child.pid);
    expect(state.children.map((child) => child.name).sort()).toEqual([
      'alerts',
      'api',
      'history-a',
      'history-b',
      'scheduler-local-a',
      'scheduler-local-b',
      'worker',
    ]);
    const token = readFileSync(join(stateDir, 'local-token'), 'utf8').trim();
    expect(script.output()).toContain(`export NONO_TOKEN=${token}`);

    const cli = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      runCli(args, { ...process.env, NONO_API_URL: state.urls.api, NONO_TOKEN: token });

    const taskFile = join(stateDir, 'every-second.json');
    writeFileSync(
      taskFile,
      JSON.stringify({
        id: 'e2e-every-second',
        name: 'e2e: every second',
        schedule: { kind: 'interval', everyMs: 1_000 },
        target: { url: `${state.urls.worker}/jobs/ok`, timeoutMs: 2_000 },
      }),
    );
    const created = await cli('tasks', 'create', '-f', taskFile);
    expect(created, created.stderr).toMatchObject({ code: 0, stdout: 'created task e2e-every-second\n' });
    expect((await cli('tasks', 'get', 'no-such-task')).code).toBe(2);

    // The worker sees it fire, with nono's headers, more than once.
    const worker = await eventually(
      async () => {
        const body = (await (await fetch(`${state.urls.worker}/state`)).json()) as {
          counts: { ok?: { succeeded: number } };
          lastRuns: Record<string, { fencingToken: number; value: { executionId?: string } }>;
        };
        return (body.counts.ok?.succeeded ?? 0) >= 2 ? body : undefined;
      },
      30_000,
      'the example worker to be called twice',
    );
    expect(worker.lastRuns['e2e-every-second']?.fencingToken).toBeGreaterThan(0);

    // The alerts service answers through the API and the CLI.
    const alertsListed = await cli('alerts', 'ls');
    expect(alertsListed, alertsListed.stderr).toMatchObject({ code: 0, stdout: 'no open alerts\n' });

    // History has the executions (Kafka → history → API → CLI).
    const executions = await eventually(
      async () => {
        const run = await cli('--json', 'executions', '--task', 'e2e-every-second', '--status', 'succeeded');
        if (run.code !== 0) throw new Error(run.stderr);
        const items = JSON.parse(run.stdout) as Array<{ taskId: string; schedulerId: string }>;
        return items.length > 0 ? items : undefined;
      },
      30_000,
      'a succeeded execution in history',
    );
    expect(['local-a', 'local-b']).toContain(executions[0]?.schedulerId);

    // Both replicas answer, each from its own consumer group and database, and the API lists them.
    expect(state.urls.historyReplicas).toEqual([
      `http://127.0.0.1:${ports.history}`,
      `http://127.0.0.1:${ports.history + 1}`,
    ]);
    for (const [index, url] of state.urls.historyReplicas.entries()) {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { replica?: string };
      expect(ready.replica).toBe(['a', 'b'][index]);
      expect(existsSync(join(stateDir, `history-${ready.replica}.sqlite`))).toBe(true);
    }
    const status = await eventually(
      async () => {
        const body = (await (
          await fetch(`${state.urls.api}/api/v1/status`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as { historyReplicas: Array<{ name?: string; state: string }> };
        return body.historyReplicas.every((replica) => replica.state === 'current') ? body : undefined;
      },
      30_000,
      'both history replicas current in /status',
    );
    expect(status.historyReplicas.map((replica) => replica.name)).toEqual(['a', 'b']);
    // The replica the API reads first dies: the CLI still reads history (from the other), and the
    // script starts the dead one again.
    const historyA = state.children.find((child) => child.name === 'history-a');
    if (historyA === undefined) throw new Error('no history-a child');
    process.kill(historyA.pid, 'SIGKILL');
    const afterKill = await cli('--json', 'executions', '--task', 'e2e-every-second');
    expect(afterKill, afterKill.stderr).toMatchObject({ code: 0 });
    expect((JSON.parse(afterKill.stdout) as unknown[]).length).toBeGreaterThan(0);
    await script.waitFor(/history-a restarted \(pid \d+\)/, 30_000);
    const withHistoryA = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as LocalState;
    childPids.push(withHistoryA.children.find((child) => child.name === 'history-a')?.pid ?? 0);
    await eventually(
      async () =>
        (await fetch(`${state.urls.history}/readyz`).catch(() => undefined))?.status === 200
          ? true
          : undefined,
      60_000,
      'the restarted history-a to be ready',
    );

    // A child that dies is started again, as a supervisor would (the API ends itself when its
    // ZooKeeper session expires, e.g. after a laptop's sleep).
    const api = state.children.find((child) => child.name === 'api');
    if (api === undefined) throw new Error('no api child');
    process.kill(api.pid, 'SIGKILL');
    await script.waitFor(/api restarted \(pid \d+\)/, 30_000);
    const restarted = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as LocalState;
    const newApi = restarted.children.find((child) => child.name === 'api');
    expect(newApi?.pid).toBeDefined();
    expect(newApi?.pid).not.toBe(api.pid);
    childPids.push(newApi?.pid ?? 0);
    await eventually(
      async () =>
        (await fetch(`${state.urls.api}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined,
      60_000,
      'the restarted API to be ready',
    );
    expect((await cli('tasks', 'get', 'e2e-every-second')).code).toBe(0);

    // The local token also opens history's /admin (no rebuild has run yet: 404, not 401).
    const adminStatus = async (headers: Record<string, string>): Promise<number> =>
      (await fetch(`${state.urls.history}/admin/rebuild`, { headers })).status;
    expect(await adminStatus({})).toBe(401);
    expect(await adminStatus({ authorization: `Bearer ${token}` })).toBe(404);
    // History's queries need a token (the API has its own, which is how the CLI read them above).
    expect((await fetch(`${state.urls.history}/executions`)).status).toBe(401);

    // A second start refuses instead of fighting for the ports.
    const second = runScript(env);
    expect(await second.exit).toBe(1);
    expect(second.output()).toContain('nono is already running');

    script.child.kill('SIGINT');
    expect(await withTimeout(script.exit, 60_000, 'start-local to stop after SIGINT')).toBe(0);
    // In order: schedulers, then history, alerts and the API (each once, the restarted ones too), then the worker.
    const stops = [...script.output().matchAll(/stopped (.+)/g)].map((match) =>
      (match[1] ?? '').split(', ').sort(),
    );
    expect(stops).toEqual([
      ['scheduler-local-a', 'scheduler-local-b'],
      ['alerts', 'api', 'history-a', 'history-b'],
      ['worker'],
    ]);
    for (const pid of childPids) expect(alive(pid), `pid ${pid} is still running`).toBe(false);
    for (const port of [
      ports.api,
      ports.history,
      ports.history + 1,
      ports.alerts,
      ports.worker,
      ports.schedulerBase,
      ports.schedulerBase + 1,
    ])
      expect(await portFree(port), `port ${port} is still taken`).toBe(true);
    expect(existsSync(join(stateDir, 'local.json'))).toBe(false);
    // The shared infra is untouched.
    for (const address of [zkConnect.split('/')[0] ?? '', kafkaBrokers.split(',')[0] ?? ''])
      expect(await answers(address)).toBe(true);
  }, 120_000);

  it.each([
    [
      { NONO_LOCAL_HISTORY_REPLICAS: '0' },
      [],
      'NONO_LOCAL_HISTORY_REPLICAS="0" is not valid: expected 1 to 9.',
    ],
    [{ NONO_LOCAL_HISTORY_REPLICAS: 'two' }, ['--ha'], 'NONO_LOCAL_HISTORY_REPLICAS="two" is not valid'],
    [{}, ['--HA'], 'unknown argument "--HA": expected --ha or --help.'],
  ])('refuses %j %j before starting anything', async (variables, args, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'nono-e2e-bad-'));
    try {
      const refused = runScript({ ...process.env, NONO_LOCAL_DIR: dir, ...variables }, args);
      expect(await refused.exit).toBe(1);
      expect(refused.output()).toContain(message);
      expect(existsSync(join(dir, 'local.json'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function runScript(
  env: Record<string, string | undefined>,
  args: readonly string[] = [],
): {
  child: ChildProcess;
  exit: Promise<number | null>;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
} {
  const child = spawn(process.execPath, [START_SCRIPT, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exit,
    output: () => output,
    waitFor: async (pattern, timeoutMs) => {
      let exited = false;
      void exit.then(() => (exited = true));
      await eventually(
        () => {
          if (exited) throw new Error(`start-local exited:\n${output}`);
          return pattern.test(output) ? true : undefined;
        },
        timeoutMs,
        `${String(pattern)} in the output of start-local (so far:\n${output.slice(-3000)})`,
      );
    },
  };
}

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env, cwd: REPO_ROOT, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function answers(address: string): Promise<boolean> {
  const [host = '127.0.0.1', port = '0'] = address.split(':');
  return new Promise((resolve) => {
    const socket = createConnection({ host, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
