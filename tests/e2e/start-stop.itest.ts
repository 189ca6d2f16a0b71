import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/isolation.js';
import { REPO_ROOT, alive, freePort, portFree } from '../support/processes.js';

/**
 * `npm start` stops everything it started however its console ends: piped into `tee` when
 * Ctrl-C kills the reader too, in a terminal that closes (SIGHUP, then writes fail), and after
 * a run that was killed outright (the next start clears up and goes on). The script brings up
 * ZooKeeper and Kafka of its own here (an infra dir and ports of this file, the jars of
 * infra/.cache or NONO_INFRA_CACHE_DIR), so that stopping them is part of what is checked.
 */
const START_SCRIPT = join(REPO_ROOT, 'scripts/start-local.mjs');
const INFRA = ['zookeeper', 'kafka'];

interface LocalState {
  readonly pid: number;
  readonly children: ReadonlyArray<{ readonly name: string; readonly pid: number }>;
}

const infraDir = mkdtempSync(join(tmpdir(), 'nono-e2e-infra-'));
const stateDir = mkdtempSync(join(tmpdir(), 'nono-e2e-stop-'));
const spawned: ChildProcess[] = [];
const seenPids = new Set<number>();
let env: Record<string, string | undefined> = {};
let ports: number[] = [];

beforeAll(async () => {
  const port = {
    zk: await freePort(),
    kafka: await freePort(),
    controller: await freePort(),
    api: await freePort(),
    history: await freePort(),
    alerts: await freePort(),
    worker: await freePort(),
    scheduler: await freePort(),
  };
  ports = Object.values(port);
  expect(new Set(ports).size).toBe(ports.length);
  env = {
    ...process.env,
    NONO_ZK_CONNECT: undefined,
    NONO_KAFKA_BROKERS: undefined,
    NONO_INFRA_DIR: infraDir,
    NONO_ZK_PORT: String(port.zk),
    NONO_KAFKA_PORT: String(port.kafka),
    NONO_KAFKA_CONTROLLER_PORT: String(port.controller),
    NONO_LOCAL_DIR: stateDir,
    NONO_API_PORT: String(port.api),
    NONO_HISTORY_PORT: String(port.history),
    NONO_ALERTS_PORT: String(port.alerts),
    NONO_WORKER_PORT: String(port.worker),
    NONO_SCHEDULER_PORT_BASE: String(port.scheduler),
    NONO_LOCAL_SCHEDULERS: '1',
    NONO_LOCAL_DEMO_TASKS: '0',
    NONO_LOCAL_LOG: 'quiet',
  };
});

afterAll(async () => {
  // Only when a test failed half-way: never leave a process tree behind.
  for (const child of spawned)
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) killGroup(child.pid);
  // The children the lock file still names too: a test may fail before it noted them.
  let listed: number[] = [];
  try {
    listed = existsSync(lockFile()) ? runningState().children.map((child) => child.pid) : [];
  } catch {
    /* no readable lock file: nothing more to find */
  }
  for (const pid of [...seenPids, ...listed, ...infraPids()]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(infraDir, { recursive: true, force: true });
});

describe('npm start (scripts/start-local.mjs) stops everything it started', () => {
  it('when Ctrl-C also kills the reader of its piped output (npm start | tee start.log)', async () => {
    const teeLog = join(stateDir, 'tee.log');
    // Its own process group, like a terminal's foreground job: one SIGINT reaches all of it.
    const job = track(
      spawn('sh', ['-c', 'node "$0" 2>&1 | tee "$1" > /dev/null', START_SCRIPT, teeLog], {
        cwd: REPO_ROOT,
        env,
        stdio: 'ignore',
        detached: true,
      }),
    );
    await eventually(
      () => (readText(teeLog).includes('nono is running.') ? true : undefined),
      150_000,
      `"nono is running." in ${teeLog}`,
    );
    const running = runningState();
    expectNoStartUpNoise(readText(teeLog));
    process.kill(-(job.pid ?? 0), 'SIGINT');
    await expectAllStopped(running);
  }, 240_000);

  it('when its terminal closes (SIGHUP, then every write fails)', async () => {
    // `script` runs the start script on a pseudo-terminal of its own; killing `script` closes
    // the terminal's master side, as closing a terminal window does.
    const terminal = track(
      spawn('script', ['-qfc', `exec node ${START_SCRIPT}`, '/dev/null'], {
        cwd: REPO_ROOT,
        env: { ...env, SHELL: '/bin/sh' },
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    let screen = '';
    terminal.stdout?.on('data', (chunk: Buffer) => (screen += chunk.toString('utf8')));
    await eventually(
      () => (screen.includes('nono is running.') ? true : undefined),
      150_000,
      `"nono is running." on the terminal (so far:\n${screen.slice(-2000)})`,
    );
    const running = runningState();
    terminal.kill('SIGKILL');
    await expectAllStopped(running);
  }, 240_000);

  it('after a run killed outright: the next start stops what it left, waits for its ports and goes on', async () => {
    const first = startScript();
    await first.running;
    const leftBehind = runningState();
    expectNoStartUpNoise(first.output());
    first.child.kill('SIGKILL');
    await eventually(() => (alive(leftBehind.pid) ? undefined : true), 10_000, 'the first run to die');
    for (const child of leftBehind.children) expect(alive(child.pid), child.name).toBe(true);

    const second = startScript();
    await second.running;
    expect(second.output()).toContain('a previous run did not stop cleanly');
    expectNoStartUpNoise(second.output());
    // Its services were stopped; its ZooKeeper and Kafka serve this run, which stops them at its end.
    for (const child of leftBehind.children.filter((c) => !INFRA.includes(c.name)))
      expect(alive(child.pid), child.name).toBe(false);
    expect(runningState().children.filter((c) => INFRA.includes(c.name))).toEqual(
      leftBehind.children.filter((c) => INFRA.includes(c.name)),
    );
    const running = runningState();
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
    await expectAllStopped(running);
  }, 300_000);
});

/** The start script with its output captured; `running` resolves once it says "nono is running.". */
function startScript(): {
  child: ChildProcess;
  output(): string;
  running: Promise<void>;
  exited: Promise<number | null>;
} {
  const child = track(
    spawn(process.execPath, [START_SCRIPT], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const running = Promise.race([
    eventually(
      () => (output.includes('nono is running.') ? true : undefined),
      150_000,
      'the start script to be running',
    ),
    exited.then((code) => {
      throw new Error(`the start script exited with ${code}:\n${output}`);
    }),
  ]).then(() => undefined);
  return { child, output: () => output, running, exited };
}

function track(child: ChildProcess): ChildProcess {
  spawned.push(child);
  return child;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function lockFile(): string {
  return join(stateDir, 'local.json');
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The start script's pid, its children's, and the infra servers' it runs on. */
function runningState(): { pid: number; children: Array<{ name: string; pid: number }> } {
  const state = JSON.parse(readFileSync(lockFile(), 'utf8')) as LocalState;
  const children = [
    ...state.children.map(({ name, pid }) => ({ name, pid })),
    ...INFRA.flatMap((name) => {
      const pid = infraPid(name);
      return pid === undefined ? [] : [{ name, pid }];
    }),
  ];
  for (const { pid } of children) seenPids.add(pid);
  seenPids.add(state.pid);
  return { pid: state.pid, children };
}

function infraPid(name: string): number | undefined {
  const text = readText(join(infraDir, `${name}.pid`));
  if (text === '') return undefined;
  const pid = (JSON.parse(text) as { pid?: unknown }).pid;
  return typeof pid === 'number' ? pid : undefined;
}

function infraPids(): number[] {
  return INFRA.flatMap((name) => infraPid(name) ?? []);
}

async function expectAllStopped(running: {
  pid: number;
  children: Array<{ name: string; pid: number }>;
}): Promise<void> {
  expect(running.children.map((child) => child.name).sort()).toEqual([
    'alerts',
    'api',
    'history',
    'kafka',
    'scheduler-local-a',
    'worker',
    'zookeeper',
  ]);
  await eventually(
    () => (alive(running.pid) ? undefined : true),
    120_000,
    `the start script (pid ${running.pid}) to finish its stop`,
  );
  const left = running.children.filter((child) => alive(child.pid));
  expect(left, `still running after the start script ended:\n${readText(scriptLog())}`).toEqual([]);
  for (const port of ports) expect(await portFree(port), `port ${port} is still taken`).toBe(true);
  expect(existsSync(lockFile())).toBe(false);
}

function scriptLog(): string {
  return join(stateDir, 'logs', 'start-local.log');
}

/**
 * What a healthy start must not show as a warning or an error (NONO_LOCAL_LOG=quiet shows only
 * those): a fresh Kafka's coordinator answers while it starts, services creating the same topics
 * at once, kafkajs's notes on nono's choices.
 */
function expectNoStartUpNoise(output: string): void {
  expect(output).not.toMatch(/GroupCoordinator|coordinator is loading|coordinator is not available/i);
  expect(output).not.toMatch(/Limiting retries|switched default partitioner|Topic creation errors/);
}
