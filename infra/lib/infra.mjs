// @ts-check
// nono infra: install and run a real Apache ZooKeeper 3.9 and a real Apache Kafka 3.9
// (single-node KRaft, combined broker+controller) from Maven Central jars; with `ha` (--ha,
// NONO_INFRA_HA=1) a 3-server ZooKeeper ensemble and a 3-node KRaft cluster instead.
//
// Plain Node ESM, built-ins only: it runs before (or without) `npm ci`.
// Used by infra/bin/nono-infra.mjs and importable from test harnesses:
//
//   import { ensureUp, down, status } from '../infra/lib/infra.mjs';
//   const { zkConnect, kafkaBrokers, startedByUs, started } = await ensureUp({ log: console.log });
//   // or ensureUp({ log, ha: true }): the same shape, with comma-separated zkConnect and kafkaBrokers
//   ...
//   if (startedByUs) await down({ servers: started });
//
// Every failure the user can act on is an InfraError: one sentence, an exit code
// (2 = a prerequisite is missing: java, mvn, the registry), and often a log path.
//
// The parts, one concern each: config.mjs (settings, InfraError), processes.mjs (pids, ports;
// shared with scripts/start-local.mjs), lock.mjs, install.mjs (Java, Maven, jars), probes.mjs
// (wire-protocol checks), server-files.mjs (configuration files, JVM arguments), servers.mjs
// (start, wait, stop, and the operations below).

export { INFRA_DIR, InfraError, config, haRequested, show, versions } from './config.mjs';
export { install, installed, requireJava } from './install.mjs';
export { probeKafka, probeZooKeeper, zkSrvr } from './probes.mjs';
export { classpath, down, ensureUp, formatStatus, runClass, status } from './servers.mjs';
