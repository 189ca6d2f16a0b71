/**
 * Which hosts channel URLs may point at: the deployment's NONO_ALLOWED_TARGET_HOSTS, read
 * the way the API reads it for task targets (exact host names, case-insensitive;
 * `*.example.com` allows subdomains), because the alerts service calls these URLs from
 * inside the network just as schedulers call task targets.
 */
export function hostAllowList(allowedHosts: readonly string[]): (url: string) => string | undefined {
  const hosts = allowedHosts.map((host) => host.trim().toLowerCase()).filter((host) => host !== '');
  const exact = new Set(hosts.filter((host) => !host.startsWith('*.')));
  const suffixes = hosts.filter((host) => host.startsWith('*.')).map((host) => host.slice(1));
  return (url) => {
    let host: string;
    try {
      host = new URL(url).hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
    } catch {
      return undefined;
    }
    const allowed =
      exact.has(host) || suffixes.some((suffix) => host.endsWith(suffix) && host.length > suffix.length);
    return allowed ? undefined : `host "${host}" is not in NONO_ALLOWED_TARGET_HOSTS`;
  };
}
