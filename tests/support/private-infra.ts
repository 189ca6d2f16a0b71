import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, REPO_ROOT } from './processes.js';

/**
 * A ZooKeeper and Kafka of a test's own (other ports, other data dir), for tests that stop
 * a server: stopping the shared ones would break every other test file running in parallel.
 */
export interface PrivateInfra {
  readonly zkConnect: string;
  readonly kafkaBrokers: string;
  stopKafka(): Promise<void>;
  startKafka(): Promise<void>;
  /** Stops ZooKeeper (SIGTERM); its data directory stays, so a start brings back the same tree and sessions. */
  stopZooKeeper(): Promise<void>;
  startZooKeeper(): Promise<void>;
  down(): Promise<void>;
}

const run = promisify(execFile);

/**
 * `options.env`: more of infra's settings, e.g. NONO_KAFKA_SASL_PORT and NONO_KAFKA_SASL_USERS for a
 * broker with authenticated listeners beside its PLAINTEXT one (infra/README.md).
 */
export async function startPrivateInfra(
  options: { env?: Record<string, string> } = {},
): Promise<PrivateInfra> {
  const env = {
    ...process.env,
    ...options.env,
    NONO_INFRA_DIR: mkdtempSync(join(tmpdir(), 'nono-infra-')),
    NONO_ZK_PORT: String(await freePort()),
    NONO_KAFKA_PORT: String(await freePort()),
    NONO_KAFKA_CONTROLLER_PORT: String(await freePort()),
  };
  const call = async (code: string): Promise<void> => {
    await run(
      process.execPath,
      ['--input-type=module', '-e', `const infra = await import('./infra/lib/infra.mjs'); ${code}`],
      { cwd: REPO_ROOT, env, timeout: 180_000 },
    );
  };
  const up = (): Promise<void> => call('await infra.ensureUp({ log: () => {} });');
  await up();
  return {
    zkConnect: `127.0.0.1:${env.NONO_ZK_PORT}`,
    kafkaBrokers: `127.0.0.1:${env.NONO_KAFKA_PORT}`,
    stopKafka: () => call("await infra.down({ log: () => {}, servers: ['kafka'] });"),
    startKafka: up,
    stopZooKeeper: () => call("await infra.down({ log: () => {}, servers: ['zookeeper'] });"),
    startZooKeeper: up,
    down: () => call('await infra.down({ log: () => {} });'),
  };
}
