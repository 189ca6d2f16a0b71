// @ts-check
// Starting, waiting for and stopping the servers (the single-node pair, or the HA ensemble and
// cluster), and the public operations built on them: ensureUp, down, status, classpath, runClass.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { config, haRequested, InfraError, isHaServerName, KINDS, secs, show, versions } from './config.mjs';
import { install, installed, installLocked, requireJava } from './install.mjs';
import { withLock } from './lock.mjs';
import { probe, zkSrvr } from './probes.mjs';
import {
  commandLine,
  pidAlive,
  portFree,
  readFrom,
  readText,
  removeFile,
  rssBytes,
  sleep,
  stopPid,
  tail,
} from './processes.mjs';
import {
  formatKafkaStorage,
  jvmArgs,
  markerArgs,
  runJava,
  writeKafkaConfig,
  writeToolsLog4j,
  writeToolsLogback,
  writeZooKeeperConfig,
} from './server-files.mjs';

export function isOurs(cfg, srv, pid) {
  if (!pidAlive(pid)) return false;
  const cmd = commandLine(pid);
  return markerArgs(cfg, srv).every((m) => cmd.includes(m));
}

export function readPidFile(srv) {
  const text = readText(srv.pidFile);
  if (text === null) return null;
  try {
    const j = JSON.parse(text);
    if (typeof j === 'number') return { pid: j };
    return j && typeof j === 'object' ? j : { pid: NaN };
  } catch {
    return { pid: Number.parseInt(text, 10) };
  }
}

/** { pid, ours } from the pid file, or null when there is none. */
export function pidState(cfg, srv) {
  const rec = readPidFile(srv);
  if (!rec) return null;
  const pid = Number(rec.pid);
  return { ...rec, pid, ours: isOurs(cfg, srv, pid) };
}

export function where(srv) {
  return srv.kind === 'kafka'
    ? `${srv.host}:${srv.port} (KRaft controller on ${srv.host}:${srv.controllerPort})`
    : `${srv.host}:${srv.port}`;
}

/** Every port a server listens on, with the variable that sets it. */
export function serverPorts(srv) {
  if (srv.kind === 'kafka')
    return [
      [srv.port, srv.portEnv],
      [srv.controllerPort, srv.controllerPortEnv ?? 'NONO_KAFKA_CONTROLLER_PORT'],
      ...(srv.authenticated?.saslPort === undefined
        ? []
        : [[srv.authenticated.saslPort, 'NONO_KAFKA_SASL_PORT']]),
      ...(srv.authenticated?.saslSslPort === undefined
        ? []
        : [[srv.authenticated.saslSslPort, 'NONO_KAFKA_SASL_SSL_PORT']]),
    ];
  if (srv.ensemble)
    return [
      [srv.port, srv.portEnv],
      [srv.quorumPort, srv.peerPortEnv],
      [srv.electionPort, srv.peerPortEnv],
    ];
  return [[srv.port, srv.portEnv]];
}

// Log lines after which a server will never answer although its JVM may stay alive
// (ZooKeeper's main thread can die while its worker threads keep the process up).
export const FATAL = {
  // "Last transaction was partial" is logged at ERROR while ZooKeeper recovers from a crash
  // (it truncates the torn record and carries on): not a failure to start.
  zookeeper:
    /^.*\b(?:ERROR \[main\](?! o\.a\.z\.server\.persistence\.Util - Last transaction was partial)|Unable to start|Unexpected exception, exiting abnormally).*$/m,
  kafka: /^.*\b(?:Exiting Kafka|Fatal error during|FATAL ).*$/m,
};

export function logSize(p) {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

/** The first fatal line written to the server's main log after byte `offset`, or null. */
export function fatalLogLine(srv, offset) {
  if (offset === undefined) return null;
  let text;
  try {
    const fd = fs.openSync(srv.mainLog, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= offset) return null;
      const len = Math.min(size - offset, 4 * 1024 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
  const m = text.match(FATAL[srv.kind]);
  return m ? m[0] : null;
}

/**
 * Polls the server until it answers; false when the deadline passed.
 * @param {any} srv
 * @param {number} pid
 * @param {{ deadline: number, log: (line: string) => void, startedAt: number,
 *   exited?: { value: { code: number | null, signal: NodeJS.Signals | null } | null } | undefined,
 *   logOffset?: number | undefined, stdoutOffset?: number | undefined }} options
 */
export async function waitReady(srv, pid, { deadline, exited, log, startedAt, logOffset, stdoutOffset }) {
  let toldWaiting = false;
  let last = { ok: false, detail: 'not tried' };
  for (;;) {
    if (exited?.value || !pidAlive(pid)) {
      const how = exited?.value ? exited.value.signal || `exit code ${exited.value.code}` : 'it is gone';
      // what the JVM printed itself (e.g. a missing class) is the most useful, else the server log
      const printed = stdoutOffset === undefined ? '' : readFrom(srv.stdoutLog, stdoutOffset).trim();
      const [file, lines] = printed
        ? [srv.stdoutLog, printed.split('\n').slice(-15).join('\n')]
        : [srv.mainLog, tail(srv.mainLog, 15)];
      throw new InfraError(
        `infra: ${srv.label} (pid ${pid}) stopped while starting (${how}); see ${show(file)}.` +
          (lines ? `\n--- last lines of ${show(file)} ---\n${lines}` : ''),
        { logPath: file },
      );
    }
    const fatal = fatalLogLine(srv, logOffset);
    if (fatal) {
      throw new InfraError(
        `infra: ${srv.label} (pid ${pid}) failed while starting: ${fatal.trim().slice(0, 300)}; see ${show(srv.mainLog)}.`,
        {
          logPath: srv.mainLog,
        },
      );
    }
    last = await probe(srv, 2000);
    if (last.ok) return last;
    if (Date.now() > deadline) return null;
    if (!toldWaiting && Date.now() - startedAt > 10_000) {
      toldWaiting = true;
      log(`${srv.name}: still waiting for ${where(srv)} to answer (log: ${show(srv.mainLog)})`);
    }
    await sleep(250);
  }
}

export async function portTakenError(srv, port, envName) {
  const other = port === srv.port ? await probe(srv, 1500) : { ok: false };
  const what = other.ok ? ` (it answers as ${srv.label})` : '';
  return new InfraError(
    `infra: ${srv.host}:${port} is already in use by a process nono-infra did not start${what}; stop it or choose another port with ${envName}.`,
  );
}

/**
 * @typedef {object} Launched what `awaitServer` needs of a server `launchServer` saw to
 * @property {any} srv
 * @property {number} pid
 * @property {boolean} started whether this call started it (else it was running, ours)
 * @property {number} [t0]
 * @property {{ value: { code: number | null, signal: NodeJS.Signals | null } | null }} [exited]
 * @property {number} [logOffset]
 * @property {number} [stdoutOffset]
 */

/**
 * Starts a server unless one of ours runs: writes its configuration, formats Kafka's storage,
 * spawns the JVM and records its pid. Does not wait for it to answer (an ensemble member
 * answers only once a majority of its peers runs).
 * @returns {Promise<Launched>}
 */
export async function launchServer(cfg, srv, java, log) {
  const st = pidState(cfg, srv);
  if (st && st.ours) return { srv, pid: st.pid, started: false };
  if (st) {
    removeFile(srv.pidFile);
    log(
      `${srv.name}: removed stale pid file ${show(srv.pidFile)} (pid ${st.pid} is not a running ${srv.label} of ours)`,
    );
  }

  for (const [port, envName] of serverPorts(srv)) {
    if (!(await portFree(port, srv.host))) throw await portTakenError(srv, port, envName);
  }

  const t0 = Date.now();
  for (const d of [srv.dataDir, srv.logsDir, srv.confDir]) fs.mkdirSync(d, { recursive: true });
  if (srv.kind === 'zookeeper') writeZooKeeperConfig(srv);
  else {
    writeKafkaConfig(srv);
    await formatKafkaStorage(cfg, srv, java, log);
  }

  const logOffset = logSize(srv.mainLog);
  const out = fs.openSync(srv.stdoutLog, 'a');
  const args = jvmArgs(cfg, srv);
  fs.writeSync(
    out,
    `\n===== ${new Date().toISOString()} nono-infra starting ${srv.label}\n===== ${java} ${args.join(' ')}\n`,
  );
  const stdoutOffset = fs.fstatSync(out).size;
  /** @type {{ value: { code: number | null, signal: NodeJS.Signals | null } | null }} */
  const exited = { value: null };
  let child;
  try {
    child = spawn(java, args, {
      cwd: srv.dir,
      detached: true,
      stdio: ['ignore', out, out],
      env: process.env,
    });
  } finally {
    fs.closeSync(out);
  }
  const spawnError = await new Promise((resolve) => {
    child.once('error', resolve);
    child.once('spawn', () => resolve(null));
  });
  if (spawnError)
    throw new InfraError(`infra: could not start ${java} (${spawnError.code || spawnError.message}).`, {
      exitCode: 2,
    });
  child.once('exit', (code, signal) => (exited.value = { code, signal }));
  child.unref();
  const pid = child.pid;
  // 'spawn' fired above, so the process exists and has a pid.
  if (pid === undefined) throw new InfraError(`infra: ${java} started without a pid.`);
  fs.writeFileSync(
    srv.pidFile,
    JSON.stringify({ pid, port: srv.port, startedAt: new Date().toISOString() }) + '\n',
  );
  return { srv, pid, started: true, t0, exited, logOffset, stdoutOffset };
}

/**
 * Waits until a server `launchServer` saw answers. One this call started and that fails or
 * does not answer in time is stopped again (never left half-started) before the error.
 * @param {Launched} launched
 * @param {(line: string) => void} log
 * @returns {Promise<{ started: boolean, pid: number }>}
 */
export async function awaitServer(launched, log) {
  const { srv, pid } = launched;
  if (!launched.started) {
    const p = await probe(srv, 3000);
    if (p.ok) {
      log(`${srv.name}: already running (pid ${pid}) on ${where(srv)}`);
      return { started: false, pid };
    }
    // ours, alive, not answering yet: maybe still starting (another command launched it)
    log(`${srv.name}: running (pid ${pid}) but not answering on ${where(srv)} yet (${p.detail}); waiting`);
    const t0 = Date.now();
    const ok = await waitReady(srv, pid, { deadline: t0 + srv.startTimeoutMs, log, startedAt: t0 });
    if (!ok) {
      throw new InfraError(
        `infra: ${srv.label} (pid ${pid}) runs but has not answered on ${srv.host}:${srv.port} for ${secs(srv.startTimeoutMs)}; see ${show(srv.mainLog)} (or run \`down\` then \`up\`).`,
        { logPath: srv.mainLog },
      );
    }
    log(`${srv.name}: ready (pid ${pid}) on ${where(srv)} after ${secs(Date.now() - t0)}`);
    return { started: false, pid };
  }
  const t0 = launched.t0 ?? Date.now();
  let ok;
  try {
    ok = await waitReady(srv, pid, {
      deadline: t0 + srv.startTimeoutMs,
      exited: launched.exited,
      log,
      startedAt: t0,
      logOffset: launched.logOffset,
      stdoutOffset: launched.stdoutOffset,
    });
  } catch (e) {
    // never leave a half-started server behind
    await stopPid(pid, 10_000);
    removeFile(srv.pidFile);
    throw e;
  }
  if (!ok) {
    await stopPid(pid, 10_000);
    removeFile(srv.pidFile);
    throw new InfraError(
      `infra: ${srv.label} did not answer on ${srv.host}:${srv.port} within ${secs(srv.startTimeoutMs)} (stopped it again); see ${show(srv.mainLog)} and ${show(srv.stdoutLog)}.`,
      { logPath: srv.mainLog },
    );
  }
  log(`${srv.name}: started (pid ${pid}) on ${where(srv)} in ${secs(Date.now() - t0)}`);
  return { started: true, pid };
}

export async function ensureServer(cfg, srv, java, log) {
  return awaitServer(await launchServer(cfg, srv, java, log), log);
}

/**
 * The servers started together, in order: one at a time for the single-node infra; for the HA
 * infra all three of a kind are launched before any is waited for, since a ZooKeeper ensemble
 * and a KRaft controller quorum answer only once a majority runs.
 * @returns {string[][]}
 */
export function startGroups(cfg) {
  if (!cfg.ha) return cfg.serverNames.map((name) => [name]);
  return KINDS.map((kind) => cfg.serverNames.filter((name) => cfg.servers[name].kind === kind));
}

/** Launches a group, then waits for each member; names this call started go to `started`. */
async function ensureGroup(cfg, names, java, log, started) {
  /** @type {Launched[]} */
  const launched = [];
  try {
    for (const name of names) launched.push(await launchServer(cfg, cfg.servers[name], java, log));
    for (const one of launched) {
      const r = await awaitServer(one, log);
      if (r.started) started.push(one.srv.name);
    }
  } catch (e) {
    // the group's other members this call launched but has not seen answer: stopped as well
    for (const one of launched) {
      if (!one.started || started.includes(one.srv.name)) continue;
      await stopPid(one.pid, 10_000);
      removeFile(one.srv.pidFile);
    }
    throw e;
  }
}

/**
 * Make sure ZooKeeper and Kafka run and answer; start whatever is missing. With `ha` (or
 * NONO_INFRA_HA=1) the HA infra: a 3-server ZooKeeper ensemble and a 3-node Kafka cluster, whose
 * `zkConnect` and `kafkaBrokers` name all three servers, comma-separated.
 * @param {{log?: (line: string) => void, ha?: boolean | undefined, env?: NodeJS.ProcessEnv}} [opts]
 * @returns {Promise<{zkConnect: string, kafkaBrokers: string, startedByUs: boolean, started: string[], ha: boolean, runDir: string}>}
 */
export async function ensureUp({ log = console.log, ha, env = process.env } = {}) {
  const cfg = config(env, { ha });
  const java = requireJava();
  return withLock(cfg, async () => {
    await installLocked(cfg, { log, force: false });
    // pre-flight: a taken port fails the call before anything is started
    for (const name of cfg.serverNames) {
      const srv = cfg.servers[name];
      const st = pidState(cfg, srv);
      if (st && st.ours) continue;
      for (const [port, envName] of serverPorts(srv)) {
        if (!(await portFree(port, srv.host))) throw await portTakenError(srv, port, envName);
      }
    }
    /** @type {string[]} */
    const started = [];
    try {
      for (const group of startGroups(cfg)) await ensureGroup(cfg, group, java, log, started);
    } catch (e) {
      // all or nothing: stop what this call started before reporting the failure
      for (const name of [...started].reverse()) {
        const srv = cfg.servers[name];
        const st = pidState(cfg, srv);
        if (st && st.ours) await stopPid(st.pid);
        removeFile(srv.pidFile);
        log(
          `${name}: stopped again (pid ${st ? st.pid : '?'}) because the infra could not be brought up completely`,
        );
      }
      throw e;
    }
    return {
      zkConnect: cfg.zkConnect,
      kafkaBrokers: cfg.kafkaBrokers,
      startedByUs: started.length > 0,
      started,
      ha: cfg.ha,
      runDir: cfg.runDir,
    };
  });
}

/**
 * Stop the servers recorded in the pid files (Kafka first, then ZooKeeper). The HA infra when
 * `ha` says so, NONO_INFRA_HA=1, or `servers` names its servers (`kafka-1`, as `ensureUp`'s
 * `started` lists them); its three servers of a kind are stopped together.
 * @param {{log?: (line: string) => void, servers?: string[] | undefined, graceMs?: number, ha?: boolean | undefined, env?: NodeJS.ProcessEnv}} [opts]
 * @returns {Promise<{stopped: string[]}>}
 */
export async function down({ log = console.log, servers, graceMs = 15_000, ha, env = process.env } = {}) {
  const cfg = config(env, { ha: ha ?? (servers?.some(isHaServerName) || haRequested(env)) });
  const wanted = servers ?? cfg.serverNames;
  return withLock(cfg, async () => {
    /** @type {string[]} */
    const stopped = [];
    const stopOne = async (name) => {
      const srv = cfg.servers[name];
      const st = pidState(cfg, srv);
      if (!st) {
        log(`${name}: not running`);
        return;
      }
      if (!st.ours) {
        removeFile(srv.pidFile);
        log(`${name}: not running (removed stale pid file for pid ${st.pid})`);
        return;
      }
      const t0 = Date.now();
      const how = await stopPid(st.pid, graceMs);
      removeFile(srv.pidFile);
      stopped.push(name);
      if (how === 'kill')
        log(`${name}: killed (pid ${st.pid}) with SIGKILL after ${secs(graceMs)} without exiting on SIGTERM`);
      else log(`${name}: stopped (pid ${st.pid}) in ${secs(Date.now() - t0)}`);
    };
    for (const group of [...startGroups(cfg)].reverse()) {
      await Promise.all(group.filter((name) => wanted.includes(name)).map(stopOne));
    }
    return { stopped };
  });
}

/**
 * Per server: { name, running, pid, host, port, answering, detail, rssBytes, logPath, portInUse }
 * (ZooKeeper's also `mode`: standalone, leader or follower). Never throws for a stopped server;
 * never starts anything.
 * @param {{ ha?: boolean | undefined, env?: NodeJS.ProcessEnv }} [opts]
 */
export async function status({ ha, env = process.env } = {}) {
  const cfg = config(env, { ha });
  const out = {};
  for (const name of cfg.serverNames) {
    const srv = cfg.servers[name];
    const st = pidState(cfg, srv);
    const base = { name, host: srv.host, port: srv.port, logPath: srv.mainLog };
    if (srv.kind === 'kafka') base.controllerPort = srv.controllerPort;
    if (st && st.ours) {
      const p = await probe(srv, 3000);
      let extra = '';
      let mode;
      if (srv.kind === 'zookeeper' && p.ok) {
        const s = await zkSrvr(srv.host, srv.port);
        const m = s && s.match(/^Mode: (\S+)/m);
        const ver = s && s.match(/^Zookeeper version: ([^-,\s]+)/m);
        if (m || ver) extra = [ver && `ZooKeeper ${ver[1]}`, m && m[1]].filter(Boolean).join(', ');
        mode = m ? m[1] : undefined;
      }
      out[name] = {
        ...base,
        running: true,
        pid: st.pid,
        answering: p.ok,
        ...(mode === undefined ? {} : { mode }),
        detail: extra ? `${extra}; ${p.detail}` : p.detail,
        rssBytes: rssBytes(st.pid),
      };
    } else {
      const inUse = [];
      for (const [port] of serverPorts(srv)) if (!(await portFree(port, srv.host))) inUse.push(port);
      out[name] = {
        ...base,
        running: false,
        pid: st ? st.pid : null,
        stalePidFile: !!st,
        answering: false,
        portInUse: inUse,
      };
    }
  }
  return {
    ha: cfg.ha,
    servers: out,
    installed: installed(cfg),
    versions: versions(),
    runDir: cfg.runDir,
    cacheDir: cfg.cacheDir,
  };
}

/** Human-readable lines for status(). */
export function formatStatus(s) {
  const lines = [];
  for (const [name, x] of Object.entries(s.servers)) {
    const addr =
      x.controllerPort !== undefined
        ? `${x.host}:${x.port} (controller ${x.host}:${x.controllerPort})`
        : `${x.host}:${x.port}`;
    if (x.running) {
      const rss = x.rssBytes ? `, rss ${Math.round(x.rssBytes / 1048576)} MiB` : '';
      lines.push(
        `${name}: running (pid ${x.pid}) on ${addr}, answering: ${x.answering ? 'yes' : 'no'} (${x.detail})${rss}; log ${show(x.logPath)}`,
      );
    } else {
      let line = `${name}: not running`;
      if (x.stalePidFile) line += ` (stale pid file for pid ${x.pid})`;
      if (x.portInUse.length) line += `; port ${x.portInUse.join(' and ')} in use by another process`;
      lines.push(line);
    }
  }
  const v = s.versions;
  lines.push(
    `jars: ZooKeeper ${v.zookeeper}, Kafka ${v.kafka} ${s.installed ? `installed in ${show(s.cacheDir)}` : 'not installed yet (run install)'}`,
  );
  return lines;
}

/** The classpath (lib/* wildcard) of one kind of server's jars. */
export function classpath(name) {
  const cfg = config();
  if (!KINDS.includes(name))
    throw new InfraError(`infra: unknown server ${JSON.stringify(name)} (zookeeper or kafka).`, {
      exitCode: 2,
    });
  return path.join(cfg.libDirs[name], '*');
}

/**
 * Run a Java main class with one server's classpath (e.g. org.apache.kafka.tools.TopicCommand),
 * stdio inherited. Installs the jars first if needed. Resolves the exit code.
 */
export async function runClass(
  name,
  mainClass,
  args = [],
  /** @type {{ log?: (line: string) => void, ha?: boolean | undefined }} */
  { log = (l) => process.stderr.write(l + '\n'), ha } = {},
) {
  const cfg = config(process.env, { ha });
  const java = requireJava();
  await install({ log });
  // the tools' logging configuration goes next to the (first) server of that kind
  const srv = cfg.servers[name] ?? cfg.servers[`${name}-1`];
  if (!srv)
    throw new InfraError(`infra: unknown server ${JSON.stringify(name)} (zookeeper or kafka).`, {
      exitCode: 2,
    });
  const jvm = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];
  if (name === 'kafka') jvm.push(`-Dlog4j.configuration=file:${writeToolsLog4j(srv)}`);
  else jvm.push(`-Dlogback.configurationFile=${writeToolsLogback(srv)}`);
  const r = await runJava(java, [...jvm, '-cp', classpath(name), mainClass, ...args]);
  return r.code ?? 128 + (r.signal ? os.constants.signals[r.signal] : 0);
}
