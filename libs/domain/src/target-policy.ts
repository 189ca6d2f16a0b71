import { ErrorCode, type FieldIssue, NonoError } from './errors.js';

/**
 * Which URLs a task may call. The schedulers call targets from inside the network, so an
 * unchecked URL lets whoever defines a task reach internal services (SSRF: cloud metadata,
 * admin ports, nono's own ZooKeeper, Kafka, history and API). The API checks a definition
 * against this policy when it is written and every scheduler checks it again when it reads
 * one from ZooKeeper, with the same rules.
 *
 * An allow-list entry is `[scheme://]host[:port]`:
 * - `host` is an exact name or address (`127.0.0.1`, `[::1]`, `worker.internal`) or
 *   `*.domain` for every subdomain of domain;
 * - `host:port` allows that port only, `host:*` every port;
 * - `https://host` allows only that scheme, on its default port unless one is given;
 * - a bare `host` (the form NONO_ALLOWED_TARGET_HOSTS had before ports) allows every port.
 *
 * Whatever the entries say, the cluster's own endpoints are never allowed: their port is
 * refused on their host name and, when that host is a loopback or wildcard address, on every
 * loopback name (localhost, 127.0.0.0/8, ::1), because those are all the same machine.
 */
export interface ClusterEndpoint {
  /** What it is, for messages: "ZooKeeper", "Kafka", "history", "API", "scheduler ops". */
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

interface AllowEntry {
  readonly text: string;
  readonly scheme: 'http:' | 'https:' | undefined;
  /** Exact host, or the suffix (".example.com") of a wildcard entry. */
  readonly host: string;
  readonly wildcard: boolean;
  /** undefined: any port. */
  readonly port: number | undefined;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

export class TargetPolicy {
  readonly #allowed: readonly AllowEntry[];
  readonly #reserved: readonly ClusterEndpoint[];

  /**
   * `variable` names the setting in errors. Throws NONO_INVALID_CONFIG for an entry that is
   * not of the accepted form or that names one of the cluster's own endpoints.
   */
  constructor(allowed: readonly string[], reserved: readonly ClusterEndpoint[], variable: string) {
    this.#reserved = reserved.map((endpoint) => ({ ...endpoint, host: normaliseHost(endpoint.host) }));
    this.#allowed = allowed
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '')
      .map((entry) => parseEntry(entry, variable));
    for (const entry of this.#allowed) {
      const clash =
        entry.port === undefined || entry.wildcard ? undefined : this.#reservedBy(entry.host, entry.port);
      if (clash !== undefined)
        throw new NonoError(
          ErrorCode.InvalidConfig,
          `${variable} entry "${entry.text}" names ${clash.name} (${clash.host}:${clash.port}), one of the cluster's own endpoints: it can never be a task target`,
        );
    }
  }

  /** Issues for `field` (a URL whose syntax the domain already checked), or none. */
  check(url: string, field = 'target.url'): FieldIssue[] {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return [];
    }
    const host = normaliseHost(parsed.hostname);
    const port = parsed.port === '' ? DEFAULT_PORTS[parsed.protocol] : Number(parsed.port);
    if (port === undefined) return [{ field, message: 'must be an http:// or https:// URL' }];
    if (this.#reservedBy(host, port) !== undefined)
      return [
        {
          field,
          message: `${host}:${port} is one of the cluster's own endpoints (ZooKeeper, Kafka, history, API, scheduler): never a task target`,
        },
      ];
    if (this.#allowed.some((entry) => allows(entry, parsed.protocol, host, port))) return [];
    return [
      {
        field,
        message: `${parsed.protocol}//${host}:${port} is not in the allow-list (NONO_ALLOWED_TARGET_HOSTS)`,
      },
    ];
  }

  #reservedBy(host: string, port: number): ClusterEndpoint | undefined {
    return this.#reserved.find(
      (endpoint) =>
        endpoint.port === port &&
        (endpoint.host === host || (isLocalHost(endpoint.host) && isLocalHost(host))),
    );
  }
}

function allows(entry: AllowEntry, scheme: string, host: string, port: number): boolean {
  if (entry.scheme !== undefined && entry.scheme !== scheme) return false;
  if (entry.port !== undefined && entry.port !== port) return false;
  return entry.wildcard ? host.endsWith(entry.host) && host.length > entry.host.length : host === entry.host;
}

function parseEntry(text: string, variable: string): AllowEntry {
  const invalid = (why: string): NonoError =>
    new NonoError(
      ErrorCode.InvalidConfig,
      `${variable} entry "${text}" is not valid: ${why} (expected [http(s)://]host[:port], host may be *.domain, port may be *)`,
    );
  const schemeMatch = /^([a-z]+):\/\/(.*)$/i.exec(text);
  const scheme = schemeMatch?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') throw invalid('only http and https');
  const written = schemeMatch?.[2] ?? text;
  // A bare IPv6 address (`::1`, as the old host-only form allowed): no port can follow it.
  const rest = !written.startsWith('[') && (written.match(/:/g)?.length ?? 0) > 1 ? `[${written}]` : written;
  const hostPort = /^(\[[0-9a-f:.]+\]|[^:/[\]]+)(?::(\*|\d{1,5}))?\/?$/i.exec(rest);
  const rawHost = hostPort?.[1];
  if (rawHost === undefined) throw invalid('not a host with an optional port');
  const rawPort = hostPort?.[2];
  const wildcard = rawHost.startsWith('*.');
  let host: string;
  try {
    host = normaliseHost(new URL(`http://${wildcard ? rawHost.slice(2) : rawHost}`).hostname);
  } catch {
    throw invalid('not a valid host name');
  }
  if (host.includes('*')) throw invalid('"*" is allowed only as "*.domain"');
  let port: number | undefined;
  if (rawPort !== undefined && rawPort !== '*') {
    port = Number(rawPort);
    if (port < 1 || port > 65_535) throw invalid('port out of range');
  } else if (rawPort === undefined && scheme !== undefined) {
    port = DEFAULT_PORTS[`${scheme}:`];
  }
  return {
    text,
    scheme: scheme === undefined ? undefined : scheme === 'http' ? 'http:' : 'https:',
    host: wildcard ? `.${host}` : host,
    wildcard,
    port,
  };
}

/** Lower case, IPv6 without brackets, no trailing dot: one spelling per host for comparisons. */
function normaliseHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/**
 * Names that reach this very machine: loopback names and addresses, and the wildcard
 * addresses a service binds to listen everywhere. (URL parsing already turned 0x7f.1 and
 * 2130706433 into 127.0.0.1, and ::ffff:127.0.0.1 into ::ffff:7f00:1.)
 */
export function isLocalHost(host: string): boolean {
  const name = normaliseHost(host);
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) ||
    name === '0.0.0.0' ||
    name === '::1' ||
    name === '::' ||
    /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(name) ||
    name === '::ffff:0:0'
  );
}
