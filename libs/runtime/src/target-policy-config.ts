import { type ClusterEndpoint, ErrorCode, NonoError, TargetPolicy } from '@nono/domain';
import { type EnvReader } from './env-reader.js';

export const DEFAULT_ALLOWED_TARGET_HOSTS: readonly string[] = ['127.0.0.1', 'localhost'];

/**
 * The target policy from the environment, read the same way by the API (when a task is
 * written) and by every scheduler (when it reads one), so both refuse the same URLs. The
 * cluster's own endpoints come from the same variables the services listen and connect
 * with, at their defaults when unset, plus NONO_CLUSTER_ENDPOINTS for what no variable
 * here names (other schedulers' ops ports, the Kafka controller port, a proxy in front).
 */
export function loadTargetPolicy(env: EnvReader): TargetPolicy {
  return new TargetPolicy(
    env.list('NONO_ALLOWED_TARGET_HOSTS', DEFAULT_ALLOWED_TARGET_HOSTS),
    clusterEndpoints(env),
    'NONO_ALLOWED_TARGET_HOSTS',
  );
}

export function clusterEndpoints(env: EnvReader): ClusterEndpoint[] {
  const zkServers = env.string('NONO_ZK_CONNECT', '127.0.0.1:2181').split('/')[0] ?? '';
  // Every history replica the API may read (NONO_HISTORY_URLS) and the single NONO_HISTORY_URL.
  const historyUrls = [
    ...env.list('NONO_HISTORY_URLS', []).map((url) => parseUrl(url, 'NONO_HISTORY_URLS')),
    parseUrl(env.string('NONO_HISTORY_URL', 'http://127.0.0.1:7300'), 'NONO_HISTORY_URL'),
  ];
  return [
    ...hostPorts(zkServers.split(','), 2181, 'NONO_ZK_CONNECT', 'ZooKeeper'),
    ...hostPorts(env.list('NONO_KAFKA_BROKERS', ['127.0.0.1:9092']), 9092, 'NONO_KAFKA_BROKERS', 'Kafka'),
    ...historyUrls.map((url) => ({
      name: 'history',
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    })),
    listener(env, 'history', 'NONO_HISTORY_HOST', 'NONO_HISTORY_PORT', 7300),
    listener(env, 'API', 'NONO_API_HOST', 'NONO_API_PORT', 7200),
    listener(env, 'scheduler ops', 'NONO_SCHEDULER_HOST', 'NONO_SCHEDULER_PORT', 7400),
    listener(env, 'alerts', 'NONO_ALERTS_HOST', 'NONO_ALERTS_PORT', 7600),
    ...hostPorts(
      env.list('NONO_CLUSTER_ENDPOINTS', []),
      undefined,
      'NONO_CLUSTER_ENDPOINTS',
      'a cluster endpoint',
    ),
  ];
}

function listener(
  env: EnvReader,
  name: string,
  hostVariable: string,
  portVariable: string,
  defaultPort: number,
): ClusterEndpoint {
  return {
    name,
    host: env.string(hostVariable, '127.0.0.1'),
    port: env.int(portVariable, defaultPort, { min: 0, max: 65_535 }),
  };
}

function hostPorts(
  items: readonly string[],
  defaultPort: number | undefined,
  variable: string,
  name: string,
): ClusterEndpoint[] {
  return items
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(item);
      const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
      if (match?.[1] === undefined || port === undefined)
        throw new NonoError(
          ErrorCode.InvalidConfig,
          `${variable}=${JSON.stringify(items.join(','))} is not valid: "${item}" is not host:port`,
        );
      return { name, host: match[1], port };
    });
}

function parseUrl(text: string, variable: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `${variable} is not valid: ${JSON.stringify(text)} is not an http(s) URL`,
    );
  }
}
