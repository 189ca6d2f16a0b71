import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM module (JSDoc-typed, checked by tsconfig.scripts.json), shared with the infra CLI
import * as infraConfig from '../../infra/lib/config.mjs';
// @ts-expect-error plain ESM module (JSDoc-typed, checked by tsconfig.scripts.json), shared with the infra CLI
import * as serverFiles from '../../infra/lib/server-files.mjs';
import { REPO_ROOT } from '../support/processes.js';

/**
 * What infra/ starts ZooKeeper and Kafka with: the single-node files stay exactly what they were
 * before the HA infra existed (the fixtures were written by that code), and the HA infra's
 * ensemble and cluster are wired to each other with production's replication settings.
 */
interface Server {
  readonly name: string;
  readonly kind: 'zookeeper' | 'kafka';
  readonly port: number;
  confDir: string;
  dataDir: string;
  readonly quorumPort?: number;
  readonly electionPort?: number;
  readonly controllerPort?: number;
}
interface InfraConfig {
  readonly ha: boolean;
  readonly runDir: string;
  readonly serverNames: readonly string[];
  readonly zkConnect: string;
  readonly kafkaBrokers: string;
  readonly servers: Record<string, Server>;
}
const config = infraConfig.config as (env: Record<string, string>, options?: { ha?: boolean }) => InfraConfig;
const writeZooKeeperConfig = serverFiles.writeZooKeeperConfig as (srv: Server) => void;
const writeKafkaConfig = serverFiles.writeKafkaConfig as (srv: Server) => void;
const jvmArgs = serverFiles.jvmArgs as (cfg: InfraConfig, srv: Server) => string[];

const FIXTURE_ENV = {
  NONO_INFRA_DIR: '/tmp/nono-infra-fixture/run',
  NONO_INFRA_CACHE_DIR: '/tmp/nono-infra-fixture/cache',
};
const fixture = (name: string): string =>
  readFileSync(join(REPO_ROOT, 'tests/repo/fixtures/infra-single-node', name), 'utf8');

/**
 * Writes a server's configuration into a scratch directory (an ensemble member's `myid`, which
 * goes to its data dir, too); the paths inside the files stay those of its configuration.
 */
function written(srv: Server & { readonly ensemble?: unknown }): (file: string) => string {
  const dir = mkdtempSync(join(tmpdir(), `nono-infra-${srv.name}-`));
  const scratch = { ...srv, confDir: dir, dataDir: srv.ensemble === undefined ? srv.dataDir : dir };
  if (srv.kind === 'zookeeper') writeZooKeeperConfig(scratch);
  else writeKafkaConfig(scratch);
  return (file) => readFileSync(join(dir, file), 'utf8');
}

const properties = (text: string): Map<string, string> =>
  new Map(
    text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

describe('the single-node infra (the default)', () => {
  const cfg = config(FIXTURE_ENV);
  const zookeeper = cfg.servers['zookeeper'];
  const kafka = cfg.servers['kafka'];
  if (zookeeper === undefined || kafka === undefined) throw new Error('single-node servers missing');

  it('is one ZooKeeper on 2181 and one Kafka on 9092', () => {
    expect(cfg.ha).toBe(false);
    expect(cfg.serverNames).toEqual(['zookeeper', 'kafka']);
    expect(cfg.zkConnect).toBe('127.0.0.1:2181');
    expect(cfg.kafkaBrokers).toBe('127.0.0.1:9092');
  });

  it.each([
    ['zookeeper-zoo.cfg', 'zookeeper', 'zoo.cfg'],
    ['zookeeper-logback.xml', 'zookeeper', 'logback.xml'],
    ['kafka-server.properties', 'kafka', 'server.properties'],
    ['kafka-log4j.properties', 'kafka', 'log4j.properties'],
  ] as const)('writes %s as it always did', (name, server, file) => {
    expect(written(server === 'zookeeper' ? zookeeper : kafka)(file)).toBe(fixture(name));
  });

  it('starts the JVMs with the same arguments as always', () => {
    expect(jvmArgs(cfg, zookeeper).join('\n') + '\n').toBe(fixture('zookeeper-jvm-args.txt'));
    expect(jvmArgs(cfg, kafka).join('\n') + '\n').toBe(fixture('kafka-jvm-args.txt'));
  });
});

describe('the HA infra (--ha, NONO_INFRA_HA=1)', () => {
  const cfg = config({ ...FIXTURE_ENV, NONO_INFRA_HA: '1' });

  it('is three ZooKeeper servers and three Kafka nodes, named in comma-separated connect strings', () => {
    expect(cfg.ha).toBe(true);
    expect(cfg.serverNames).toEqual([
      'zookeeper-1',
      'zookeeper-2',
      'zookeeper-3',
      'kafka-1',
      'kafka-2',
      'kafka-3',
    ]);
    expect(cfg.zkConnect).toBe('127.0.0.1:2281,127.0.0.1:2282,127.0.0.1:2283');
    expect(cfg.kafkaBrokers).toBe('127.0.0.1:9192,127.0.0.1:9193,127.0.0.1:9194');
    expect(config({ ...FIXTURE_ENV }, { ha: true }).serverNames).toEqual(cfg.serverNames);
  });

  it('keeps its data apart from the single-node infra’s (infra/.run-ha by default)', () => {
    expect(config({}, { ha: true }).runDir).toBe(join(REPO_ROOT, 'infra/.run-ha'));
    expect(config({}).runDir).toBe(join(REPO_ROOT, 'infra/.run'));
  });

  it('makes every ZooKeeper server a member of one ensemble, with its own id', () => {
    for (const [index, name] of ['zookeeper-1', 'zookeeper-2', 'zookeeper-3'].entries()) {
      const srv = cfg.servers[name];
      if (srv === undefined) throw new Error(`${name} missing`);
      const read = written(srv);
      expect(read('myid')).toBe(`${index + 1}\n`);
      const zoo = properties(read('zoo.cfg'));
      expect(zoo.get('clientPort')).toBe(String(2281 + index));
      expect([zoo.get('server.1'), zoo.get('server.2'), zoo.get('server.3')]).toEqual([
        '127.0.0.1:2284:2287',
        '127.0.0.1:2285:2288',
        '127.0.0.1:2286:2289',
      ]);
    }
  });

  it('makes every Kafka node a broker and one of three KRaft controllers, with production’s replication', () => {
    for (const [index, name] of ['kafka-1', 'kafka-2', 'kafka-3'].entries()) {
      const srv = cfg.servers[name];
      if (srv === undefined) throw new Error(`${name} missing`);
      const props = properties(written(srv)('server.properties'));
      expect(props.get('process.roles')).toBe('broker,controller');
      expect(props.get('node.id')).toBe(String(index + 1));
      expect(props.get('controller.quorum.voters')).toBe(
        '1@127.0.0.1:9195,2@127.0.0.1:9196,3@127.0.0.1:9197',
      );
      expect(props.get('advertised.listeners')).toBe(`PLAINTEXT://127.0.0.1:${9192 + index}`);
      for (const [key, value] of [
        ['default.replication.factor', '3'],
        ['min.insync.replicas', '2'],
        ['offsets.topic.replication.factor', '3'],
        ['transaction.state.log.replication.factor', '3'],
        ['transaction.state.log.min.isr', '2'],
        ['unclean.leader.election.enable', 'false'],
        ['log.retention.ms', '-1'],
      ] as const)
        expect(props.get(key), key).toBe(value);
    }
  });

  it('takes its ports from NONO_ZK_PORTS, NONO_ZK_PEER_PORTS, NONO_KAFKA_PORTS and NONO_KAFKA_CONTROLLER_PORTS', () => {
    const custom = config({
      ...FIXTURE_ENV,
      NONO_INFRA_HA: 'true',
      NONO_ZK_PORTS: '2291, 2292, 2293',
      NONO_ZK_PEER_PORTS: '2294:2297,2295:2298,2296:2299',
      NONO_KAFKA_PORTS: '9190,9191,9192',
      NONO_KAFKA_CONTROLLER_PORTS: '9193,9194,9195',
    });
    expect(custom.zkConnect).toBe('127.0.0.1:2291,127.0.0.1:2292,127.0.0.1:2293');
    expect(custom.kafkaBrokers).toBe('127.0.0.1:9190,127.0.0.1:9191,127.0.0.1:9192');
    expect(custom.servers['zookeeper-3']).toMatchObject({ quorumPort: 2296, electionPort: 2299 });
    expect(custom.servers['kafka-2']).toMatchObject({ port: 9191, controllerPort: 9194 });
  });

  it.each([
    [
      { NONO_ZK_PORTS: '2291,2292' },
      /NONO_ZK_PORTS="2291,2292" is not valid: expected 3 comma-separated TCP ports/,
    ],
    [{ NONO_ZK_PORTS: '2291,,2293' }, /NONO_ZK_PORTS/],
    [{ NONO_ZK_PEER_PORTS: '2294,2295,2296' }, /NONO_ZK_PEER_PORTS=.* expected 3 quorum:election port pairs/],
    [{ NONO_KAFKA_PORTS: '9190,9191,70000' }, /NONO_KAFKA_PORTS="70000" is not a TCP port number/],
    [{ NONO_KAFKA_CONTROLLER_PORTS: '9192,9193,9194' }, /the HA ports must all differ/],
    [{ NONO_INFRA_HA: 'maybe' }, /NONO_INFRA_HA="maybe" is not valid: expected 1 or 0/],
  ])('refuses %j with a sentence naming the variable', (env, message) => {
    expect(() => config({ ...FIXTURE_ENV, NONO_INFRA_HA: '1', ...env })).toThrow(message);
  });

  it('gives the six JVMs smaller heaps than the single-node pair', () => {
    const zk = cfg.servers['zookeeper-1'];
    const kafka = cfg.servers['kafka-1'];
    if (zk === undefined || kafka === undefined) throw new Error('HA servers missing');
    expect(jvmArgs(cfg, zk).slice(0, 2)).toEqual(['-Xms32m', '-Xmx192m']);
    expect(jvmArgs(cfg, kafka).slice(0, 2)).toEqual(['-Xms128m', '-Xmx448m']);
  });
});

describe('the single node with authenticated listeners (NONO_KAFKA_SASL_PORT, NONO_KAFKA_SASL_SSL_PORT)', () => {
  const env = {
    ...FIXTURE_ENV,
    NONO_KAFKA_SASL_PORT: '9094',
    NONO_KAFKA_SASL_SSL_PORT: '9095',
    NONO_KAFKA_SASL_USERS: 'nono:secret-1,reader:secret-2',
    NONO_KAFKA_TLS_KEYSTORE_PEM: '/certs/broker-keystore.pem',
    NONO_KAFKA_TLS_TRUSTSTORE_PEM: '/certs/ca.pem',
  };

  it('keeps the PLAINTEXT listener (infra probes it) and adds SASL_PLAINTEXT and SASL_SSL with PLAIN and SCRAM', () => {
    const kafka = config(env).servers['kafka'];
    if (kafka === undefined) throw new Error('kafka missing');
    const props = properties(written(kafka)('server.properties'));
    expect(props.get('listeners')).toBe(
      'PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9094,SASL_SSL://127.0.0.1:9095,CONTROLLER://127.0.0.1:9093',
    );
    expect(props.get('inter.broker.listener.name')).toBe('PLAINTEXT');
    expect(props.get('sasl.enabled.mechanisms')).toBe('PLAIN,SCRAM-SHA-256,SCRAM-SHA-512');
    expect(props.get('listener.name.sasl_ssl.plain.sasl.jaas.config')).toContain(
      'user_nono="secret-1" user_reader="secret-2"',
    );
    expect(props.get('ssl.keystore.location')).toBe('/certs/broker-keystore.pem');
  });

  it('leaves the default single node unchanged', () => {
    const kafka = config(FIXTURE_ENV).servers['kafka'];
    if (kafka === undefined) throw new Error('kafka missing');
    expect(written(kafka)('server.properties')).not.toContain('SASL');
  });

  it.each([
    [{ NONO_KAFKA_SASL_USERS: '' }, /needs NONO_KAFKA_SASL_USERS/],
    [{ NONO_KAFKA_SASL_USERS: 'nono:has space' }, /NONO_KAFKA_SASL_USERS is name:password/],
    [{ NONO_KAFKA_SASL_PORT: '9093' }, /must differ/],
    [{ NONO_KAFKA_TLS_KEYSTORE_PEM: '' }, /needs NONO_KAFKA_TLS_KEYSTORE_PEM/],
  ])('refuses %j with a sentence naming the variable', (change, message) => {
    expect(() => config({ ...env, ...change })).toThrow(message);
  });
});
