import { ErrorCode, NonoError } from '@nono/domain';
import { type KafkaSecurity } from '@nono/events';
import { parseKafkaBrokers, parseZkConnect } from './connect-strings.js';
import { loadKafkaSecurity } from './kafka-security-config.js';

/**
 * Reads configuration from an environment map, once, at start. Each accessor names the
 * variable and the accepted form when a value is wrong, so bad configuration fails fast
 * with a sentence an operator can act on. Only a service's main.ts passes process.env.
 */
export class EnvReader {
  readonly #env: Readonly<Record<string, string | undefined>>;

  constructor(env: Readonly<Record<string, string | undefined>>) {
    this.#env = env;
  }

  #raw(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.#raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.#raw(name);
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    const min = range.min ?? Number.MIN_SAFE_INTEGER;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (!/^-?\d+$/.test(raw) || value < min || value > max) {
      throw invalid(name, raw, `an integer from ${min} to ${max}`);
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw invalid(name, raw, 'true or false');
  }

  list(name: string, fallback: readonly string[]): string[] {
    const raw = this.#raw(name);
    if (raw === undefined) return [...fallback];
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw))
      throw invalid(name, raw, `one of ${allowed.join(', ')}`);
    return raw as T;
  }
}

function invalid(name: string, raw: string, accepted: string): NonoError {
  return new NonoError(
    ErrorCode.InvalidConfig,
    `${name}=${JSON.stringify(raw)} is not valid: expected ${accepted}`,
  );
}

/** Settings every service shares. */
export interface CommonConfig {
  readonly zkConnect: string;
  /**
   * `user:password` of the ZooKeeper digest identity (NONO_ZK_AUTH): when set, the service
   * authenticates with it and every node it creates under the nono root is readable and
   * writable by that identity only. Undefined: no authentication, open nodes.
   */
  readonly zkAuth: string | undefined;
  readonly zkRoot: string;
  readonly zkSessionTimeoutMs: number;
  readonly kafkaBrokers: readonly string[];
  /**
   * Replication of the topics a service creates (NONO_KAFKA_REPLICATION_FACTOR,
   * NONO_KAFKA_MIN_INSYNC_REPLICAS); undefined: derived from the brokers the cluster reports
   * (3 and 2 from three brokers on, 1 and 1 on one).
   */
  readonly kafkaReplication: {
    readonly replicationFactor: number | undefined;
    readonly minInsyncReplicas: number | undefined;
  };
  /** TLS and SASL of every Kafka client the service makes (NONO_KAFKA_TLS_*, NONO_KAFKA_SASL_*). */
  readonly kafkaSecurity: KafkaSecurity;
  readonly topicPrefix: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

export function loadCommonConfig(env: EnvReader): CommonConfig {
  return {
    zkConnect: parseZkConnect(env.string('NONO_ZK_CONNECT', '127.0.0.1:2181')),
    zkAuth: parseZkAuth(env.optionalString('NONO_ZK_AUTH')),
    zkRoot: env.string('NONO_ZK_ROOT', '/nono'),
    zkSessionTimeoutMs: env.int('NONO_ZK_SESSION_TIMEOUT_MS', 10_000, { min: 2_000, max: 60_000 }),
    kafkaBrokers: parseKafkaBrokers(env.string('NONO_KAFKA_BROKERS', '127.0.0.1:9092')),
    kafkaReplication: loadKafkaReplication(env),
    kafkaSecurity: loadKafkaSecurity(env),
    topicPrefix: env.string('NONO_TOPIC_PREFIX', 'nono.'),
    logLevel: env.oneOf('NONO_LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace']),
  };
}

function loadKafkaReplication(env: EnvReader): CommonConfig['kafkaReplication'] {
  const optionalInt = (name: string): number | undefined =>
    env.optionalString(name) === undefined ? undefined : env.int(name, 1, { min: 1, max: 16 });
  const replicationFactor = optionalInt('NONO_KAFKA_REPLICATION_FACTOR');
  const minInsyncReplicas = optionalInt('NONO_KAFKA_MIN_INSYNC_REPLICAS');
  if (
    replicationFactor !== undefined &&
    minInsyncReplicas !== undefined &&
    minInsyncReplicas > replicationFactor
  )
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `NONO_KAFKA_MIN_INSYNC_REPLICAS=${minInsyncReplicas} is not valid: expected at most NONO_KAFKA_REPLICATION_FACTOR (${replicationFactor}), or no write could succeed`,
    );
  return { replicationFactor, minInsyncReplicas };
}

function parseZkAuth(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  // Never echo the value: it is a password.
  if (!/^[^:\s]+:\S{8,}$/.test(raw))
    throw new NonoError(
      ErrorCode.InvalidConfig,
      'NONO_ZK_AUTH is not valid: expected user:password (no spaces, a password of at least 8 characters)',
    );
  return raw;
}
