#!/usr/bin/env node
// @ts-check
// `npm start`: a whole nono on this machine, for trying it out and for end-to-end tests.
//
//   ZooKeeper + Kafka (infra/, started only if not already running), the history service, the
//   alerts service, the API with its web UI, two schedulers and the example worker, each a
//   child process. `npm start -- --ha` runs the production topology instead: infra/'s
//   3-server ZooKeeper ensemble and 3-broker Kafka cluster (one server of each where infra/
//   has no HA mode), three schedulers and two history replicas the API fails over between
//   (docs/ARCHITECTURE.md, "History replicas"). Logs go to .nono/logs/<name>.log in full and
//   to the console in short, one prefixed line each. Three demo tasks are defined when the
//   cluster has none. Ctrl-C stops everything this script started, in order: schedulers (they
//   finish their calls and hand off), then the API, history and alerts, then the worker, then
//   the infra if this script brought it up. The stop finishes whatever happens to the console
//   (a pipe whose reader died, a closed terminal); this script's own lines also go to
//   .nono/logs/start-local.log. A start after a run that was killed outright stops that run's
//   services, waits for their ports and takes over its infra.
//
// Plain Node ESM with built-ins only (it runs the built dist of each service).
// Configuration (environment), all optional:
//   NONO_API_PORT (7200), NONO_HISTORY_PORT (7300), NONO_SCHEDULER_PORT_BASE (7400: the
//   schedulers' ops ports are base, base+1, ...), NONO_WORKER_PORT (7500), NONO_ALERTS_PORT (7600),
//   NONO_LOCAL_SCHEDULERS (2; 3 with --ha), NONO_LOCAL_HISTORY_REPLICAS (1; 2 with --ha: history
//   services on NONO_HISTORY_PORT, +1, ..., each its own consumer group and database, all read by
//   the API), NONO_LOCAL_DIR (.nono: token, logs, spools, history and alerts databases,
//   the lock file), NONO_LOCAL_DEMO_TASKS (1; 0 = none), NONO_LOCAL_LOG (pretty | quiet: only
//   warnings and errors on the console | files: nothing but the summary on the console),
//   NONO_ZK_CONNECT + NONO_KAFKA_BROKERS (both set: use that ZooKeeper and Kafka and manage no
//   infra), and every variable of the services themselves (NONO_ZK_ROOT, NONO_TOPIC_PREFIX, ...),
//   which are passed through.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// Shared with infra/ (built-ins only, like this script).
import { commandLine, pidAlive, portFree, sleep } from '../infra/lib/processes.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT_MARK = 'start-local.mjs';
const READY_TIMEOUT_MS = 90_000;
const RESTART_DELAY_MS = 2_000;
const RESTART_WINDOW_MS = 60_000;
const MAX_RESTARTS = 5;
/** How long the children of a run that did not stop cleanly get to exit, and then to release their ports. */
const LEFTOVER_EXIT_MS = 10_000;
const LEFTOVER_PORTS_MS = 15_000;

/** A failure the user can act on: one sentence, printed without a stack trace. */
class StartError extends Error {}

/**
 * @typedef {ReturnType<typeof readConfig>} Config
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null }} Exit
 * @typedef {object} ChildRecord one child process and what is known of it
 * @property {string} name
 * @property {string} script
 * @property {number} port
 * @property {string} logFile
 * @property {import('node:child_process').ChildProcess} child
 * @property {number} pid
 * @property {boolean} expectedExit
 * @property {Promise<Exit>} exited
 * @typedef {object} Run the state of this `npm start`
 * @property {Config | undefined} config undefined until the environment is read
 * @property {ChildRecord[]} children
 * @property {Map<string, number[]>} restarts when each child was restarted, for the restart limit
 * @property {Record<string, string>} urls
 * @property {string} startedAt
 * @property {boolean} stopping
 * @property {number} nameWidth
 * @property {boolean} [lockHeld]
 * @property {string} [token]
 * @property {any} [infra] what infra/ reported (or the external servers), plus what this run took over
 * @property {any} [infraModule]
 * @property {Promise<any>} [infraPending]
 */

// ---------------------------------------------------------------------------
// configuration

function readPort(env, name, fallback) {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65_535)
    throw new StartError(`${name}=${JSON.stringify(raw)} is not valid: expected a TCP port (1-65535).`);
  return port;
}

/** A count of processes from `name`, 1 to 9, else `fallback`. */
function readCount(env, name, fallback) {
  const count = Number(env[name]?.trim() || String(fallback));
  if (!Number.isInteger(count) || count < 1 || count > 9)
    throw new StartError(`${name}=${JSON.stringify(env[name])} is not valid: expected 1 to 9.`);
  return count;
}

const ARGUMENTS = ['--ha', '--help', '-h'];

/** @param {NodeJS.ProcessEnv} env @param {readonly string[]} args the script's arguments */
function readConfig(env, args) {
  const unknown = args.find((arg) => !ARGUMENTS.includes(arg));
  if (unknown !== undefined)
    throw new StartError(`unknown argument ${JSON.stringify(unknown)}: expected --ha or --help.`);
  const ha = args.includes('--ha');
  const stateDir = path.resolve(REPO, env.NONO_LOCAL_DIR?.trim() || '.nono');
  const schedulerCount = readCount(env, 'NONO_LOCAL_SCHEDULERS', ha ? 3 : 2);
  const historyCount = readCount(env, 'NONO_LOCAL_HISTORY_REPLICAS', ha ? 2 : 1);
  const logMode = env.NONO_LOCAL_LOG?.trim() || 'pretty';
  if (!['pretty', 'quiet', 'files'].includes(logMode))
    throw new StartError(
      `NONO_LOCAL_LOG=${JSON.stringify(logMode)} is not valid: expected pretty, quiet or files.`,
    );
  const schedulerBase = readPort(env, 'NONO_SCHEDULER_PORT_BASE', 7400);
  const schedulers = Array.from({ length: schedulerCount }, (_, i) => ({
    id: `local-${String.fromCharCode(97 + i)}`,
    port: schedulerBase + i,
  }));
  const historyBase = readPort(env, 'NONO_HISTORY_PORT', 7300);
  // One history keeps the names it always had; replicas are history-a, history-b, ...
  const histories = Array.from({ length: historyCount }, (_, i) => {
    const replica = historyCount === 1 ? undefined : String.fromCharCode(97 + i);
    return {
      name: replica === undefined ? 'history' : `history-${replica}`,
      replica,
      port: historyBase + i,
      dbFile: path.join(stateDir, replica === undefined ? 'history.sqlite' : `history-${replica}.sqlite`),
    };
  });
  const config = {
    ha,
    stateDir,
    logsDir: path.join(stateDir, 'logs'),
    lockFile: path.join(stateDir, 'local.json'),
    tokenFile: path.join(stateDir, 'local-token'),
    secretsKeyFile: path.join(stateDir, 'secrets-key'),
    apiPort: readPort(env, 'NONO_API_PORT', 7200),
    histories,
    workerPort: readPort(env, 'NONO_WORKER_PORT', 7500),
    alertsPort: readPort(env, 'NONO_ALERTS_PORT', 7600),
    schedulers,
    demoTasks: !/^(0|false|no|off)$/i.test(env.NONO_LOCAL_DEMO_TASKS?.trim() || '1'),
    logMode,
    externalInfra:
      env.NONO_ZK_CONNECT?.trim() && env.NONO_KAFKA_BROKERS?.trim()
        ? { zkConnect: env.NONO_ZK_CONNECT.trim(), kafkaBrokers: env.NONO_KAFKA_BROKERS.trim() }
        : undefined,
  };
  const ports = [
    ['NONO_API_PORT', config.apiPort],
    ...histories.map((h) => ['NONO_HISTORY_PORT', h.port]),
    ['NONO_WORKER_PORT', config.workerPort],
    ['NONO_ALERTS_PORT', config.alertsPort],
    ...schedulers.map((s) => ['NONO_SCHEDULER_PORT_BASE', s.port]),
  ];
  const seen = new Map();
  for (const [name, port] of ports) {
    if (seen.has(port) && seen.get(port) !== name)
      throw new StartError(
        `${name} and ${seen.get(port)} both use port ${port}: choose ports that do not overlap.`,
      );
    seen.set(port, name);
  }
  config.ports = ports;
  return config;
}

// ---------------------------------------------------------------------------
// console output

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);
const COLORS = [36, 35, 33, 32, 34, 96, 95, 93, 92];
const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
// Per-request lines of the services: in the log files, too chatty for the console.
const HIDDEN_MESSAGES = new Set(['incoming request', 'request completed']);
const HIDDEN_FIELDS = new Set([
  'level',
  'time',
  'pid',
  'hostname',
  'service',
  'schedulerId',
  'msg',
  'reqId',
  'v',
]);

/**
 * The console can go away while this script runs: `npm start | tee start.log` loses its reader
 * to the same Ctrl-C that starts the stop, and a closed terminal hangs up (SIGHUP) before the
 * stop has begun. A write to it then fails (EPIPE, EIO); unhandled, that error would end this
 * script half-way and leave its children running. So a failed stream is only marked closed and
 * skipped from then on; the script's own lines also go to .nono/logs/start-local.log, where the
 * stop can still be read. (Node ignores SIGPIPE itself, so only the error events matter.)
 */
const closedStreams = new Set();
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => closedStreams.add(stream));

function toConsole(stream, text) {
  if (closedStreams.has(stream)) return;
  try {
    stream.write(text);
  } catch {
    closedStreams.add(stream);
  }
}

/** Where `say` keeps its lines besides the console; set once the state directory is known. */
let scriptLogFile;

function toScriptLog(text) {
  if (scriptLogFile === undefined) return;
  try {
    // eslint-disable-next-line no-control-regex -- strips the colour codes of `paint`
    fs.appendFileSync(scriptLogFile, `${new Date().toISOString()} ${text.replace(/\u001b\[\d+m/g, '')}`);
  } catch {
    /* a full disk must not stop the stop either */
  }
}

function say(line) {
  toConsole(process.stdout, `${paint(1, 'nono')}  ${line}\n`);
  toScriptLog(`${line}\n`);
}

/** One pino JSON line as `12:00:01 info  message key=value …`; other text as it is. */
function prettyLine(line) {
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return { text: line, level: 30 };
  }
  if (typeof entry !== 'object' || entry === null) return { text: line, level: 30 };
  const level = typeof entry.level === 'number' ? entry.level : 30;
  if (level < 40 && HIDDEN_MESSAGES.has(entry.msg)) return { text: '', level };
  const time =
    typeof entry.time === 'string' ? entry.time.slice(11, 19) : new Date().toISOString().slice(11, 19);
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN_FIELDS.has(key))
    .slice(0, 8)
    .map(([key, value]) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      return `${key}=${text.length > 80 ? `${text.slice(0, 77)}...` : text}`;
    });
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const shownLevel = level >= 50 ? paint(31, name) : level >= 40 ? paint(33, name) : paint(2, name);
  return {
    text: `${paint(2, time)} ${shownLevel} ${entry.msg ?? ''} ${paint(2, fields.join(' '))}`.trimEnd(),
    level,
  };
}

// ---------------------------------------------------------------------------
// small helpers

function writeJsonAtomic(file, value) {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(temp, file);
}

/** A path as the user best reads it: relative when under the current directory. */
function show(file) {
  const relative = path.relative(process.cwd(), file);
  return relative === '' ? '.' : relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

function lastLines(file, count) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-count).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------
// the lock: one local cluster per state directory

/**
 * Creates the lock file exclusively. If it exists and its process lives, another `npm start`
 * runs: refuse. If its process is gone (killed with -9, machine slept through a crash), stop
 * the children it recorded that still run, so this start does not fight them for ports.
 * Resolves what that run left: the ports its children held (freed now, perhaps not yet
 * released) and the infra servers it had started (still running: this run takes them over).
 */
async function acquireLock(config) {
  /** @type {{ ports: Set<number>, infra: { runDir: string, started: string[] } | undefined }} */
  const left = { ports: new Set(), infra: undefined };
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = fs.openSync(config.lockFile, 'wx');
      fs.writeSync(
        fd,
        `${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), children: [] })}\n`,
      );
      fs.closeSync(fd);
      return left;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let previous;
    try {
      previous = JSON.parse(fs.readFileSync(config.lockFile, 'utf8'));
    } catch {
      previous = {};
    }
    if (
      typeof previous.pid === 'number' &&
      pidAlive(previous.pid) &&
      commandLine(previous.pid).includes(SCRIPT_MARK)
    ) {
      const ui = previous.urls?.ui ? ` UI: ${previous.urls.ui}.` : '';
      throw new StartError(
        `nono is already running from ${show(config.stateDir)} (pid ${previous.pid}, since ${previous.startedAt}).${ui} ` +
          `Stop it with Ctrl-C in its terminal or \`kill ${previous.pid}\`, or use another NONO_LOCAL_DIR and other ports.`,
      );
    }
    /** @type {Array<{ pid: number }>} */
    const killed = [];
    for (const child of previous.children ?? []) {
      if (typeof child.port === 'number') left.ports.add(child.port);
      if (
        typeof child.pid === 'number' &&
        pidAlive(child.pid) &&
        commandLine(child.pid).includes(child.script)
      ) {
        say(`a previous run did not stop cleanly: stopping its ${child.name} (pid ${child.pid})`);
        killGroup(child.pid);
        killed.push(child);
      }
    }
    const deadline = Date.now() + LEFTOVER_EXIT_MS;
    while (killed.some((child) => pidAlive(child.pid)) && Date.now() < deadline) await sleep(50);
    if (Array.isArray(previous.infra?.started) && previous.infra.started.length > 0)
      left.infra = { runDir: previous.infra.runDir, started: previous.infra.started };
    fs.rmSync(config.lockFile, { force: true });
  }
  throw new StartError(`could not take the lock ${config.lockFile}: another start is racing this one.`);
}

/** SIGKILL to a child's process group (it leads one: it was started detached), else to it alone. */
function killGroup(pid) {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
      return;
    } catch {
      /* no such group: try the process; gone meanwhile: done */
    }
  }
}

/**
 * Whether `port` is free, waiting up to `waitMs` for it: a process killed a moment ago still
 * holds its listening socket until the kernel has torn it down.
 */
async function portFreeWithin(port, waitMs) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await portFree(port)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------
// children

/**
 * Starts `node <script>` in its own process group (detached), so a Ctrl-C in the terminal
 * reaches only this script, which then stops the children in the right order.
 */
/**
 * @param {Run} run
 * @param {{ name: string, script: string, env: NodeJS.ProcessEnv, port: number, nodeArgs?: string[] }} spec
 * @param {{ restart?: boolean }} [options]
 */
function startChild(run, { name, script, env, port, nodeArgs = [] }, { restart = false } = {}) {
  const config = run.config;
  if (run.stopping || config === undefined) throw new StartError('interrupted');
  const logFile = path.join(config.logsDir, `${name}.log`);
  const log = fs.createWriteStream(logFile, { flags: restart ? 'a' : 'w' });
  const child = spawn(process.execPath, [...nodeArgs, path.join(REPO, script)], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // No pid: the spawn failed at once (its 'error' event says why); never signal pid 0, our own group.
  const pid = child.pid;
  if (pid === undefined) {
    child.once('error', () => {});
    throw new StartError(`${name}: could not be started`);
  }
  const color = COLORS[run.children.length % COLORS.length];
  const prefix = paint(color, name.padEnd(run.nameWidth));
  const record = {
    name,
    script,
    port,
    logFile,
    child,
    pid,
    expectedExit: false,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  const onLine = (line) => {
    if (line === '') return;
    if (config.logMode === 'files') return;
    const { text, level } = prettyLine(line);
    if (text === '' || (config.logMode === 'quiet' && level < 40)) return;
    toConsole(process.stdout, `${prefix} | ${text}\n`);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.on('data', (chunk) => {
      log.write(chunk);
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(onLine);
    });
    stream.on('end', () => onLine(partial));
  }
  child.once('error', (error) => say(`${name}: could not start (${error.message})`));
  void record.exited.then(({ code, signal }) => {
    log.end();
    if (record.expectedExit || run.stopping) return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    // Like a supervisor (systemd Restart=on-failure): e.g. the API ends itself with code 75 when
    // its ZooKeeper session expires, as after a laptop's sleep, and counts on being started
    // again. A scheduler is not restarted: the others take its tasks over (the failover tour
    // kills one on purpose), and a new one under the same id would wait for the old session.
    const failed = signal ? signal !== 'SIGTERM' && signal !== 'SIGINT' : code !== 0;
    if (name.startsWith('scheduler') || !failed) {
      const hint = name.startsWith('scheduler')
        ? ' The other schedulers take over its tasks (watch `nono schedulers`).'
        : ` Its log: ${show(logFile)}.`;
      say(paint(33, `${name} (pid ${record.pid}) exited with ${how}.${hint} Ctrl-C stops the rest.`));
      return;
    }
    const now = Date.now();
    const recent = (run.restarts.get(name) ?? []).filter((at) => now - at < RESTART_WINDOW_MS);
    if (recent.length >= MAX_RESTARTS) {
      say(
        paint(
          33,
          `${name} (pid ${record.pid}) exited with ${how}, ${MAX_RESTARTS} times within a minute: not restarting it. Its log: ${show(logFile)}. Ctrl-C stops the rest.`,
        ),
      );
      return;
    }
    run.restarts.set(name, [...recent, now]);
    say(
      paint(
        33,
        `${name} (pid ${record.pid}) exited with ${how}; restarting it in ${RESTART_DELAY_MS / 1000} s. Its log: ${show(logFile)}.`,
      ),
    );
    setTimeout(() => {
      if (run.stopping) return;
      try {
        const again = startChild(run, { name, script, env, port, nodeArgs }, { restart: true });
        say(`${name} restarted (pid ${again.pid}).`);
      } catch (error) {
        say(`${name}: could not restart (${error.message})`);
      }
    }, RESTART_DELAY_MS);
  });
  run.children.push(record);
  saveState(run);
  return record;
}

/** Polls /readyz until it answers 200, the child exits, or the time is up. */
async function waitReady(record, timeoutMs = READY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  /** @type {{ code: number | null, signal: NodeJS.Signals | null } | undefined} */
  let exited;
  void record.exited.then((result) => (exited = result));
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (exited) {
      throw new StartError(
        `${record.name} exited during start (${exited.signal ?? `code ${exited.code}`}); the end of its log ${show(record.logFile)}:\n${lastLines(record.logFile, 15)}`,
      );
    }
    try {
      const response = await fetch(`http://127.0.0.1:${record.port}/readyz`, {
        signal: AbortSignal.timeout(2_000),
      });
      if (response.status === 200) return;
      lastProblem = `/readyz answered ${response.status}: ${(await response.text()).slice(0, 200)}`;
    } catch (error) {
      lastProblem = error.cause?.code ?? error.message;
    }
    await sleep(250);
  }
  throw new StartError(
    `${record.name} was not ready within ${timeoutMs / 1000} s (${lastProblem}); see ${show(record.logFile)}.`,
  );
}

/** SIGTERM, then SIGKILL to the process group after `graceMs`. Resolves true when it stopped on its own. */
async function stopChild(record, graceMs) {
  record.expectedExit = true;
  if (record.child.exitCode !== null || record.child.signalCode !== null) return true;
  try {
    process.kill(record.pid, 'SIGTERM');
  } catch {
    return true;
  }
  const timedOut = Symbol('timeout');
  const result = await Promise.race([record.exited, sleep(graceMs).then(() => timedOut)]);
  if (result !== timedOut) return true;
  say(paint(33, `${record.name} did not stop within ${graceMs / 1000} s: killing it`));
  try {
    process.kill(-record.pid, 'SIGKILL');
  } catch {
    /* gone meanwhile */
  }
  await record.exited;
  return false;
}

function saveState(run) {
  writeJsonAtomic(run.config.lockFile, {
    pid: process.pid,
    startedAt: run.startedAt,
    urls: run.urls,
    infra: run.infra
      ? {
          zkConnect: run.infra.zkConnect,
          kafkaBrokers: run.infra.kafkaBrokers,
          runDir: run.infra.runDir,
          started: run.infra.started,
        }
      : null,
    children: run.children
      .filter(({ child }) => child.exitCode === null && child.signalCode === null)
      .map(({ name, script, pid, port, logFile }) => ({
        name,
        script,
        pid,
        port,
        logFile,
      })),
  });
}

// ---------------------------------------------------------------------------
// token and demo tasks

/**
 * A secret made once, kept in the state directory (mode 600) and reused after: the local admin
 * token (.nono/local-token), and the key that seals webhook secrets in ZooKeeper
 * (.nono/secrets-key: a new key each run could not open what the last run sealed).
 */
function keptSecret(file, make) {
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing !== '') return { value: existing, created: false };
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  const value = make();
  fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return { value, created: true };
}

function demoTasks(workerUrl) {
  const labels = { demo: 'true' };
  return [
    {
      id: 'demo-every-5s',
      name: 'Every 5 seconds',
      description: 'Calls the example worker /jobs/ok every 5 seconds.',
      schedule: { kind: 'interval', everyMs: 5_000 },
      target: { method: 'POST', url: `${workerUrl}/jobs/ok`, timeoutMs: 5_000 },
      labels,
    },
    {
      id: 'demo-flaky',
      name: 'Flaky, with retries',
      description: 'Fails about one call in three; nono retries it (same Idempotency-Key) up to 3 attempts.',
      schedule: { kind: 'interval', everyMs: 15_000 },
      target: { method: 'POST', url: `${workerUrl}/jobs/flaky`, timeoutMs: 5_000 },
      retry: { maxAttempts: 3, initialBackoffMs: 1_000, maxBackoffMs: 4_000 },
      labels,
    },
    {
      id: 'demo-slow',
      name: 'Slow job',
      description: 'Takes about 4 s; the worker gives up after its 8 s budget, nono after 10 s.',
      schedule: { kind: 'interval', everyMs: 20_000 },
      target: {
        method: 'POST',
        url: `${workerUrl}/jobs/slow?ms=4000`,
        timeoutMs: 10_000,
        headers: { 'X-Time-Budget-Ms': '8000' },
      },
      overlap: 'skip',
      labels,
    },
  ];
}

async function api(run, method, route, body) {
  const response = await fetch(`${run.urls.api}/api/v1${route}`, {
    method,
    headers: {
      authorization: `Bearer ${run.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

async function defineDemoTasks(run) {
  const existing = await api(run, 'GET', '/tasks?limit=1');
  if (existing.status !== 200)
    throw new StartError(
      `the API answered ${existing.status} to GET /tasks: ${JSON.stringify(existing.body)}`,
    );
  if (existing.body.items.length > 0) return [];
  const created = [];
  for (const task of demoTasks(run.urls.worker)) {
    const response = await api(run, 'POST', '/tasks', task);
    // 409: it exists after all (the API's task list lags ZooKeeper by a watch): fine.
    if (response.status === 201) created.push(task.id);
    else if (response.status !== 409)
      say(
        paint(
          33,
          `could not define demo task ${task.id}: ${response.status} ${JSON.stringify(response.body)}`,
        ),
      );
  }
  return created;
}

// ---------------------------------------------------------------------------
// start and stop

async function start(run) {
  const { config } = run;
  fs.mkdirSync(config.logsDir, { recursive: true });
  scriptLogFile = path.join(config.logsDir, 'start-local.log');
  toScriptLog(`---- npm start (pid ${process.pid})\n`);
  const left = await acquireLock(config);
  run.lockHeld = true;

  for (const [name, port] of config.ports) {
    if (!(await portFreeWithin(port, left.ports.has(port) ? LEFTOVER_PORTS_MS : 0)))
      throw new StartError(
        `port ${port} (${name}) is in use by another program: free it, or choose another, e.g. ${name}=${port + 10} npm start`,
      );
  }

  const missing = [
    'services/api/dist/main.js',
    'services/scheduler/dist/main.js',
    'examples/worker/dist/main.js',
  ].filter((file) => !fs.existsSync(path.join(REPO, file)));
  if (missing.length > 0)
    throw new StartError(
      `not built yet (${missing.join(', ')} missing): run \`npm run build\` first (\`npm start\` does it).`,
    );
  const historyBuilt = fs.existsSync(path.join(REPO, 'services/history/dist/main.js'));
  const alertsBuilt = fs.existsSync(path.join(REPO, 'services/alerts/dist/main.js'));

  if (config.externalInfra) {
    run.infra = { ...config.externalInfra, startedByUs: false, started: [] };
    say(
      `using ZooKeeper ${run.infra.zkConnect} and Kafka ${run.infra.kafkaBrokers} from the environment (not managed here)`,
    );
  } else {
    say(
      config.ha
        ? 'checking the local ZooKeeper ensemble and Kafka cluster (infra/ --ha, started if needed) ...'
        : 'checking the local ZooKeeper and Kafka (infra/, started if needed) ...',
    );
    const infra = await import(path.join(REPO, 'infra/lib/infra.mjs'));
    run.infraModule = infra;
    // Kept as a promise so that a Ctrl-C during this step still stops what it starts. `ha` asks
    // for 3 ZooKeeper servers and 3 brokers.
    run.infraPending = infra.ensureUp({
      log: (line) => say(`${paint(2, 'infra')} ${line}`),
      ...(config.ha ? { ha: true } : {}),
    });
    let up;
    try {
      up = await run.infraPending;
    } catch (error) {
      if (error instanceof infra.InfraError) throw new StartError(error.message);
      throw error;
    }
    // The HA infra keeps its files apart (infra/.run-ha): the run dir is the one ensureUp used.
    const runDir = up.runDir ?? infra.config().runDir;
    // Servers that the run which did not stop cleanly had started, found running again: this run
    // stops them at its end, as that run would have.
    const adopted =
      left.infra !== undefined && left.infra.runDir === runDir
        ? left.infra.started.filter((name) => !up.started.includes(name))
        : [];
    run.infra = {
      ...up,
      runDir,
      started: [...up.started, ...adopted],
      startedByUs: up.startedByUs || adopted.length > 0,
    };
    if (up.started.length > 0) say(`started ${up.started.join(' and ')} (they stop again with this script)`);
    if (adopted.length > 0)
      say(`took over ${adopted.join(' and ')} from the previous run (they stop again with this script)`);
    if (!run.infra.startedByUs)
      say(
        `ZooKeeper ${run.infra.zkConnect} and Kafka ${run.infra.kafkaBrokers} were already running (left running on exit)`,
      );
    if (config.ha && !String(run.infra.kafkaBrokers).includes(','))
      say(
        paint(
          33,
          'infra/ runs a single ZooKeeper and Kafka here (no HA mode in this infra/): the services are replicated, the infra is not',
        ),
      );
  }
  saveState(run);

  const { value: token, created } = keptSecret(
    config.tokenFile,
    () => `nono_local_${randomBytes(24).toString('base64url')}`,
  );
  run.token = token;
  const tokenHash = createHash('sha256').update(token, 'utf8').digest('hex');
  // The API's own token for history's query routes: fresh each run, known only to the two.
  const historyReadToken = randomBytes(32).toString('base64url');
  // The schedulers sign every call with it and the example worker verifies (Standard Webhooks).
  const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
  // Seals the per-task and per-host webhook secrets (POST /api/v1/webhook-secrets/…) for the API and the schedulers.
  const secretsKey =
    process.env.NONO_SECRETS_KEY ??
    keptSecret(config.secretsKeyFile, () => randomBytes(32).toString('base64')).value;
  const historyUrls = config.histories.map((h) => `http://127.0.0.1:${h.port}`);
  const base = {
    ...process.env,
    NONO_ZK_CONNECT: run.infra.zkConnect,
    NONO_KAFKA_BROKERS: run.infra.kafkaBrokers,
    // The API reads every replica (and fails over between them); every service keeps tasks off
    // them all. NONO_HISTORY_URL, the first replica, is where the alerts service reads history's lag.
    NONO_HISTORY_URLS: historyUrls.join(','),
    NONO_HISTORY_URL: historyUrls[0],
    // Every scheduler's ops port too, so no task can target one (each knows only its own).
    NONO_CLUSTER_ENDPOINTS: [
      ...config.schedulers.map((scheduler) => `127.0.0.1:${scheduler.port}`),
      process.env.NONO_CLUSTER_ENDPOINTS,
    ]
      .filter(Boolean)
      .join(','),
    NONO_ALERTS_URL: `http://127.0.0.1:${config.alertsPort}`,
    NONO_SECRETS_KEY: secretsKey,
  };
  run.urls = {
    ui: `http://127.0.0.1:${config.apiPort}/`,
    api: `http://127.0.0.1:${config.apiPort}`,
    history: historyUrls[0] ?? '',
    historyReplicas: historyUrls,
    alerts: `http://127.0.0.1:${config.alertsPort}`,
    worker: `http://127.0.0.1:${config.workerPort}`,
  };
  run.nameWidth = Math.max(
    ...[
      ...config.histories.map((h) => h.name),
      'alerts',
      'api',
      'worker',
      ...config.schedulers.map((s) => `scheduler-${s.id}`),
    ].map((n) => n.length),
  );

  /** @type {Array<{ optional?: boolean, record: ChildRecord }>} */
  const starting = [];
  if (historyBuilt) {
    for (const history of config.histories)
      starting.push({
        optional: true,
        record: startChild(run, {
          name: history.name,
          script: 'services/history/dist/main.js',
          // A larger young generation: ~5 % more events projected per second (services/history/README.md).
          nodeArgs: ['--max-semi-space-size=64'],
          port: history.port,
          env: {
            ...base,
            NONO_HISTORY_PORT: String(history.port),
            NONO_HISTORY_DB: history.dbFile,
            // Its own consumer group (NONO_HISTORY_GROUP_ID, if set, with -<replica> appended).
            ...(history.replica === undefined ? {} : { NONO_HISTORY_REPLICA: history.replica }),
            // The local admin token also opens history's /admin (live rebuild).
            NONO_HISTORY_ADMIN_TOKENS: [tokenHash, process.env.NONO_HISTORY_ADMIN_TOKENS]
              .filter(Boolean)
              .join(','),
            NONO_HISTORY_READ_TOKENS: [
              createHash('sha256').update(historyReadToken, 'utf8').digest('hex'),
              process.env.NONO_HISTORY_READ_TOKENS,
            ]
              .filter(Boolean)
              .join(','),
          },
        }),
      });
  } else {
    say(
      paint(
        33,
        'services/history is not built: running without history (executions, reports and audit will answer 502)',
      ),
    );
  }
  if (alertsBuilt) {
    starting.push({
      optional: true,
      record: startChild(run, {
        name: 'alerts',
        script: 'services/alerts/dist/main.js',
        port: config.alertsPort,
        env: {
          ...base,
          NONO_ALERTS_PORT: String(config.alertsPort),
          NONO_ALERTS_DB: path.join(config.stateDir, 'alerts.sqlite'),
        },
      }),
    });
  } else {
    say(paint(33, 'services/alerts is not built: running without alerts (/api/v1/alerts will answer 502)'));
  }
  starting.push({
    record: startChild(run, {
      name: 'api',
      script: 'services/api/dist/main.js',
      port: config.apiPort,
      // The local admin comes first; tokens configured by the user stay valid.
      env: {
        ...base,
        NONO_API_PORT: String(config.apiPort),
        NONO_API_TOKENS: [`admin:${tokenHash}`, process.env.NONO_API_TOKENS].filter(Boolean).join(','),
        NONO_HISTORY_READ_TOKEN: historyReadToken,
      },
    }),
  });
  starting.push({
    record: startChild(run, {
      name: 'worker',
      script: 'examples/worker/dist/main.js',
      port: config.workerPort,
      env: { ...base, WORKER_PORT: String(config.workerPort), WORKER_WEBHOOK_SECRETS: webhookSecret },
    }),
  });
  for (const scheduler of config.schedulers) {
    starting.push({
      record: startChild(run, {
        name: `scheduler-${scheduler.id}`,
        script: 'services/scheduler/dist/main.js',
        port: scheduler.port,
        env: {
          ...base,
          NONO_SCHEDULER_ID: scheduler.id,
          NONO_SCHEDULER_PORT: String(scheduler.port),
          NONO_SCHEDULER_SPOOL_DIR: path.join(config.stateDir, 'spool', scheduler.id),
          NONO_WEBHOOK_SECRETS: webhookSecret,
        },
      }),
    });
  }
  say(`starting ${starting.map((s) => s.record.name).join(', ')} (logs in ${show(config.logsDir)}) ...`);
  const results = await Promise.allSettled(starting.map(({ record }) => waitReady(record)));
  for (const [index, result] of results.entries()) {
    const entry = starting[index];
    if (result.status === 'fulfilled' || entry === undefined) continue;
    const { record, optional } = entry;
    if (optional)
      say(paint(33, `${record.name} is not ready, carrying on without it: ${result.reason.message}`));
    else throw result.reason;
  }
  if (run.stopping) return;
  saveState(run);

  const demo = config.demoTasks ? await defineDemoTasks(run) : [];
  printSummary(run, { tokenCreated: created, demo });
}

function printSummary(run, { tokenCreated, demo }) {
  const { config } = run;
  const rel = show;
  const cli = `node ${path.join(REPO, 'services/cli/dist/main.js')}`;
  const lines = [
    '',
    paint(32, 'nono is running.'),
    `  web UI      ${run.urls.ui}   (it asks for the token below)`,
    `  API docs    ${run.urls.api}/docs`,
    ...config.histories.map((h) => `  ${h.name.padEnd(10)}  http://127.0.0.1:${h.port}`),
    `  alerts      ${run.urls.alerts}   (nono alerts ls; rules: services/alerts/README.md)`,
    ...run.children
      .filter((c) => c.name.startsWith('scheduler-'))
      .map(
        (c) =>
          `  ${c.name.slice('scheduler-'.length).padEnd(10)}  pid ${c.pid}, ops ${`http://127.0.0.1:${c.port}`}/readyz`,
      ),
    `  worker      ${run.urls.worker}/state`,
    `  logs        ${rel(config.logsDir)}/`,
    '',
    demo.length > 0 ? `Defined the demo tasks ${demo.join(', ')}.` : 'Tasks already defined were kept.',
    `${tokenCreated ? 'Created' : 'Using'} the local admin token in ${rel(config.tokenFile)}. For the CLI:`,
    `  export NONO_API_URL=${run.urls.api}`,
    `  export NONO_TOKEN=${run.token}`,
    `  alias nono='${cli}'`,
    '  nono tasks ls',
    '',
    'Ctrl-C stops everything this started.',
    '',
  ];
  toConsole(process.stdout, `${lines.join('\n')}\n`);
  toScriptLog(`${lines.join('\n')}\n`);
}

const isHistory = (name) => name === 'history' || name.startsWith('history-');

/**
 * The stop order matters: schedulers first (they finish or hand off their calls and deliver
 * their spooled events while Kafka and the worker are still up), then the API, history and alerts,
 * then the worker, then the infra, and only if this script started it.
 */
async function stop(run, why) {
  run.stopping = true;
  say(`stopping (${why}) ...`);
  let clean = true;
  const phase = async (names, graceMs) => {
    // A child that exited earlier (and was perhaps started again under its name) needs no stop.
    const records = run.children.filter(
      (c) => names(c.name) && c.child.exitCode === null && c.child.signalCode === null,
    );
    const results = await Promise.all(records.map((record) => stopChild(record, graceMs)));
    if (results.length > 0) say(`stopped ${records.map((r) => r.name).join(', ')}`);
    clean &&= results.every(Boolean);
  };
  await phase((name) => name.startsWith('scheduler-'), 30_000);
  await phase((name) => name === 'api' || isHistory(name) || name === 'alerts', 35_000);
  await phase((name) => name === 'worker', 10_000);
  if (run.infraPending) run.infra ??= await run.infraPending.catch(() => undefined);
  if (run.infra?.startedByUs && run.infraModule) {
    try {
      await run.infraModule.down({
        log: (line) => say(`${paint(2, 'infra')} ${line}`),
        servers: run.infra.started,
      });
    } catch (error) {
      clean = false;
      say(paint(31, `could not stop the infra: ${error.message} (try \`npm run infra:down\`)`));
    }
  }
  if (run.lockHeld && run.config) fs.rmSync(run.config.lockFile, { force: true });
  return clean;
}

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    const header = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n\n')[0] ?? '';
    process.stdout.write(
      `${header
        .replace(/^#!.*\n/, '')
        .replace(/^\/\/ @ts-check\n/, '')
        .replace(/^\/\/ ?/gm, '')}\n`,
    );
    return 0;
  }
  /** @type {Run} */
  const run = {
    config: undefined,
    children: [],
    restarts: new Map(),
    urls: {},
    startedAt: new Date().toISOString(),
    stopping: false,
    nameWidth: 10,
  };
  let stopPromise;
  let firstSignalAt = 0;
  const requestStop = (why) => (stopPromise ??= stop(run, why));
  const onSignal = (signal) => {
    if (stopPromise === undefined) {
      firstSignalAt = Date.now();
      void requestStop(signal).then((clean) => process.exit(clean ? 0 : 1));
      return;
    }
    // A terminal closed during the stop (its hang-up follows the Ctrl-C): the stop goes on.
    if (signal === 'SIGHUP') return;
    // One Ctrl-C under `npm start` can arrive twice (from the terminal and forwarded by npm).
    if (Date.now() - firstSignalAt < 2_000) return;
    say(paint(31, `${signal} again: killing what is left`));
    for (const record of run.children) killGroup(record.pid);
    const infraDown =
      run.infra?.startedByUs && run.infraModule
        ? run.infraModule.down({ log: say, servers: run.infra.started, graceMs: 1_000 })
        : Promise.resolve();
    void infraDown
      .catch((error) => say(`could not stop the infra: ${error.message} (try \`npm run infra:down\`)`))
      .finally(() => {
        if (run.lockHeld && run.config) fs.rmSync(run.config.lockFile, { force: true });
        process.exit(1);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // A bug of this script must not leave the children running either: it stops them in order.
  process.on('uncaughtException', (error) => {
    say(paint(31, `internal error: ${error?.stack ?? String(error)}`));
    if (stopPromise === undefined) void requestStop('internal error').then(() => process.exit(1));
  });

  try {
    run.config = readConfig(process.env, process.argv.slice(2));
    await start(run);
  } catch (error) {
    // Interrupted by a signal: its handler is stopping what started and will exit.
    if (stopPromise !== undefined) return undefined;
    const message = error instanceof StartError ? error.message : (error?.stack ?? String(error));
    toConsole(process.stderr, `nono: ${message}\n`);
    toScriptLog(`${message}\n`);
    if (run.children.length > 0 || run.infra?.startedByUs) await requestStop('start failed');
    else if (run.lockHeld && run.config) fs.rmSync(run.config.lockFile, { force: true });
    return 1;
  }
  // Running: the signal handlers end the process.
  return undefined;
}

const code = await main();
if (code !== undefined) process.exit(code);
