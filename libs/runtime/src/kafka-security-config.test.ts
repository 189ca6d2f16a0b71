import { ErrorCode } from '@nono/domain';
import { describe, expect, it } from 'vitest';
import { EnvReader, loadCommonConfig } from './env-reader.js';
import { loadKafkaSecurity } from './kafka-security-config.js';

const load = (env: Record<string, string>) => loadKafkaSecurity(new EnvReader(env));

describe('Kafka TLS and SASL settings', () => {
  it('are off by default, and every service reads them through the common config', () => {
    expect(load({})).toEqual({ tls: undefined, sasl: undefined });
    expect(loadCommonConfig(new EnvReader({})).kafkaSecurity).toEqual({ tls: undefined, sasl: undefined });
  });

  it.each<[string, Record<string, string>, unknown]>([
    [
      "TLS with Node's CAs",
      { NONO_KAFKA_TLS: 'true' },
      { caFile: undefined, certFile: undefined, keyFile: undefined, rejectUnauthorized: true },
    ],
    [
      'TLS implied by a CA file',
      { NONO_KAFKA_TLS_CA_FILE: '/etc/nono/ca.pem' },
      { caFile: '/etc/nono/ca.pem', certFile: undefined, keyFile: undefined, rejectUnauthorized: true },
    ],
    [
      'mutual TLS, certificate checks off (a test cluster)',
      {
        NONO_KAFKA_TLS_CERT_FILE: '/c.pem',
        NONO_KAFKA_TLS_KEY_FILE: '/k.pem',
        NONO_KAFKA_TLS_REJECT_UNAUTHORIZED: 'false',
      },
      { caFile: undefined, certFile: '/c.pem', keyFile: '/k.pem', rejectUnauthorized: false },
    ],
  ])('take %s', (_, env, tls) => {
    expect(load(env).tls).toEqual(tls);
  });

  it.each(['plain', 'scram-sha-256', 'SCRAM-SHA-512'])(
    'take SASL %s with a user and password',
    (mechanism) => {
      const security = load({
        NONO_KAFKA_SASL_MECHANISM: mechanism,
        NONO_KAFKA_SASL_USERNAME: 'nono',
        NONO_KAFKA_SASL_PASSWORD: 'p4ss word',
      });
      expect(security.sasl).toEqual({
        mechanism: mechanism.toLowerCase(),
        username: 'nono',
        password: 'p4ss word',
      });
    },
  );

  it.each<[string, Record<string, string>, string]>([
    ['a certificate without its key', { NONO_KAFKA_TLS_CERT_FILE: '/c.pem' }, 'NONO_KAFKA_TLS_KEY_FILE'],
    [
      'TLS off with a CA file',
      { NONO_KAFKA_TLS: 'false', NONO_KAFKA_TLS_CA_FILE: '/ca.pem' },
      'NONO_KAFKA_TLS=false',
    ],
    ['an unknown mechanism', { NONO_KAFKA_SASL_MECHANISM: 'gssapi' }, 'NONO_KAFKA_SASL_MECHANISM="gssapi"'],
    [
      'a mechanism without a password',
      { NONO_KAFKA_SASL_MECHANISM: 'plain', NONO_KAFKA_SASL_USERNAME: 'u' },
      'NONO_KAFKA_SASL_PASSWORD',
    ],
    [
      'a user without a mechanism',
      { NONO_KAFKA_SASL_USERNAME: 'u', NONO_KAFKA_SASL_PASSWORD: 'secret-pw' },
      'NONO_KAFKA_SASL_MECHANISM is missing',
    ],
    [
      'a bad boolean',
      { NONO_KAFKA_TLS_REJECT_UNAUTHORIZED: 'maybe', NONO_KAFKA_TLS: '1' },
      'NONO_KAFKA_TLS_REJECT_UNAUTHORIZED',
    ],
  ])('refuse %s at start, naming the variable', (_, env, named) => {
    expect(() => load(env)).toThrow(named);
    expect(() => load(env)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidConfig }));
  });

  it('never echo the password in an error', () => {
    expect(() =>
      load({
        NONO_KAFKA_SASL_MECHANISM: 'kerberos',
        NONO_KAFKA_SASL_USERNAME: 'u',
        NONO_KAFKA_SASL_PASSWORD: 'hunter2-secret',
      }),
    ).toThrow(expect.not.objectContaining({ message: expect.stringContaining('hunter2') }));
  });
});
