#!/usr/bin/env node
// Thin CLI over infra/lib/infra.mjs: run a real ZooKeeper + Kafka (KRaft) for nono.
// Node built-ins only; see infra/README.md.

import { spawn } from 'node:child_process';
import os from 'node:os';
import {
  InfraError,
  classpath,
  config,
  down,
  ensureUp,
  formatStatus,
  install,
  runClass,
  show,
  status,
} from '../lib/infra.mjs';

const USAGE = `usage: node infra/bin/nono-infra.mjs <command> [--ha]

  install [--force]        resolve the ZooKeeper and Kafka jars with Maven (skipped when done)
  up                       install if needed, start ZooKeeper and Kafka, wait until they answer
  down                     stop the servers recorded in the pid files (Kafka first)
  status [--json]          show whether each server runs and answers
  test -- <command...>     up if needed, run the command with NONO_ZK_CONNECT and
                           NONO_KAFKA_BROKERS set, then down again if this run started them
  env                      print NONO_ZK_CONNECT=... and NONO_KAFKA_BROKERS=... (for eval)
  kafka-topics [args...]   org.apache.kafka.tools.TopicCommand --bootstrap-server <broker> args...
  run-class <zookeeper|kafka> <MainClass> [args...]
                           run a Java main class with that server's classpath
  classpath <zookeeper|kafka>

  --ha (or NONO_INFRA_HA=1): the HA infra instead of the single-node one, for every command
                           above: a 3-server ZooKeeper ensemble and a 3-node Kafka cluster

env: NONO_ZK_PORT (2181), NONO_KAFKA_PORT (9092), NONO_KAFKA_CONTROLLER_PORT (9093),
     NONO_INFRA_DIR (infra/.run), NONO_INFRA_CACHE_DIR (infra/.cache),
     NONO_INFRA_START_TIMEOUT_MS;
     HA: NONO_ZK_PORTS (2281,2282,2283), NONO_ZK_PEER_PORTS (2284:2287,2285:2288,2286:2289),
     NONO_KAFKA_PORTS (9192,9193,9194), NONO_KAFKA_CONTROLLER_PORTS (9195,9196,9197),
     NONO_INFRA_DIR (infra/.run-ha)`;

const out = (line) => process.stdout.write(line + '\n');
const err = (line) => process.stderr.write(line + '\n');

function signalExitCode(signal) {
  return 128 + (os.constants.signals[signal] || 0);
}

async function runTest(argv, ha) {
  const sep = argv.indexOf('--');
  const cmd = sep >= 0 ? argv.slice(sep + 1) : argv;
  if (cmd.length === 0) {
    err(
      'infra: `test` needs a command to run, e.g. `node infra/bin/nono-infra.mjs test -- npm run test:all`.',
    );
    return 2;
  }
  // infra messages go to stderr so the command's stdout stays its own
  const up = await ensureUp({ log: err, ha });
  let exitCode;
  try {
    exitCode = await new Promise((resolve) => {
      const child = spawn(cmd[0], cmd.slice(1), {
        stdio: 'inherit',
        env: { ...process.env, NONO_ZK_CONNECT: up.zkConnect, NONO_KAFKA_BROKERS: up.kafkaBrokers },
      });
      const forward = (sig) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      };
      const sigs = ['SIGINT', 'SIGTERM', 'SIGHUP'];
      for (const s of sigs) process.on(s, forward);
      child.once('error', (/** @type {NodeJS.ErrnoException} */ e) => {
        err(`infra: could not run ${cmd[0]} (${e.code || e.message}).`);
        resolve(e.code === 'ENOENT' ? 127 : 126);
      });
      child.once('exit', (code, signal) => resolve(code ?? signalExitCode(signal)));
    });
  } finally {
    if (up.startedByUs) {
      // keep ignoring Ctrl-C while tearing down, so the servers are not left half-stopped
      const ignore = () => err('infra: stopping the servers this run started; please wait');
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
        process.removeAllListeners(s);
        process.on(s, ignore);
      }
      await down({ log: err, servers: up.started });
    }
  }
  return exitCode;
}

/**
 * `--ha` anywhere before a `--` (after it, the words belong to the command `test` runs): true, or
 * undefined to leave the choice to NONO_INFRA_HA.
 * @param {string[]} argv
 */
function takeHaFlag(argv) {
  const sep = argv.indexOf('--');
  const own = sep >= 0 ? argv.slice(0, sep) : argv;
  const rest = own.filter((word) => word !== '--ha');
  return {
    ha: rest.length < own.length ? true : undefined,
    argv: sep >= 0 ? [...rest, ...argv.slice(sep)] : rest,
  };
}

async function main(args) {
  const { ha, argv } = takeHaFlag(args);
  const [command, ...rest] = argv;
  switch (command) {
    case 'install': {
      const r = await install({ log: out, force: rest.includes('--force') });
      if (r.skipped)
        out(
          `install: ZooKeeper ${r.zookeeper} and Kafka ${r.kafka} jars already resolved in ${show(r.cacheDir)}`,
        );
      return 0;
    }
    case 'up': {
      const t0 = Date.now();
      const r = await ensureUp({ log: out, ha });
      out(
        `infra: up in ${((Date.now() - t0) / 1000).toFixed(1)}s: NONO_ZK_CONNECT=${r.zkConnect} NONO_KAFKA_BROKERS=${r.kafkaBrokers}`,
      );
      return 0;
    }
    case 'down':
      await down({ log: out, ha });
      return 0;
    case 'status': {
      const s = await status({ ha });
      if (rest.includes('--json')) out(JSON.stringify(s, null, 2));
      else formatStatus(s).forEach((l) => out(l));
      return 0;
    }
    case 'test':
      return runTest(rest, ha);
    case 'env': {
      const cfg = config(process.env, { ha });
      out(`NONO_ZK_CONNECT=${cfg.zkConnect}`);
      out(`NONO_KAFKA_BROKERS=${cfg.kafkaBrokers}`);
      return 0;
    }
    case 'kafka-topics':
      return runClass(
        'kafka',
        'org.apache.kafka.tools.TopicCommand',
        ['--bootstrap-server', config(process.env, { ha }).kafkaBrokers, ...rest],
        { ha },
      );
    case 'run-class': {
      const [name, mainClass, ...args] = rest;
      if (!name || !mainClass) {
        err('infra: usage: run-class <zookeeper|kafka> <MainClass> [args...]');
        return 2;
      }
      return runClass(name, mainClass, args, { ha });
    }
    case 'classpath':
      out(classpath(rest[0]));
      return 0;
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      out(USAGE);
      return command ? 0 : 2;
    default:
      err(`infra: unknown command ${JSON.stringify(command)}.\n${USAGE}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof InfraError) {
    err(e.message);
    process.exitCode = e.exitCode;
  } else {
    err(`infra: unexpected error: ${e && e.message ? e.message : e}`);
    if (process.env.NONO_INFRA_DEBUG) err(e && e.stack);
    process.exitCode = 1;
  }
}
