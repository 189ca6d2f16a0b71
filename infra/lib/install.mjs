// @ts-check
// Prerequisites (Java, Maven) and the install: the jars resolved with Maven into
// <cache>/{zookeeper,kafka}/lib, skipped while the cache matches the poms.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { config, INFRA_DIR, InfraError, KINDS, MIN_JAVA, secs, show, versions } from './config.mjs';
import { withLock } from './lock.mjs';
import { readText, removeFile, which } from './processes.mjs';

export function javaCommand(env = process.env) {
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
      ? `could not be run (${/** @type {NodeJS.ErrnoException} */ (r.error).code || r.error.message})`
      : `is version ${m ? m[0].slice(9) : 'unknown'}`;
    throw new InfraError(
      `infra: Java ${MIN_JAVA}+ is required to run ZooKeeper and Kafka but ${java} ${what}; install openjdk-17-jre-headless or point JAVA_HOME at a JDK ${MIN_JAVA}+.`,
      { exitCode: 2 },
    );
  }
  return java;
}

export function requireMaven(env = process.env) {
  const mvn = which('mvn', env);
  if (!mvn) {
    throw new InfraError(
      'infra: Maven is required to download the ZooKeeper and Kafka jars but `mvn` was not found on PATH; install maven (e.g. apt-get install maven).',
      { exitCode: 2 },
    );
  }
  return mvn;
}

export function pomFiles() {
  return [
    path.join(INFRA_DIR, 'pom.xml'),
    path.join(INFRA_DIR, 'maven', 'zookeeper', 'pom.xml'),
    path.join(INFRA_DIR, 'maven', 'kafka', 'pom.xml'),
  ];
}

export function pomHash() {
  const h = crypto.createHash('sha256');
  for (const f of pomFiles()) h.update(fs.readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

export function markerPath(cfg) {
  return path.join(cfg.cacheDir, 'installed.json');
}

export function mainJar(cfg, name, v) {
  return name === 'zookeeper'
    ? path.join(cfg.libDirs.zookeeper, `zookeeper-${v.zookeeper}.jar`)
    : path.join(cfg.libDirs.kafka, `kafka_2.13-${v.kafka}.jar`);
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
  if (!KINDS.every((n) => fs.existsSync(mainJar(cfg, n, v)))) return null;
  return marker;
}

export const MAVEN_NETWORK =
  /Could not transfer|Could not resolve|Could not find artifact|Failed to read artifact descriptor|Non-resolvable|UnknownHost|Unknown host|Connection refused|Connect(ion)? timed out|Network is unreachable|No route to host|Temporary failure in name resolution|PKIX path|Plugin .* could not be resolved|No plugin found for prefix/i;

/** Resolve the jars unless the cache already matches the poms. */
export async function install({ log = console.log, force = false } = {}) {
  const cfg = config();
  return withLock(cfg, () => installLocked(cfg, { log, force }));
}

export async function installLocked(cfg, { log, force }) {
  const v = versions();
  if (!force) {
    const m = installed(cfg);
    if (m) return { skipped: true, ...v, cacheDir: cfg.cacheDir };
  }
  requireJava();
  const mvn = requireMaven();
  fs.mkdirSync(cfg.runDir, { recursive: true });
  removeFile(markerPath(cfg));
  for (const n of KINDS) fs.rmSync(path.dirname(cfg.libDirs[n]), { recursive: true, force: true });
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
  for (const n of KINDS) {
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
