import { ErrorCode, NonoError } from '@nono/domain';
import { KAFKA_SASL_MECHANISMS, type KafkaSaslMechanism, type KafkaSecurity } from '@nono/events';
import { type EnvReader } from './env-reader.js';

/**
 * The Kafka clients' TLS and SASL settings, shared by every service (all of them read
 * CommonConfig):
 *
 * - NONO_KAFKA_TLS: `true` for TLS to the brokers (implied by any NONO_KAFKA_TLS_*_FILE);
 * - NONO_KAFKA_TLS_CA_FILE: PEM of the CA(s) that signed the brokers' certificates (default: Node's CAs);
 * - NONO_KAFKA_TLS_CERT_FILE and NONO_KAFKA_TLS_KEY_FILE: a client certificate and its key, for
 *   brokers that ask for one (mutual TLS), both or neither;
 * - NONO_KAFKA_TLS_REJECT_UNAUTHORIZED: `false` accepts a broker certificate that does not verify
 *   (test clusters only), default `true`;
 * - NONO_KAFKA_SASL_MECHANISM: `plain`, `scram-sha-256` or `scram-sha-512`, with
 *   NONO_KAFKA_SASL_USERNAME and NONO_KAFKA_SASL_PASSWORD (PLAIN sends the password as it is:
 *   use it over TLS only).
 *
 * Paths only: the files are read when a client is made (createKafka), so a renewed certificate is
 * picked up on restart and the configuration object holds no key material.
 */
export function loadKafkaSecurity(env: EnvReader): KafkaSecurity {
  const caFile = env.optionalString('NONO_KAFKA_TLS_CA_FILE');
  const certFile = env.optionalString('NONO_KAFKA_TLS_CERT_FILE');
  const keyFile = env.optionalString('NONO_KAFKA_TLS_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new NonoError(
      ErrorCode.InvalidConfig,
      'NONO_KAFKA_TLS_CERT_FILE and NONO_KAFKA_TLS_KEY_FILE are not valid: expected both (a client certificate and its key) or neither',
    );
  const anyFile = caFile !== undefined || certFile !== undefined;
  const tlsOn = env.bool('NONO_KAFKA_TLS', anyFile);
  if (!tlsOn && anyFile)
    throw new NonoError(
      ErrorCode.InvalidConfig,
      'NONO_KAFKA_TLS=false is not valid with NONO_KAFKA_TLS_*_FILE set: expected true, or no TLS files',
    );
  const tls = tlsOn
    ? {
        caFile,
        certFile,
        keyFile,
        rejectUnauthorized: env.bool('NONO_KAFKA_TLS_REJECT_UNAUTHORIZED', true),
      }
    : undefined;

  const mechanism = env.optionalString('NONO_KAFKA_SASL_MECHANISM')?.toLowerCase();
  const username = env.optionalString('NONO_KAFKA_SASL_USERNAME');
  const password = env.optionalString('NONO_KAFKA_SASL_PASSWORD');
  if (mechanism === undefined) {
    if (username !== undefined || password !== undefined)
      throw new NonoError(
        ErrorCode.InvalidConfig,
        `NONO_KAFKA_SASL_MECHANISM is missing: expected one of ${KAFKA_SASL_MECHANISMS.join(', ')} with NONO_KAFKA_SASL_USERNAME and NONO_KAFKA_SASL_PASSWORD`,
      );
    return Object.freeze({ tls, sasl: undefined });
  }
  if (!(KAFKA_SASL_MECHANISMS as readonly string[]).includes(mechanism))
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `NONO_KAFKA_SASL_MECHANISM=${JSON.stringify(mechanism)} is not valid: expected one of ${KAFKA_SASL_MECHANISMS.join(', ')}`,
    );
  if (username === undefined || password === undefined)
    // Never echo the password.
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `NONO_KAFKA_SASL_MECHANISM=${mechanism} needs NONO_KAFKA_SASL_USERNAME and NONO_KAFKA_SASL_PASSWORD`,
    );
  return Object.freeze({
    tls,
    sasl: { mechanism: mechanism as KafkaSaslMechanism, username, password },
  });
}
