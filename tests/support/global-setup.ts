import type { TestProject } from 'vitest/node';

/**
 * Integration tests run against a real ZooKeeper and a real Kafka. If `npm test` (via
 * infra's `test` wrapper) already brought them up, the addresses are in the environment;
 * otherwise this brings them up itself and takes them down again at the end.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    zkConnect: string;
    kafkaBrokers: string;
  }
}

interface InfraModule {
  ensureUp(options: {
    log: (line: string) => void;
  }): Promise<{ zkConnect: string; kafkaBrokers: string; startedByUs: boolean }>;
  down(options: { log: (line: string) => void }): Promise<unknown>;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string): void => void process.stderr.write(`[infra] ${line}\n`);
  let stop = async (): Promise<void> => {};
  let zkConnect = process.env.NONO_ZK_CONNECT;
  let kafkaBrokers = process.env.NONO_KAFKA_BROKERS;
  if (zkConnect === undefined || kafkaBrokers === undefined) {
    // @ts-expect-error plain ESM module without types, shared with the infra CLI
    const infra = (await import('../../infra/lib/infra.mjs')) as InfraModule;
    const up = await infra.ensureUp({ log });
    zkConnect = up.zkConnect;
    kafkaBrokers = up.kafkaBrokers;
    if (up.startedByUs) stop = async () => void (await infra.down({ log }));
  }
  log(`integration tests use ZooKeeper ${zkConnect} and Kafka ${kafkaBrokers}`);
  project.provide('zkConnect', zkConnect);
  project.provide('kafkaBrokers', kafkaBrokers);
  return stop;
}
