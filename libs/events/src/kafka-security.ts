import { readFileSync } from 'node:fs';
import { ErrorCode, NonoError } from '@nono/domain';
import { type KafkaConfig, type SASLOptions } from 'kafkajs';

/**
 * How a Kafka client authenticates and encrypts: what kafkajs supports, as the services'
 * configuration names it (`loadKafkaSecurity` in @nono/runtime reads it from NONO_KAFKA_TLS_* and
 * NONO_KAFKA_SASL_*). Files are named, not inlined, so the configuration holds no key material;
 * they are read when a client is made.
 */
export interface KafkaSecurity {
  /** TLS to the brokers; undefined: plaintext. */
  readonly tls: KafkaTls | undefined;
  /** SASL authentication; undefined: none. */
  readonly sasl: KafkaSasl | undefined;
}

export interface KafkaTls {
  /** PEM file of the CA(s) that signed the brokers' certificates; undefined: Node's default CAs. */
  readonly caFile: string | undefined;
  /** PEM files of a client certificate and its key (mutual TLS); both or neither. */
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  /** false only where a broker's certificate cannot be checked (a test cluster): never in production. */
  readonly rejectUnauthorized: boolean;
}

export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';
export const KAFKA_SASL_MECHANISMS: readonly KafkaSaslMechanism[] = [
  'plain',
  'scram-sha-256',
  'scram-sha-512',
];

export interface KafkaSasl {
  readonly mechanism: KafkaSaslMechanism;
  readonly username: string;
  readonly password: string;
}

export const NO_KAFKA_SECURITY: KafkaSecurity = Object.freeze({ tls: undefined, sasl: undefined });

/** kafkajs's `ssl` and `sasl` client options for `security`, the TLS files read now. */
export function kafkaSecurityOptions(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const options: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  const { tls, sasl } = security;
  if (tls !== undefined) {
    options.ssl = {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.caFile === undefined ? {} : { ca: [readPem(tls.caFile, 'NONO_KAFKA_TLS_CA_FILE')] }),
      ...(tls.certFile === undefined ? {} : { cert: readPem(tls.certFile, 'NONO_KAFKA_TLS_CERT_FILE') }),
      ...(tls.keyFile === undefined ? {} : { key: readPem(tls.keyFile, 'NONO_KAFKA_TLS_KEY_FILE') }),
    };
  }
  if (sasl !== undefined) options.sasl = saslOptions(sasl);
  return options;
}

function saslOptions(sasl: KafkaSasl): SASLOptions {
  const { username, password } = sasl;
  // One literal per mechanism: kafkajs types each mechanism's options apart.
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

function readPem(file: string, variable: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `${variable}=${JSON.stringify(file)} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}
