import { type FieldIssue } from '@nono/domain';

/**
 * Which hosts task targets may point at. The scheduler calls these URLs from inside the
 * network, so an unchecked URL lets anyone who can define a task reach internal services
 * (SSRF: cloud metadata endpoints, admin ports). Exact host names only, compared
 * case-insensitively; `*.example.com` allows subdomains of example.com.
 */
export class TargetPolicy {
  readonly #exact: ReadonlySet<string>;
  readonly #suffixes: readonly string[];

  constructor(allowedHosts: readonly string[]) {
    const hosts = allowedHosts.map((host) => host.trim().toLowerCase()).filter((host) => host !== '');
    this.#exact = new Set(hosts.filter((host) => !host.startsWith('*.')));
    this.#suffixes = hosts.filter((host) => host.startsWith('*.')).map((host) => host.slice(1));
  }

  /** Issues for `target.url`, or none. The URL's syntax was already checked by the domain. */
  check(url: string): FieldIssue[] {
    let host: string;
    try {
      host = new URL(url).hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
    } catch {
      return [];
    }
    if (
      this.#exact.has(host) ||
      this.#suffixes.some((suffix) => host.endsWith(suffix) && host.length > suffix.length)
    )
      return [];
    return [{ field: 'target.url', message: `host "${host}" is not in NONO_ALLOWED_TARGET_HOSTS` }];
  }
}
