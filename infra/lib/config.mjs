// @ts-check
// infra configuration: ports, directories and versions, read once from the environment; the
// error the user can act on (InfraError); how paths and durations are shown.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const INFRA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const HOST = '127.0.0.1';

/** The single-node infra's servers, in start order; stop order is the reverse. */
export const SERVER_NAMES = ['zookeeper', 'kafka'];

export const MIN_JAVA = 17;

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

export function envPort(env, name, dflt) {
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

export function envMs(env, name, dflt) {
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

/** The two kinds of server; each has its own jars (`<cache>/<kind>/lib`). */
export const KINDS = ['zookeeper', 'kafka'];

/** How many servers of each kind the HA infra runs: a 3-server ensemble, a 3-node cluster. */
export const HA_SIZE = 3;

/** HA server names: `zookeeper-1` … `kafka-3`. */
export const isHaServerName = (name) => /^(zookeeper|kafka)-[1-9]$/.test(String(name));

/**
 * Whether the HA infra is meant: `ha` when given (`--ha`, `ensureUp({ ha })`), else NONO_INFRA_HA.
 * @param {NodeJS.ProcessEnv} env
 * @param {boolean | undefined} [ha]
 */
export function haRequested(env, ha) {
  if (ha !== undefined) return ha;
  const raw = (env.NONO_INFRA_HA ?? '').trim();
  if (raw === '' || /^(0|false|no|off)$/i.test(raw)) return false;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  throw new InfraError(`infra: NONO_INFRA_HA=${JSON.stringify(raw)} is not valid: expected 1 or 0.`, {
    exitCode: 2,
  });
}

/** `count` comma-separated ports (HA), each checked like a single one. */
export function envPortList(env, name, dflt, count) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const items = raw.split(',').map((p) => p.trim());
  if (items.length !== count || items.includes(''))
    throw new InfraError(
      `infra: ${name}=${JSON.stringify(raw)} is not valid: expected ${count} comma-separated TCP ports.`,
      { exitCode: 2 },
    );
  return items.map((item) => envPort({ [name]: item }, name, 0));
}

/** ZooKeeper peer ports (HA): `quorum:election` for each server, comma-separated. */
export function envPeerPorts(env, name, dflt) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const items = raw.split(',').map((p) => p.trim().split(':'));
  if (items.length !== HA_SIZE || items.some((pair) => pair.length !== 2 || pair.includes('')))
    throw new InfraError(
      `infra: ${name}=${JSON.stringify(raw)} is not valid: expected ${HA_SIZE} quorum:election port pairs, e.g. 2284:2287,2285:2288,2286:2289.`,
      { exitCode: 2 },
    );
  return items.map(([quorum, election]) => ({
    quorum: envPort({ [name]: quorum }, name, 0),
    election: envPort({ [name]: election }, name, 0),
  }));
}

/**
 * Resolved settings, from the environment:
 *   NONO_ZK_PORT (2181), NONO_KAFKA_PORT (9092), NONO_KAFKA_CONTROLLER_PORT (9093),
 *   NONO_INFRA_DIR (infra/.run), NONO_INFRA_CACHE_DIR (infra/.cache),
 *   NONO_INFRA_START_TIMEOUT_MS (per server; 60000 for ZooKeeper, 120000 for Kafka).
 * With `ha` (or NONO_INFRA_HA=1) the HA infra instead: see haConfig.
 * @param {NodeJS.ProcessEnv} [env]
 * @param {{ ha?: boolean | undefined }} [options]
 */
export function config(env = process.env, { ha } = {}) {
  const runDirOf = (dflt) => path.resolve(env.NONO_INFRA_DIR || path.join(INFRA_DIR, dflt));
  const cacheDir = path.resolve(env.NONO_INFRA_CACHE_DIR || path.join(INFRA_DIR, '.cache'));
  const timeout = env.NONO_INFRA_START_TIMEOUT_MS ? envMs(env, 'NONO_INFRA_START_TIMEOUT_MS', 0) : undefined;
  if (haRequested(env, ha)) return haConfig(env, runDirOf('.run-ha'), cacheDir, timeout);
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
  const runDir = runDirOf('.run');
  const server = serverOf(runDir, cacheDir);
  const authenticated = kafkaAuthenticatedListeners(env, ports);
  return {
    host: HOST,
    ha: false,
    runDir,
    cacheDir,
    mavenLog: path.join(runDir, 'maven-install.log'),
    lockDir: path.join(runDir, '.lock'),
    libDirs: libDirsOf(cacheDir),
    serverNames: SERVER_NAMES,
    zkConnect: `${HOST}:${zkPort}`,
    kafkaBrokers: `${HOST}:${kafkaPort}`,
    servers: {
      zookeeper: server('zookeeper', 'zookeeper', zkPort, {
        label: 'ZooKeeper',
        portEnv: 'NONO_ZK_PORT',
        mainLog: path.join(runDir, 'zookeeper', 'logs', 'zookeeper.log'),
        startTimeoutMs: timeout ?? 60_000,
      }),
      kafka: server('kafka', 'kafka', kafkaPort, {
        label: 'Kafka',
        portEnv: 'NONO_KAFKA_PORT',
        controllerPort,
        ...(authenticated === undefined ? {} : { authenticated }),
        mainLog: path.join(runDir, 'kafka', 'logs', 'server.log'),
        startTimeoutMs: timeout ?? 120_000,
      }),
    },
  };
}

/**
 * The single node's authenticated client listeners, beside its PLAINTEXT one (which infra's own
 * probes and tools use): NONO_KAFKA_SASL_PORT, a SASL_PLAINTEXT listener, and
 * NONO_KAFKA_SASL_SSL_PORT, a SASL_SSL one, both taking PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
 * for the users of NONO_KAFKA_SASL_USERS (`name:password,...`; SCRAM credentials are written when
 * the storage is formatted, so a run dir keeps the users it was first started with).
 * NONO_KAFKA_TLS_KEYSTORE_PEM (the broker's private key, PKCS#8 unencrypted, then its certificate)
 * and NONO_KAFKA_TLS_TRUSTSTORE_PEM (the CA) are the SASL_SSL listener's files.
 * Undefined when no authenticated port is asked for.
 * @param {NodeJS.ProcessEnv} env
 * @param {number[]} taken ports already given to the node
 */
function kafkaAuthenticatedListeners(env, taken) {
  const saslPort = env.NONO_KAFKA_SASL_PORT ? envPort(env, 'NONO_KAFKA_SASL_PORT', 0) : undefined;
  const saslSslPort = env.NONO_KAFKA_SASL_SSL_PORT ? envPort(env, 'NONO_KAFKA_SASL_SSL_PORT', 0) : undefined;
  if (saslPort === undefined && saslSslPort === undefined) return undefined;
  const ports = [...taken, saslPort, saslSslPort].filter((p) => p !== undefined);
  if (new Set(ports).size !== ports.length)
    throw new InfraError(
      `infra: NONO_KAFKA_SASL_PORT and NONO_KAFKA_SASL_SSL_PORT must differ from each other and from the node's other ports (${taken.join(', ')}).`,
      { exitCode: 2 },
    );
  const users = String(env.NONO_KAFKA_SASL_USERS ?? '')
    .split(',')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '')
    .map((pair) => {
      const match = /^([A-Za-z0-9_-]+):([^\s"\\=,\[\]]+)$/.exec(pair);
      if (match === null)
        throw new InfraError(
          'infra: NONO_KAFKA_SASL_USERS is name:password[,name:password...] (names of letters, digits, _ and -; passwords without spaces, quotes, backslashes, =, commas or brackets).',
          { exitCode: 2 },
        );
      return { name: match[1], password: match[2] };
    });
  if (users.length === 0)
    throw new InfraError(
      'infra: an authenticated Kafka listener needs NONO_KAFKA_SASL_USERS (name:password,...).',
      {
        exitCode: 2,
      },
    );
  let tls;
  if (saslSslPort !== undefined) {
    const keystorePem = env.NONO_KAFKA_TLS_KEYSTORE_PEM;
    const truststorePem = env.NONO_KAFKA_TLS_TRUSTSTORE_PEM;
    if (!keystorePem || !truststorePem)
      throw new InfraError(
        'infra: NONO_KAFKA_SASL_SSL_PORT needs NONO_KAFKA_TLS_KEYSTORE_PEM (key and certificate) and NONO_KAFKA_TLS_TRUSTSTORE_PEM (the CA).',
        { exitCode: 2 },
      );
    tls = { keystorePem: path.resolve(keystorePem), truststorePem: path.resolve(truststorePem) };
  }
  return { saslPort, saslSslPort, users, tls };
}

const libDirsOf = (cacheDir) => ({
  zookeeper: path.join(cacheDir, 'zookeeper', 'lib'),
  kafka: path.join(cacheDir, 'kafka', 'lib'),
});

/** A server's directories and files in a run dir; `kind` picks its jars. */
const serverOf = (runDir, cacheDir) => (name, kind, port, extra) => {
  const dir = path.join(runDir, name);
  return {
    name,
    kind,
    host: HOST,
    port,
    dir,
    dataDir: path.join(dir, 'data'),
    logsDir: path.join(dir, 'logs'),
    confDir: path.join(dir, 'conf'),
    stdoutLog: path.join(dir, 'logs', 'stdout.log'),
    pidFile: path.join(runDir, `${name}.pid`),
    libDir: path.join(cacheDir, kind, 'lib'),
    ...extra,
  };
};

/**
 * The HA infra: a ZooKeeper ensemble of three servers (`zookeeper-1..3`) and a Kafka cluster of
 * three KRaft nodes (`kafka-1..3`, each broker and controller), on loopback:
 *   NONO_ZK_PORTS (2281,2282,2283): client ports;
 *   NONO_ZK_PEER_PORTS (2284:2287,2285:2288,2286:2289): quorum:election ports per server;
 *   NONO_KAFKA_PORTS (9192,9193,9194): broker listeners;
 *   NONO_KAFKA_CONTROLLER_PORTS (9195,9196,9197): KRaft controller listeners;
 *   run dir NONO_INFRA_DIR (infra/.run-ha), so it can run beside the single-node infra.
 */
function haConfig(env, runDir, cacheDir, timeout) {
  const zkPorts = envPortList(env, 'NONO_ZK_PORTS', [2281, 2282, 2283], HA_SIZE);
  const peerPorts = envPeerPorts(env, 'NONO_ZK_PEER_PORTS', [
    { quorum: 2284, election: 2287 },
    { quorum: 2285, election: 2288 },
    { quorum: 2286, election: 2289 },
  ]);
  const kafkaPorts = envPortList(env, 'NONO_KAFKA_PORTS', [9192, 9193, 9194], HA_SIZE);
  const controllerPorts = envPortList(env, 'NONO_KAFKA_CONTROLLER_PORTS', [9195, 9196, 9197], HA_SIZE);
  const all = [
    ...zkPorts,
    ...peerPorts.flatMap((p) => [p.quorum, p.election]),
    ...kafkaPorts,
    ...controllerPorts,
  ];
  if (new Set(all).size !== all.length) {
    throw new InfraError(
      `infra: the HA ports must all differ (NONO_ZK_PORTS, NONO_ZK_PEER_PORTS, NONO_KAFKA_PORTS, NONO_KAFKA_CONTROLLER_PORTS give ${all.join(',')}).`,
      { exitCode: 2 },
    );
  }
  const server = serverOf(runDir, cacheDir);
  const ids = Array.from({ length: HA_SIZE }, (_, i) => i + 1);
  const ensemble = ids.map((id, i) => ({ id, host: HOST, ...peerPorts[i] }));
  const voters = ids.map((id, i) => `${id}@${HOST}:${controllerPorts[i]}`).join(',');
  const servers = {};
  for (const [i, id] of ids.entries()) {
    const name = `zookeeper-${id}`;
    servers[name] = server(name, 'zookeeper', zkPorts[i], {
      label: `ZooKeeper ${id}`,
      portEnv: 'NONO_ZK_PORTS',
      peerPortEnv: 'NONO_ZK_PEER_PORTS',
      myid: id,
      ensemble,
      quorumPort: peerPorts[i].quorum,
      electionPort: peerPorts[i].election,
      mainLog: path.join(runDir, name, 'logs', 'zookeeper.log'),
      startTimeoutMs: timeout ?? 60_000,
    });
  }
  for (const [i, id] of ids.entries()) {
    const name = `kafka-${id}`;
    servers[name] = server(name, 'kafka', kafkaPorts[i], {
      label: `Kafka ${id}`,
      portEnv: 'NONO_KAFKA_PORTS',
      controllerPortEnv: 'NONO_KAFKA_CONTROLLER_PORTS',
      nodeId: id,
      controllerPort: controllerPorts[i],
      voters,
      clusterIdFile: path.join(runDir, 'kafka-cluster-id'),
      mainLog: path.join(runDir, name, 'logs', 'server.log'),
      startTimeoutMs: timeout ?? 120_000,
    });
  }
  return {
    host: HOST,
    ha: true,
    runDir,
    cacheDir,
    mavenLog: path.join(runDir, 'maven-install.log'),
    lockDir: path.join(runDir, '.lock'),
    libDirs: libDirsOf(cacheDir),
    serverNames: Object.keys(servers),
    zkConnect: zkPorts.map((p) => `${HOST}:${p}`).join(','),
    kafkaBrokers: kafkaPorts.map((p) => `${HOST}:${p}`).join(','),
    servers,
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

/** A path for messages: relative to the cwd when it is inside it. */
export function show(p) {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

export const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;
