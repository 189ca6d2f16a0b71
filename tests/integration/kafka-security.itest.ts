import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NonoEvent } from '@nono/domain';
import { EventPublisher, createKafka, decodeEvent, ensureTopics, topicNames } from '@nono/events';
import { EnvReader, loadCommonConfig } from '@nono/runtime';
import { type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTask, connectZk, putTask, startScheduler } from '../support/cluster.js';
import { firedEvent } from '../support/events.js';
import { createIsolatedTopics, eventually, isolateOn } from '../support/isolation.js';
import { type PrivateInfra, startPrivateInfra } from '../support/private-infra.js';
import { freePort, startTestWorker } from '../support/processes.js';

/**
 * Kafka's TLS and SASL settings (NONO_KAFKA_TLS_*, NONO_KAFKA_SASL_*) on a real broker: infra/'s
 * single node with a SASL_PLAINTEXT and a SASL_SSL listener (PLAIN, SCRAM-SHA-256/512), its
 * certificate made here with openssl. Every client is made as the services make theirs:
 * loadCommonConfig over an environment, then createKafka with its kafkaSecurity.
 */
const USER = 'nono-svc';
const PASSWORD = 'right-password-42';

/** A CA and a broker certificate for 127.0.0.1 signed by it; the broker's key in PKCS#8, unencrypted. */
function makeCertificates(dir: string): { ca: string; keystore: string } {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=nono test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  );
  openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'broker.key');
  openssl('req', '-new', '-key', 'broker.key', '-subj', '/CN=127.0.0.1', '-out', 'broker.csr');
  writeFileSync(join(dir, 'broker.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'broker.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'broker.ext',
    '-out',
    'broker.pem',
  );
  // Kafka's PEM keystore: the private key, then the certificate chain.
  const keystore = join(dir, 'broker-keystore.pem');
  writeFileSync(
    keystore,
    readFileSync(join(dir, 'broker.key'), 'utf8') + readFileSync(join(dir, 'broker.pem'), 'utf8'),
  );
  return { ca: join(dir, 'ca.pem'), keystore };
}

describe('Kafka clients with TLS and SASL, configured as the services are (real broker)', () => {
  let infra: PrivateInfra;
  let certs: { ca: string; keystore: string };
  let saslPort: number;
  let saslSslPort: number;
  const stops: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    certs = makeCertificates(mkdtempSync(join(tmpdir(), 'nono-kafka-tls-')));
    saslPort = await freePort();
    saslSslPort = await freePort();
    infra = await startPrivateInfra({
      env: {
        NONO_KAFKA_SASL_PORT: String(saslPort),
        NONO_KAFKA_SASL_SSL_PORT: String(saslSslPort),
        NONO_KAFKA_SASL_USERS: `${USER}:${PASSWORD}`,
        NONO_KAFKA_TLS_KEYSTORE_PEM: certs.keystore,
        NONO_KAFKA_TLS_TRUSTSTORE_PEM: certs.ca,
      },
    });
  }, 240_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await infra?.down();
  }, 60_000);

  /** A client made from an environment, as a service's main.ts makes it. */
  const kafkaFrom = (env: Record<string, string>, clientId: string): Kafka => {
    const config = loadCommonConfig(new EnvReader(env));
    return createKafka({ brokers: config.kafkaBrokers, clientId, security: config.kafkaSecurity });
  };

  /** Creates the topics, publishes facts with nono's publisher and reads them back. */
  async function roundTrip(kafka: Kafka, prefix: string): Promise<NonoEvent[]> {
    const topics = topicNames(prefix);
    await ensureTopics(kafka, topics, { partitions: 1 });
    const publisher = new EventPublisher(kafka, topics);
    stops.push(() => publisher.disconnect());
    const sent = [firedEvent('alpha', 1), firedEvent('alpha', 2)];
    await publisher.publish(sent);
    const consumer = kafka.consumer({ groupId: `${prefix}reader` });
    stops.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic: topics.executions, fromBeginning: true });
    const received: NonoEvent[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        const decoded = decodeEvent(message.value);
        if (decoded.ok) received.push(decoded.value);
      },
    });
    await eventually(
      async () => (received.length >= sent.length ? true : undefined),
      60_000,
      'the facts back',
    );
    return received;
  }

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'])(
    'publishes and consumes over SASL_PLAINTEXT with %s',
    async (mechanism) => {
      const kafka = kafkaFrom(
        {
          NONO_KAFKA_BROKERS: `127.0.0.1:${saslPort}`,
          NONO_KAFKA_SASL_MECHANISM: mechanism,
          NONO_KAFKA_SASL_USERNAME: USER,
          NONO_KAFKA_SASL_PASSWORD: PASSWORD,
        },
        `sasl-${mechanism}`,
      );
      const received = await roundTrip(kafka, `t.sasl-${mechanism}.`);
      expect(received.map((e) => e.id)).toEqual([firedEvent('alpha', 1).id, firedEvent('alpha', 2).id]);
    },
    90_000,
  );

  it('publishes and consumes over SASL_SSL, the broker certificate checked against the configured CA', async () => {
    const kafka = kafkaFrom(
      {
        NONO_KAFKA_BROKERS: `127.0.0.1:${saslSslPort}`,
        NONO_KAFKA_TLS_CA_FILE: certs.ca,
        NONO_KAFKA_SASL_MECHANISM: 'scram-sha-512',
        NONO_KAFKA_SASL_USERNAME: USER,
        NONO_KAFKA_SASL_PASSWORD: PASSWORD,
      },
      'sasl-ssl',
    );
    expect(await roundTrip(kafka, 't.sasl-ssl.')).toHaveLength(2);
  }, 90_000);

  it('refuses a wrong password with kafkajs authentication error, not a retry loop', async () => {
    const kafka = kafkaFrom(
      {
        NONO_KAFKA_BROKERS: `127.0.0.1:${saslPort}`,
        NONO_KAFKA_SASL_MECHANISM: 'scram-sha-256',
        NONO_KAFKA_SASL_USERNAME: USER,
        NONO_KAFKA_SASL_PASSWORD: 'wrong-password-42',
      },
      'sasl-wrong',
    );
    const admin = kafka.admin();
    stops.push(() => admin.disconnect());
    await expect(admin.connect()).rejects.toMatchObject({
      name: 'KafkaJSSASLAuthenticationError',
      message: expect.stringContaining('SASL SCRAM SHA256 authentication failed') as unknown,
    });
  }, 60_000);

  it('refuses a broker whose certificate the configured CA did not sign', async () => {
    const otherCa = makeCertificates(mkdtempSync(join(tmpdir(), 'nono-kafka-other-ca-'))).ca;
    const kafka = kafkaFrom(
      {
        NONO_KAFKA_BROKERS: `127.0.0.1:${saslSslPort}`,
        NONO_KAFKA_TLS_CA_FILE: otherCa,
        NONO_KAFKA_SASL_MECHANISM: 'scram-sha-512',
        NONO_KAFKA_SASL_USERNAME: USER,
        NONO_KAFKA_SASL_PASSWORD: PASSWORD,
      },
      'tls-other-ca',
    );
    const admin = kafka.admin();
    stops.push(() => admin.disconnect());
    await expect(admin.connect()).rejects.toThrow(/certificate|self.signed|unable to verify/i);
  }, 90_000);

  it('a scheduler publishes its facts over SASL_SSL with the settings in its environment', async () => {
    const iso = await isolateOn('kafka-security', infra.zkConnect, infra.kafkaBrokers);
    await createIsolatedTopics(iso, 1); // over infra's PLAINTEXT listener: the test's own setup
    const zk = await connectZk(iso);
    stops.push(async () => zk.close());
    const worker = await startTestWorker();
    stops.push(() => worker.process.kill());
    const scheduler = await startScheduler(iso, 'tls', {
      NONO_KAFKA_BROKERS: `127.0.0.1:${saslSslPort}`,
      NONO_KAFKA_TLS_CA_FILE: certs.ca,
      NONO_KAFKA_SASL_MECHANISM: 'scram-sha-256',
      NONO_KAFKA_SASL_USERNAME: USER,
      NONO_KAFKA_SASL_PASSWORD: PASSWORD,
    });
    stops.push(() => scheduler.kill('SIGTERM'));
    await putTask(
      zk,
      buildTask('secured', {
        schedule: { kind: 'interval', everyMs: 1000 },
        target: { url: `${worker.url}/ok/secured` },
      }),
    );
    const reader = kafkaFrom(
      {
        NONO_KAFKA_BROKERS: `127.0.0.1:${saslSslPort}`,
        NONO_KAFKA_TLS_CA_FILE: certs.ca,
        NONO_KAFKA_SASL_MECHANISM: 'plain',
        NONO_KAFKA_SASL_USERNAME: USER,
        NONO_KAFKA_SASL_PASSWORD: PASSWORD,
      },
      'secured-reader',
    ).consumer({ groupId: `${iso.topicPrefix}reader` });
    stops.push(() => reader.disconnect());
    await reader.connect();
    await reader.subscribe({ topic: iso.topics.executions, fromBeginning: true });
    const types: string[] = [];
    await reader.run({
      eachMessage: async ({ message }) => {
        const decoded = decodeEvent(message.value);
        if (decoded.ok && decoded.value.subject === 'secured') types.push(decoded.value.type);
      },
    });
    await eventually(
      async () => (types.includes('nono.execution.succeeded.v1') ? true : undefined),
      60_000,
      `the scheduler's facts over SASL_SSL (log: ${scheduler.logFile})`,
    );
    expect(types).toContain('nono.execution.fired.v1');
  }, 120_000);
});
