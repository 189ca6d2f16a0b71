import { ErrorCode, NonoError } from '@nono/domain';

/**
 * The two multi-host connect strings every service reads. ZooKeeper's C client splits
 * `host:port,host:port/chroot` itself, but a host without a port makes `zookeeper_init` fail
 * ("ZooKeeper session closed before it connected", with the reason only in the C client's own
 * stderr line), which a scheduler would retry for ever; a Kafka broker without a port fails
 * only at the first connection. Both are checked here at start, with the variable named, and
 * given back without the spaces people put after commas.
 */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/[\],]+):(\d{1,5})$/;

function hostPortList(raw: string, variable: string, what: string): string[] {
  const items = raw.split(',').map((item) => item.trim());
  for (const item of items) {
    const match = HOST_PORT.exec(item);
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65_535)
      throw new NonoError(
        ErrorCode.InvalidConfig,
        `${variable}=${JSON.stringify(raw)} is not valid: ${item === '' ? 'an empty entry' : `"${item}"`} is not host:port (${what})`,
      );
  }
  return items;
}

/** `host:port[,host:port…][/chroot]`, e.g. `zk1:2181,zk2:2181,zk3:2181/nono-prod`. */
export function parseZkConnect(raw: string, variable = 'NONO_ZK_CONNECT'): string {
  const slash = raw.indexOf('/');
  const servers = slash < 0 ? raw : raw.slice(0, slash);
  const chroot = slash < 0 ? '' : raw.slice(slash).trim();
  const hosts = hostPortList(servers, variable, 'every ZooKeeper server of the ensemble, comma-separated');
  if (chroot !== '' && !/^(\/[^\s/]+)+$/.test(chroot))
    throw new NonoError(
      ErrorCode.InvalidConfig,
      `${variable}=${JSON.stringify(raw)} is not valid: the chroot "${chroot}" must be a path like /nono-prod (no spaces, no trailing slash)`,
    );
  return hosts.join(',') + chroot;
}

/** `host:port[,host:port…]`: the brokers a Kafka client bootstraps from (any live one will do). */
export function parseKafkaBrokers(raw: string, variable = 'NONO_KAFKA_BROKERS'): string[] {
  return hostPortList(raw, variable, 'Kafka brokers, comma-separated');
}
