import { createHash } from 'node:crypto';
import { type CliIo, runCli } from '@nono/cli';
import { type Isolation, eventually } from './isolation.js';
import { type RunningProcess, freePort, readyTimeoutMs, startProcess } from './processes.js';

/** The API (built dist) on an isolation's ZooKeeper chroot and topics, and the CLI run in-process against it. */

export interface ApiProcess extends RunningProcess {
  readonly url: string;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Starts the API with `tokens` (role → token) as NONO_API_TOKENS and waits until it is ready. */
export async function startApiProcess(
  iso: Isolation,
  tokens: Readonly<Record<string, string>>,
  env: Record<string, string> = {},
): Promise<ApiProcess> {
  // A restarted API keeps the port it had (the env's NONO_API_PORT).
  const port = env['NONO_API_PORT'] === undefined ? await freePort() : Number(env['NONO_API_PORT']);
  const proc = startProcess('api', 'services/api/dist/main.js', {
    NONO_ZK_CONNECT: iso.zkConnect,
    NONO_KAFKA_BROKERS: iso.kafkaBrokers.join(','),
    NONO_TOPIC_PREFIX: iso.topicPrefix,
    NONO_API_PORT: String(port),
    NONO_API_TOKENS: Object.entries(tokens)
      .map(([role, token]) => `${role}:${sha256Hex(token)}`)
      .join(','),
    NONO_HISTORY_URL: 'http://127.0.0.1:9',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined),
    readyTimeoutMs(),
    `the API to be ready (log: ${proc.logFile})`,
  );
  return Object.assign(proc, { url });
}

/** One request to the API's /api/v1 with a bearer token; the answer's status and text. */
export async function apiRequest(
  api: { readonly url: string },
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${api.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, text: await response.text() };
}

/** Runs one `nono` command line against `apiUrl` with `token`; `files` stands in for the disk. */
export async function runNono(
  apiUrl: string,
  token: string,
  argv: readonly string[],
  files: Readonly<Record<string, string>> = {},
): Promise<{ code: number; stdout: string; stderr: string; written: Record<string, string> }> {
  const written: Record<string, string> = {};
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env: { NONO_API_URL: apiUrl, NONO_TOKEN: token },
    homeDir: '/nonexistent',
    now: () => Date.now(),
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    readFile: async (path) => files[path],
    writeFile: async (path, text) => void (written[path] = text),
    listDir: async (path) => {
      const names = Object.keys(files)
        .filter((name) => name.startsWith(`${path}/`))
        .map((name) => name.slice(path.length + 1));
      return names.length === 0 ? undefined : names.sort();
    },
    tempPath: (suffix) => `/tmp/${suffix}`,
    openEditor: async () => undefined,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr, written };
}
