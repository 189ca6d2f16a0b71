// @ts-check
// infra configuration: ports, directories and versions, read once from the environment; the
// error the user can act on (InfraError); how paths and durations are shown.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const INFRA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const HOST = '127.0.0.1';

export const SERVER_NAMES = ['zookeeper', 'kafka']; // start order; stop order is the reverse

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

/** A path for messages: relative to the cwd when it is inside it. */
export function show(p) {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

export const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;
