// nono infra: install and run a real Apache ZooKeeper 3.9 and a real Apache Kafka 3.9
// (single-node KRaft, combined broker+controller) from Maven Central jars.
//
// Plain Node ESM, built-ins only: it runs before (or without) `npm ci`.
// Used by infra/bin/nono-infra.mjs and importable from test harnesses:
//
//   import { ensureUp, down, status } from '../infra/lib/infra.mjs';
//   const { zkConnect, kafkaBrokers, startedByUs, started } = await ensureUp({ log: console.log });
//   ...
//   if (startedByUs) await down({ servers: started });
//
// Every failure the user can act on is an InfraError: one sentence, an exit code
// (2 = a prerequisite is missing: java, mvn, the registry), and often a log path.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The infra/ folder (this file is infra/lib/infra.mjs). */
export const INFRA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const HOST = '127.0.0.1';
const SERVER_NAMES = ['zookeeper', 'kafka']; // start order; stop order is the reverse
const MIN_JAVA = 17;

export class InfraError extends Error {
  /**
   * @param {string} message one sentence for the user
   * @param {{exitCode?: number, logPath?: string}} [opts]
   */
  constructor(message, { exitCode = 1, logPath } = {}) {
    super(message);
    this.name = 'InfraError';
    this.exitCode = exitCode;
    this.logPath = logPath;
  }
}

// ---------------------------------------------------------------------------
// configuration

function envPort(env, name, dflt) {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new InfraError(`infra: ${name}=${JSON.stringify(raw)} is not a TCP port number (1-65535).`, {
      exitCode: 2,
    });
  }
  return n;
}

function envMs(env, name, dflt) {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new InfraError(`infra: ${name}=${JSON.stringify(raw)} is not a positive number of milliseconds.`, {
      exitCode: 2,
    });
  }
  return n;
}

/**
 * Resolved settings, from the environment:
 *   NONO_ZK_PORT (2181), NONO_KAFKA_PORT (9092), NONO_KAFKA_CONTROLLER_PORT (9093),
 *   NONO_INFRA_DIR (infra/.run), NONO_INFRA_CACHE_DIR (infra/.cache),
 *   NONO_INFRA_START_TIMEOUT_MS (per server; 60000 for ZooKeeper, 120000 for Kafka).
 */
export function config(env = process.env) {
  const zkPort = envPort(env, 'NONO_ZK_PORT', 2181);
  const kafkaPort = envPort(env, 'NONO_KAFKA_PORT', 9092);
  const controllerPort = envPort(env, 'NONO_KAFKA_CONTROLLER_PORT', 9093);
  const ports = [zkPort, kafkaPort, controllerPort];
  if (new Set(ports).size !== ports.length) {
    throw new InfraError(
      `infra: NONO_ZK_PORT (${zkPort}), NONO_KAFKA_PORT (${kafkaPort}) and NONO_KAFKA_CONTROLLER_PORT (${controllerPort}) must be three different ports.`,
      { exitCode: 2 },
    );
  }
  const runDir = path.resolve(env.NONO_INFRA_DIR || path.join(INFRA_DIR, '.run'));
  const cacheDir = path.resolve(env.NONO_INFRA_CACHE_DIR || path.join(INFRA_DIR, '.cache'));
  const timeout = env.NONO_INFRA_START_TIMEOUT_MS ? envMs(env, 'NONO_INFRA_START_TIMEOUT_MS', 0) : undefined;
  const server = (name, port, extra) => {
    const dir = path.join(runDir, name);
    return {
      name,
      host: HOST,
      port,
      dir,
      dataDir: path.join(dir, 'data'),
      logsDir: path.join(dir, 'logs'),
      confDir: path.join(dir, 'conf'),
      stdoutLog: path.join(dir, 'logs', 'stdout.log'),
      pidFile: path.join(runDir, `${name}.pid`),
      libDir: path.join(cacheDir, name, 'lib'),
      ...extra,
    };
  };
  return {
    host: HOST,
    runDir,
    cacheDir,
    mavenLog: path.join(runDir, 'maven-install.log'),
    lockDir: path.join(runDir, '.lock'),
    zkConnect: `${HOST}:${zkPort}`,
    kafkaBrokers: `${HOST}:${kafkaPort}`,
    servers: {
      zookeeper: server('zookeeper', zkPort, {
        label: 'ZooKeeper',
        portEnv: 'NONO_ZK_PORT',
        mainLog: path.join(runDir, 'zookeeper', 'logs', 'zookeeper.log'),
        startTimeoutMs: timeout ?? 60_000,
      }),
      kafka: server('kafka', kafkaPort, {
        label: 'Kafka',
        portEnv: 'NONO_KAFKA_PORT',
        controllerPort,
        mainLog: path.join(runDir, 'kafka', 'logs', 'server.log'),
        startTimeoutMs: timeout ?? 120_000,
      }),
    },
  };
}

/** Versions pinned in infra/pom.xml (the single source of truth). */
export function versions() {
  const pom = fs.readFileSync(path.join(INFRA_DIR, 'pom.xml'), 'utf8');
  const get = (prop) => {
    const m = pom.match(new RegExp(`<${prop.replace(/\./g, '\\.')}>\\s*([^<\\s]+)\\s*</`));
    if (!m)
      throw new InfraError(`infra: ${prop} is missing from ${show(path.join(INFRA_DIR, 'pom.xml'))}.`, {
        exitCode: 2,
      });
    return m[1];
  };
  return { zookeeper: get('zookeeper.version'), kafka: get('kafka.version') };
}

// ---------------------------------------------------------------------------
// small helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A path for messages: relative to the cwd when it is inside it. */
export function show(p) {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;

function which(cmd, env = process.env) {
  for (const dir of (env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

function readText(p) {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

function readFrom(p, offset) {
  try {
    const buf = fs.readFileSync(p);
    return buf.subarray(Math.min(offset, buf.length)).toString('utf8');
  } catch {
    return '';
  }
}

function tail(p, lines = 20) {
  const text = readText(p);
  if (!text) return '';
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Java properties values: only backslashes need escaping for our paths. */
const prop = (v) => String(v).replace(/\\/g, '\\\\');
const xml = (v) =>
  String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function pidAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return false;
  }
  // a zombie (exited, not yet reaped) counts as dead
  const stat = readText(`/proc/${pid}/stat`);
  if (stat) {
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  }
  return true;
}

function commandLine(pid) {
  const raw = readText(`/proc/${pid}/cmdline`);
  if (raw !== null) return raw.split('\0').join(' ');
  const r = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

/** Resident memory of a process in bytes (Linux only; null elsewhere). */
function rssBytes(pid) {
  const st = readText(`/proc/${pid}/status`);
  const m = st && st.match(/^VmRSS:\s+(\d+)\s+kB/m);
  return m ? Number(m[1]) * 1024 : null;
}

// Marker options on every JVM we start: they tell our processes from anyone else's
// (and from another checkout's, via the run dir), e.g. after a pid was reused.
const markerArgs = (cfg, srv) => [`-Dnono.infra.server=${srv.name}`, `-Dnono.infra.runDir=${cfg.runDir}`];

function isOurs(cfg, srv, pid) {
  if (!pidAlive(pid)) return false;
  const cmd = commandLine(pid);
  return markerArgs(cfg, srv).every((m) => cmd.includes(m));
}

function readPidFile(srv) {
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
function pidState(cfg, srv) {
  const rec = readPidFile(srv);
  if (!rec) return null;
  const pid = Number(rec.pid);
  return { ...rec, pid, ours: isOurs(cfg, srv, pid) };
}

function removeFile(p) {
  try {
    fs.rmSync(p, { force: true });
  } catch {
    /* ignore */
  }
}

/** True when nothing listens on host:port (we can bind it ourselves). */
function portFree(host, port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------
// locking: one nono-infra command at a time per run dir (up/down/install)

let lockDepth = 0;

async function withLock(cfg, fn) {
  if (lockDepth > 0) {
    lockDepth++;
    try {
      return await fn();
    } finally {
      lockDepth--;
    }
  }
  fs.mkdirSync(cfg.runDir, { recursive: true });
  const owner = path.join(cfg.lockDir, 'owner');
  const deadline = Date.now() + 5 * 60_000;
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(cfg.lockDir);
      fs.writeFileSync(owner, String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    const holder = Number.parseInt(readText(owner) ?? '', 10);
    let stale = false;
    if (Number.isInteger(holder)) stale = !pidAlive(holder);
    else {
      try {
        stale = Date.now() - fs.statSync(cfg.lockDir).mtimeMs > 10_000; // owner never written
      } catch {
        stale = false; // vanished: retry
      }
    }
    if (stale) {
      fs.rmSync(cfg.lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new InfraError(
        `infra: another nono-infra command (pid ${holder}) has held ${show(cfg.lockDir)} for 5 minutes; wait for it or remove that directory.`,
      );
    }
    if (!told) {
      told = true;
      process.stderr.write(`infra: waiting for another nono-infra command (pid ${holder}) to finish\n`);
    }
    await sleep(250);
  }
  lockDepth++;
  try {
    return await fn();
  } finally {
    lockDepth--;
    fs.rmSync(cfg.lockDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// prerequisites

function javaCommand(env = process.env) {
  if (env.JAVA_HOME) {
    const p = path.join(env.JAVA_HOME, 'bin', 'java');
    if (fs.existsSync(p)) return p;
  }
  return which('java', env);
}

/** Path of a Java 17+ `java`, or an InfraError (exit code 2). */
export function requireJava(env = process.env) {
  const java = javaCommand(env);
  if (!java) {
    throw new InfraError(
      `infra: Java ${MIN_JAVA}+ is required to run ZooKeeper and Kafka but \`java\` was not found on PATH; install openjdk-17-jre-headless.`,
      { exitCode: 2 },
    );
  }
  const r = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 30_000 });
  const out = `${r.stderr || ''}${r.stdout || ''}`;
  const m = out.match(/version "(\d+)(?:\.(\d+))?/);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : NaN;
  if (r.error || !(major >= MIN_JAVA)) {
    const what = r.error
      ? `could not be run (${r.error.code || r.error.message})`
      : `is version ${m ? m[0].slice(9) : 'unknown'}`;
    throw new InfraError(
      `infra: Java ${MIN_JAVA}+ is required to run ZooKeeper and Kafka but ${java} ${what}; install openjdk-17-jre-headless or point JAVA_HOME at a JDK ${MIN_JAVA}+.`,
      { exitCode: 2 },
    );
  }
  return java;
}

function requireMaven(env = process.env) {
  const mvn = which('mvn', env);
  if (!mvn) {
    throw new InfraError(
      'infra: Maven is required to download the ZooKeeper and Kafka jars but `mvn` was not found on PATH; install maven (e.g. apt-get install maven).',
      { exitCode: 2 },
    );
  }
  return mvn;
}

// ---------------------------------------------------------------------------
// install: resolve the jars with Maven into <cache>/{zookeeper,kafka}/lib

function pomFiles() {
  return [
    path.join(INFRA_DIR, 'pom.xml'),
    path.join(INFRA_DIR, 'maven', 'zookeeper', 'pom.xml'),
    path.join(INFRA_DIR, 'maven', 'kafka', 'pom.xml'),
  ];
}

function pomHash() {
  const h = crypto.createHash('sha256');
  for (const f of pomFiles()) h.update(fs.readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

function markerPath(cfg) {
  return path.join(cfg.cacheDir, 'installed.json');
}

function mainJar(cfg, name, v) {
  return name === 'zookeeper'
    ? path.join(cfg.servers.zookeeper.libDir, `zookeeper-${v.zookeeper}.jar`)
    : path.join(cfg.servers.kafka.libDir, `kafka_2.13-${v.kafka}.jar`);
}

/** The install marker when the cache matches the poms, else null. */
export function installed(cfg = config()) {
  let marker;
  try {
    marker = JSON.parse(fs.readFileSync(markerPath(cfg), 'utf8'));
  } catch {
    return null;
  }
  const v = versions();
  if (marker.zookeeper !== v.zookeeper || marker.kafka !== v.kafka || marker.pomHash !== pomHash())
    return null;
  if (!SERVER_NAMES.every((n) => fs.existsSync(mainJar(cfg, n, v)))) return null;
  return marker;
}

const MAVEN_NETWORK =
  /Could not transfer|Could not resolve|Could not find artifact|Failed to read artifact descriptor|Non-resolvable|UnknownHost|Unknown host|Connection refused|Connect(ion)? timed out|Network is unreachable|No route to host|Temporary failure in name resolution|PKIX path|Plugin .* could not be resolved|No plugin found for prefix/i;

/** Resolve the jars unless the cache already matches the poms. */
export async function install({ log = console.log, force = false } = {}) {
  const cfg = config();
  return withLock(cfg, () => installLocked(cfg, { log, force }));
}

async function installLocked(cfg, { log, force }) {
  const v = versions();
  if (!force) {
    const m = installed(cfg);
    if (m) return { skipped: true, ...v, cacheDir: cfg.cacheDir };
  }
  requireJava();
  const mvn = requireMaven();
  fs.mkdirSync(cfg.runDir, { recursive: true });
  removeFile(markerPath(cfg));
  for (const n of SERVER_NAMES)
    fs.rmSync(path.dirname(cfg.servers[n].libDir), { recursive: true, force: true });
  fs.mkdirSync(cfg.cacheDir, { recursive: true });

  const args = [
    '-B',
    '-q',
    '-f',
    path.join(INFRA_DIR, 'pom.xml'),
    'org.apache.maven.plugins:maven-dependency-plugin:copy-dependencies',
    `-Dnono.cacheDir=${cfg.cacheDir}`,
  ];
  log(
    `install: resolving ZooKeeper ${v.zookeeper} and Kafka ${v.kafka} jars with Maven (log: ${show(cfg.mavenLog)})`,
  );
  const t0 = Date.now();
  fs.writeFileSync(
    cfg.mavenLog,
    `# ${new Date().toISOString()} cwd=${INFRA_DIR}\n# ${mvn} ${args.join(' ')}\n`,
  );
  const fd = fs.openSync(cfg.mavenLog, 'a');
  let result;
  try {
    result = await new Promise((resolve) => {
      const child = spawn(mvn, args, { cwd: INFRA_DIR, stdio: ['ignore', fd, fd], env: process.env });
      child.once('error', (error) => resolve({ error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  } finally {
    fs.closeSync(fd);
  }
  if (result.error) {
    throw new InfraError(
      `infra: could not run ${mvn} (${result.error.code || result.error.message}); see ${show(cfg.mavenLog)}.`,
      {
        exitCode: 2,
        logPath: cfg.mavenLog,
      },
    );
  }
  if (result.code !== 0) {
    const text = readText(cfg.mavenLog) || '';
    const msg = MAVEN_NETWORK.test(text)
      ? `infra: Maven could not download the ZooKeeper ${v.zookeeper} / Kafka ${v.kafka} jars from Maven Central (no network or registry access?); see ${show(cfg.mavenLog)}.`
      : `infra: Maven failed (${result.signal || `exit ${result.code}`}) while resolving the ZooKeeper and Kafka jars; see ${show(cfg.mavenLog)}.`;
    throw new InfraError(msg, { exitCode: 2, logPath: cfg.mavenLog });
  }
  for (const n of SERVER_NAMES) {
    if (!fs.existsSync(mainJar(cfg, n, v))) {
      throw new InfraError(
        `infra: Maven finished but ${show(mainJar(cfg, n, v))} is missing; see ${show(cfg.mavenLog)}.`,
        {
          exitCode: 2,
          logPath: cfg.mavenLog,
        },
      );
    }
  }
  const marker = { ...v, pomHash: pomHash(), installedAt: new Date().toISOString() };
  fs.writeFileSync(markerPath(cfg), JSON.stringify(marker, null, 2) + '\n');
  log(
    `install: ZooKeeper ${v.zookeeper} and Kafka ${v.kafka} jars resolved into ${show(cfg.cacheDir)} in ${secs(Date.now() - t0)}`,
  );
  return { skipped: false, ...v, cacheDir: cfg.cacheDir };
}

// ---------------------------------------------------------------------------
// wire-protocol probes (real client requests, no 4-letter words needed)

/**
 * Send `payload` to host:port and feed the bytes received to `parse` until it
 * returns something other than undefined. Rejects on error, close or timeout.
 */
function exchange(host, port, payload, parse, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const sock = net.connect({ host, port });
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    sock.once('connect', () => sock.write(payload));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const v = parse(buf);
        if (v !== undefined) finish(null, v);
      } catch (e) {
        finish(e);
      }
    });
    sock.once('error', (e) => finish(e));
    sock.once('close', () => finish(new Error('connection closed before a complete answer')));
  });
}

/** One length-prefixed frame (int32 size + body), or undefined while incomplete. */
function frame(buf) {
  if (buf.length < 4) return undefined;
  const size = buf.readInt32BE(0);
  if (size < 0 || size > 64 * 1024 * 1024) throw new Error(`bad frame size ${size}`);
  return buf.length >= 4 + size ? buf.subarray(4, 4 + size) : undefined;
}

/**
 * ZooKeeper: open a real session (ConnectRequest) and close it again.
 * Resolves { sessionId, timeoutMs } when the server accepted the session.
 */
export async function probeZooKeeper(host, port, timeoutMs = 3000) {
  // ConnectRequest: protocolVersion int, lastZxidSeen long, timeOut int, sessionId long, passwd buffer, readOnly bool
  const body = Buffer.alloc(4 + 8 + 4 + 8 + 4 + 16 + 1);
  let o = 0;
  o = body.writeInt32BE(0, o);
  o = body.writeBigInt64BE(0n, o);
  o = body.writeInt32BE(10_000, o);
  o = body.writeBigInt64BE(0n, o);
  o = body.writeInt32BE(16, o);
  o += 16; // zero password
  body.writeInt8(0, o);
  const connect = Buffer.concat([u32(body.length), body]);
  // CloseSession: RequestHeader(xid=1, type=-11), sent right after the ConnectRequest
  const close = Buffer.alloc(12);
  close.writeInt32BE(8, 0);
  close.writeInt32BE(1, 4);
  close.writeInt32BE(-11, 8);
  return exchange(
    host,
    port,
    Buffer.concat([connect, close]),
    (buf) => {
      const f = frame(buf);
      if (!f) return undefined;
      if (f.length < 16) throw new Error('short ConnectResponse');
      const negotiated = f.readInt32BE(4);
      const sessionId = f.readBigInt64BE(8);
      if (negotiated <= 0 || sessionId === 0n)
        throw new Error('ZooKeeper refused the session (is it serving?)');
      return { sessionId: `0x${sessionId.toString(16)}`, timeoutMs: negotiated };
    },
    timeoutMs,
  );
}

/** ZooKeeper `srvr` four-letter word (whitelisted in our zoo.cfg); the raw text or null. */
export async function zkSrvr(host, port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    let out = '';
    const sock = net.connect({ host, port }, () => sock.write('srvr'));
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(null);
    }, timeoutMs);
    sock.on('data', (c) => (out += c));
    sock.once('error', () => {});
    sock.once('close', () => {
      clearTimeout(timer);
      resolve(out || null);
    });
  });
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}

function kString(s) {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeInt16BE(b.length, 0);
  return Buffer.concat([len, b]);
}

/**
 * Kafka: a real Metadata v4 request (header v1; no topics, no auto-create).
 * Resolves { brokers: [{nodeId, host, port}], clusterId, controllerId }.
 */
export async function probeKafka(host, port, timeoutMs = 3000) {
  const correlationId = (Math.random() * 0x7fffffff) | 0;
  const header = Buffer.alloc(8);
  header.writeInt16BE(3, 0); // api_key Metadata
  header.writeInt16BE(4, 2); // api_version 4
  header.writeInt32BE(correlationId, 4);
  const body = Buffer.concat([
    u32(0) /* topics: empty array = none */,
    Buffer.from([0]) /* allow_auto_topic_creation */,
  ]);
  const req = Buffer.concat([header, kString('nono-infra'), body]);
  return exchange(
    host,
    port,
    Buffer.concat([u32(req.length), req]),
    (buf) => {
      const f = frame(buf);
      if (!f) return undefined;
      let o = 0;
      const int16 = () => ((o += 2), f.readInt16BE(o - 2));
      const int32 = () => ((o += 4), f.readInt32BE(o - 4));
      const str = () => {
        const n = int16();
        if (n < 0) return null;
        o += n;
        return f.toString('utf8', o - n, o);
      };
      if (int32() !== correlationId) throw new Error('Metadata response with a wrong correlation id');
      int32(); // throttle_time_ms
      const brokers = [];
      for (let i = int32(); i > 0; i--)
        brokers.push({ nodeId: int32(), host: str(), port: int32(), rack: str() });
      const clusterId = str();
      const controllerId = int32();
      return { brokers, clusterId, controllerId };
    },
    timeoutMs,
  );
}

/** { ok, detail } for one server: a real client request must succeed. */
async function probe(srv, timeoutMs = 3000) {
  try {
    if (srv.name === 'zookeeper') {
      const r = await probeZooKeeper(srv.host, srv.port, timeoutMs);
      return { ok: true, detail: `session ${r.sessionId} accepted` };
    }
    const r = await probeKafka(srv.host, srv.port, timeoutMs);
    const self = r.brokers.find((b) => b.port === srv.port);
    if (!self) return { ok: false, detail: 'Metadata answered but lists no live broker yet' };
    return {
      ok: true,
      detail: `${r.brokers.length} broker(s), cluster id ${r.clusterId}, controller ${r.controllerId}`,
      clusterId: r.clusterId,
    };
  } catch (e) {
    return { ok: false, detail: e.message };
  }
}

// ---------------------------------------------------------------------------
// configuration files (regenerated on every start from the current env)

function writeZooKeeperConfig(srv) {
  fs.writeFileSync(
    path.join(srv.confDir, 'zoo.cfg'),
    [
      '# generated by infra/lib/infra.mjs on every start; edits are overwritten',
      'tickTime=500',
      'initLimit=10',
      'syncLimit=5',
      // allow short session timeouts in tests (1 s .. 60 s)
      'minSessionTimeout=1000',
      'maxSessionTimeout=60000',
      `dataDir=${prop(srv.dataDir)}`,
      `clientPort=${srv.port}`,
      `clientPortAddress=${srv.host}`,
      // tests open many sessions from 127.0.0.1: no per-IP limit
      'maxClientCnxns=0',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr,mntr,stat,conf,isro',
      'autopurge.snapRetainCount=3',
      'autopurge.purgeInterval=1',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(srv.confDir, 'logback.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by infra/lib/infra.mjs on every start -->
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>${xml(path.join(srv.logsDir, 'zookeeper.log'))}</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>${xml(path.join(srv.logsDir, 'zookeeper.%i.log'))}</fileNamePattern>
      <minIndex>1</minIndex>
      <maxIndex>3</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>50MB</maxFileSize>
    </triggeringPolicy>
    <encoder>
      <pattern>%d{ISO8601} %-5level [%thread] %logger{36} - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="FILE"/>
  </root>
</configuration>
`,
  );
}

function log4jAppender(name, file) {
  return [
    `log4j.appender.${name}=org.apache.log4j.RollingFileAppender`,
    `log4j.appender.${name}.File=${prop(file)}`,
    `log4j.appender.${name}.MaxFileSize=50MB`,
    `log4j.appender.${name}.MaxBackupIndex=3`,
    `log4j.appender.${name}.layout=org.apache.log4j.PatternLayout`,
    `log4j.appender.${name}.layout.ConversionPattern=[%d] %p %m (%c)%n`,
  ];
}

function writeKafkaConfig(srv) {
  const controller = `${srv.host}:${srv.controllerPort}`;
  fs.writeFileSync(
    path.join(srv.confDir, 'server.properties'),
    [
      '# generated by infra/lib/infra.mjs on every start; edits are overwritten',
      '# single-node KRaft: this process is both broker and controller',
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@${controller}`,
      `listeners=PLAINTEXT://${srv.host}:${srv.port},CONTROLLER://${controller}`,
      `advertised.listeners=PLAINTEXT://${srv.host}:${srv.port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${prop(srv.dataDir)}`,
      '',
      '# one node: every internal topic has replication factor 1',
      'num.partitions=3',
      'default.replication.factor=1',
      'min.insync.replicas=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=10',
      '',
      '# tests: consumer groups start at once, topics appear on first use',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
      'delete.topic.enable=true',
      '',
      '# the execution log must never expire by default',
      'log.retention.ms=-1',
      'log.retention.bytes=-1',
      '',
      '# keep the heap small (default dedupe buffer is 128 MiB)',
      'log.cleaner.dedupe.buffer.size=33554432',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(srv.confDir, 'log4j.properties'),
    [
      '# generated by infra/lib/infra.mjs on every start',
      'log4j.rootLogger=INFO, server',
      ...log4jAppender('server', path.join(srv.logsDir, 'server.log')),
      ...log4jAppender('controller', path.join(srv.logsDir, 'controller.log')),
      ...log4jAppender('stateChange', path.join(srv.logsDir, 'state-change.log')),
      'log4j.logger.org.apache.kafka.controller=INFO, controller',
      'log4j.additivity.org.apache.kafka.controller=false',
      'log4j.logger.kafka.controller=INFO, controller',
      'log4j.additivity.kafka.controller=false',
      'log4j.logger.state.change.logger=INFO, stateChange',
      'log4j.additivity.state.change.logger=false',
      'log4j.logger.kafka.request.logger=WARN',
      'log4j.logger.kafka.authorizer.logger=WARN',
      'log4j.logger.org.apache.zookeeper=WARN',
      '',
    ].join('\n'),
  );
  writeToolsLog4j(srv);
}

function writeToolsLog4j(srv) {
  fs.mkdirSync(srv.confDir, { recursive: true });
  const p = path.join(srv.confDir, 'tools-log4j.properties');
  fs.writeFileSync(
    p,
    [
      'log4j.rootLogger=WARN, stderr',
      'log4j.appender.stderr=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.appender.stderr.Target=System.err',
      '',
    ].join('\n'),
  );
  return p;
}

function writeToolsLogback(srv) {
  fs.mkdirSync(srv.confDir, { recursive: true });
  const p = path.join(srv.confDir, 'tools-logback.xml');
  fs.writeFileSync(
    p,
    `<configuration>
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%d{ISO8601} %-5level %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDERR"/></root>
</configuration>
`,
  );
  return p;
}

// ---------------------------------------------------------------------------
// JVM command lines

function jvmArgs(cfg, srv) {
  const common = ['-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true', ...markerArgs(cfg, srv)];
  if (srv.name === 'zookeeper') {
    return [
      '-Xms64m',
      '-Xmx512m',
      '-XX:+UseSerialGC',
      ...common,
      `-Dlogback.configurationFile=${path.join(srv.confDir, 'logback.xml')}`,
      '-Dzookeeper.admin.enableServer=false',
      '-cp',
      path.join(srv.libDir, '*'),
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      path.join(srv.confDir, 'zoo.cfg'),
    ];
  }
  return [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    ...common,
    `-Dkafka.logs.dir=${srv.logsDir}`,
    `-Dlog4j.configuration=file:${path.join(srv.confDir, 'log4j.properties')}`,
    '-cp',
    path.join(srv.libDir, '*'),
    'kafka.Kafka',
    path.join(srv.confDir, 'server.properties'),
  ];
}

/** Run a JVM in the foreground (tools); resolves { code, signal }. */
function runJava(java, args, { stdio = 'inherit', cwd, env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(java, args, { stdio, cwd, env });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** A KRaft cluster id: 16 random bytes, URL-safe base64, as org.apache.kafka.common.Uuid makes them. */
function kafkaClusterId() {
  for (;;) {
    const b = crypto.randomBytes(16);
    const s = b.toString('base64url');
    if (!s.startsWith('-') && b.some((x, i) => x !== 0 && !(i === 15 && x === 1))) return s;
  }
}

async function formatKafkaStorage(cfg, srv, java, log) {
  if (fs.existsSync(path.join(srv.dataDir, 'meta.properties'))) return;
  const clusterId = kafkaClusterId();
  const formatLog = path.join(srv.logsDir, 'format.log');
  const t0 = Date.now();
  const fd = fs.openSync(formatLog, 'w');
  let r;
  try {
    r = await runJava(
      java,
      [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        `-Dlog4j.configuration=file:${path.join(srv.confDir, 'tools-log4j.properties')}`,
        '-cp',
        path.join(srv.libDir, '*'),
        'kafka.tools.StorageTool',
        'format',
        '--ignore-formatted',
        '-t',
        clusterId,
        '-c',
        path.join(srv.confDir, 'server.properties'),
      ],
      { stdio: ['ignore', fd, fd], cwd: srv.dir },
    );
  } finally {
    fs.closeSync(fd);
  }
  if (r.code !== 0 || !fs.existsSync(path.join(srv.dataDir, 'meta.properties'))) {
    fs.rmSync(srv.dataDir, { recursive: true, force: true });
    throw new InfraError(
      `infra: formatting the Kafka KRaft storage failed (${r.signal || `exit ${r.code}`}); see ${show(formatLog)}.`,
      {
        logPath: formatLog,
      },
    );
  }
  log(
    `kafka: formatted KRaft storage in ${show(srv.dataDir)} (cluster id ${clusterId}) in ${secs(Date.now() - t0)}`,
  );
}

// ---------------------------------------------------------------------------
// start / wait / stop one server

function where(srv) {
  return srv.name === 'kafka'
    ? `${srv.host}:${srv.port} (KRaft controller on ${srv.host}:${srv.controllerPort})`
    : `${srv.host}:${srv.port}`;
}

function serverPorts(srv) {
  return srv.name === 'kafka'
    ? [
        [srv.port, 'NONO_KAFKA_PORT'],
        [srv.controllerPort, 'NONO_KAFKA_CONTROLLER_PORT'],
      ]
    : [[srv.port, 'NONO_ZK_PORT']];
}

// Log lines after which a server will never answer although its JVM may stay alive
// (ZooKeeper's main thread can die while its worker threads keep the process up).
const FATAL = {
  // "Last transaction was partial" is logged at ERROR while ZooKeeper recovers from a crash
  // (it truncates the torn record and carries on): not a failure to start.
  zookeeper:
    /^.*\b(?:ERROR \[main\](?! o\.a\.z\.server\.persistence\.Util - Last transaction was partial)|Unable to start|Unexpected exception, exiting abnormally).*$/m,
  kafka: /^.*\b(?:Exiting Kafka|Fatal error during|FATAL ).*$/m,
};

function logSize(p) {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

/** The first fatal line written to the server's main log after byte `offset`, or null. */
function fatalLogLine(srv, offset) {
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

async function waitReady(srv, pid, { deadline, exited, log, startedAt, logOffset, stdoutOffset }) {
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

async function portTakenError(srv, port, envName) {
  const other = port === srv.port ? await probe(srv, 1500) : { ok: false };
  const what = other.ok ? ` (it answers as ${srv.label})` : '';
  return new InfraError(
    `infra: ${srv.host}:${port} is already in use by a process nono-infra did not start${what}; stop it or choose another port with ${envName}.`,
  );
}

async function ensureServer(cfg, srv, java, log) {
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
    if (!(await portFree(srv.host, port))) throw await portTakenError(srv, port, envName);
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

/** SIGTERM, wait up to graceMs, then SIGKILL. Resolves 'term' | 'kill' | 'gone'. */
async function stopPid(pid, graceMs = 15_000) {
  if (!pidAlive(pid)) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return 'term';
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone meanwhile */
  }
  const killDeadline = Date.now() + 5000;
  while (pidAlive(pid) && Date.now() < killDeadline) await sleep(100);
  return 'kill';
}

// ---------------------------------------------------------------------------
// public API

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
        if (!(await portFree(srv.host, port))) throw await portTakenError(srv, port, envName);
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
      for (const [port] of serverPorts(srv)) if (!(await portFree(srv.host, port))) inUse.push(port);
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
  return r.code ?? 128 + (os.constants.signals[r.signal] || 0);
}
