// @ts-check
// Starting, waiting for and stopping the two servers, and the public operations built on them:
// ensureUp, down, status, classpath, runClass.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { config, InfraError, secs, SERVER_NAMES, show, versions } from './config.mjs';
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
  return srv.name === 'kafka'
    ? `${srv.host}:${srv.port} (KRaft controller on ${srv.host}:${srv.controllerPort})`
    : `${srv.host}:${srv.port}`;
}

export function serverPorts(srv) {
  return srv.name === 'kafka'
    ? [
        [srv.port, 'NONO_KAFKA_PORT'],
        [srv.controllerPort, 'NONO_KAFKA_CONTROLLER_PORT'],
      ]
    : [[srv.port, 'NONO_ZK_PORT']];
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
  const m = text.match(FATAL[srv.name]);
  return m ? m[0] : null;
}

/**
 * Polls the server until it answers; false when the deadline passed.
 * @param {any} srv
 * @param {number} pid
 * @param {{ deadline: number, log: (line: string) => void, startedAt: number,
 *   exited?: { value: { code: number | null, signal: NodeJS.Signals | null } | null },
 *   logOffset?: number, stdoutOffset?: number }} options
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

export async function ensureServer(cfg, srv, java, log) {
  const st = pidState(cfg, srv);
  if (st && st.ours) {
    const p = await probe(srv, 3000);
    if (p.ok) {
      log(`${srv.name}: already running (pid ${st.pid}) on ${where(srv)}`);
      return { started: false, pid: st.pid };
    }
    // ours, alive, not answering yet: maybe still starting (another command launched it)
    log(`${srv.name}: running (pid ${st.pid}) but not answering on ${where(srv)} yet (${p.detail}); waiting`);
    const t0 = Date.now();
    const ok = await waitReady(srv, st.pid, { deadline: t0 + srv.startTimeoutMs, log, startedAt: t0 });
    if (!ok) {
      throw new InfraError(
        `infra: ${srv.label} (pid ${st.pid}) runs but has not answered on ${srv.host}:${srv.port} for ${secs(srv.startTimeoutMs)}; see ${show(srv.mainLog)} (or run \`down\` then \`up\`).`,
        { logPath: srv.mainLog },
      );
    }
    log(`${srv.name}: ready (pid ${st.pid}) on ${where(srv)} after ${secs(Date.now() - t0)}`);
    return { started: false, pid: st.pid };
  }
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
  if (srv.name === 'zookeeper') writeZooKeeperConfig(srv);
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

  let ok;
  try {
    ok = await waitReady(srv, pid, {
      deadline: t0 + srv.startTimeoutMs,
      exited,
      log,
      startedAt: t0,
      logOffset,
      stdoutOffset,
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

/**
 * Make sure ZooKeeper and Kafka run and answer; start whatever is missing.
 * @param {{log?: (line: string) => void}} [opts]
 * @returns {Promise<{zkConnect: string, kafkaBrokers: string, startedByUs: boolean, started: string[]}>}
 */
export async function ensureUp({ log = console.log } = {}) {
  const cfg = config();
  const java = requireJava();
  return withLock(cfg, async () => {
    await installLocked(cfg, { log, force: false });
    // pre-flight: a taken port fails the call before anything is started
    for (const name of SERVER_NAMES) {
      const srv = cfg.servers[name];
      const st = pidState(cfg, srv);
      if (st && st.ours) continue;
      for (const [port, envName] of serverPorts(srv)) {
        if (!(await portFree(port, srv.host))) throw await portTakenError(srv, port, envName);
      }
    }
    const started = [];
    try {
      for (const name of SERVER_NAMES) {
        const r = await ensureServer(cfg, cfg.servers[name], java, log);
        if (r.started) started.push(name);
      }
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
    };
  });
}

/**
 * Stop the servers recorded in the pid files (Kafka first, then ZooKeeper).
 * @param {{log?: (line: string) => void, servers?: string[], graceMs?: number}} [opts]
 * @returns {Promise<{stopped: string[]}>}
 */
export async function down({ log = console.log, servers = SERVER_NAMES, graceMs = 15_000 } = {}) {
  const cfg = config();
  return withLock(cfg, async () => {
    const stopped = [];
    for (const name of [...SERVER_NAMES].reverse()) {
      if (!servers.includes(name)) continue;
      const srv = cfg.servers[name];
      const st = pidState(cfg, srv);
      if (!st) {
        log(`${name}: not running`);
        continue;
      }
      if (!st.ours) {
        removeFile(srv.pidFile);
        log(`${name}: not running (removed stale pid file for pid ${st.pid})`);
        continue;
      }
      const t0 = Date.now();
      const how = await stopPid(st.pid, graceMs);
      removeFile(srv.pidFile);
      stopped.push(name);
      if (how === 'kill')
        log(`${name}: killed (pid ${st.pid}) with SIGKILL after ${secs(graceMs)} without exiting on SIGTERM`);
      else log(`${name}: stopped (pid ${st.pid}) in ${secs(Date.now() - t0)}`);
    }
    return { stopped };
  });
}

/**
 * Per server: { name, running, pid, host, port, answering, detail, rssBytes, logPath, portInUse }.
 * Never throws for a stopped server; never starts anything.
 */
export async function status() {
  const cfg = config();
  const out = {};
  for (const name of SERVER_NAMES) {
    const srv = cfg.servers[name];
    const st = pidState(cfg, srv);
    const base = { name, host: srv.host, port: srv.port, logPath: srv.mainLog };
    if (name === 'kafka') base.controllerPort = srv.controllerPort;
    if (st && st.ours) {
      const p = await probe(srv, 3000);
      let extra = '';
      if (name === 'zookeeper' && p.ok) {
        const s = await zkSrvr(srv.host, srv.port);
        const mode = s && s.match(/^Mode: (\S+)/m);
        const ver = s && s.match(/^Zookeeper version: ([^-,\s]+)/m);
        if (mode || ver) extra = [ver && `ZooKeeper ${ver[1]}`, mode && mode[1]].filter(Boolean).join(', ');
      }
      out[name] = {
        ...base,
        running: true,
        pid: st.pid,
        answering: p.ok,
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
  for (const name of SERVER_NAMES) {
    const x = s.servers[name];
    const addr =
      name === 'kafka'
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

/** The classpath (lib/* wildcard) of one server's jars. */
export function classpath(name) {
  const cfg = config();
  if (!cfg.servers[name])
    throw new InfraError(`infra: unknown server ${JSON.stringify(name)} (zookeeper or kafka).`, {
      exitCode: 2,
    });
  return path.join(cfg.servers[name].libDir, '*');
}

/**
 * Run a Java main class with one server's classpath (e.g. org.apache.kafka.tools.TopicCommand),
 * stdio inherited. Installs the jars first if needed. Resolves the exit code.
 */
export async function runClass(
  name,
  mainClass,
  args = [],
  { log = (l) => process.stderr.write(l + '\n') } = {},
) {
  const cfg = config();
  const java = requireJava();
  await install({ log });
  const srv = cfg.servers[name];
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
