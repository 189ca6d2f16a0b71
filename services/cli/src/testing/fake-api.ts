import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type CliIo } from '../context.js';
import { runCli } from '../program.js';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

export interface FakeResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

type Handler = (request: RecordedRequest) => FakeResponse;

/**
 * A scripted stand-in for the nono API on a free port: routes are `"METHOD /path"` (path
 * without `/api/v1` and without the query string); anything else is a problem+json 404.
 */
export class FakeApi {
  readonly requests: RecordedRequest[] = [];
  readonly #routes = new Map<string, Handler>();
  readonly #server: Server;
  url = '';

  constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  on(route: string, handler: Handler | FakeResponse): this {
    this.#routes.set(route, typeof handler === 'function' ? handler : () => handler);
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.#routes.clear();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname.replace(/^\/api\/v1/, '');
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      headers: req.headers,
      body: text === '' ? undefined : (JSON.parse(text) as unknown),
    };
    this.requests.push(request);
    const handler = this.#routes.get(`${request.method} ${path}`);
    const response =
      handler?.(request) ?? problem(404, 'NONO_NOT_FOUND', `no route ${request.method} ${path}`);
    const isProblem = response.status >= 400;
    res.writeHead(response.status, {
      'content-type': isProblem ? 'application/problem+json' : 'application/json',
      ...response.headers,
    });
    res.end(response.body === undefined ? '' : JSON.stringify(response.body));
  }
}

export function problem(
  status: number,
  code: string,
  detail: string,
  errors?: Array<{ field: string; message: string }>,
): FakeResponse {
  return {
    status,
    body: {
      type: 'about:blank',
      title: code,
      status,
      detail,
      code,
      ...(errors === undefined ? {} : { errors }),
    },
  };
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with an in-memory file system and a scripted editor. */
export class CliHarness {
  readonly files = new Map<string, string>();
  env: Record<string, string | undefined>;
  editor: (text: string) => string = (text) => text;
  now = Date.parse('2026-11-22T12:00:00Z');

  constructor(env: Record<string, string | undefined>) {
    this.env = env;
  }

  async run(...argv: string[]): Promise<CliRun> {
    let stdout = '';
    let stderr = '';
    let temp = 0;
    const io: CliIo = {
      env: this.env,
      homeDir: '/home/test',
      now: () => this.now,
      out: (text) => void (stdout += text),
      err: (text) => void (stderr += text),
      readFile: async (path) => this.files.get(path),
      writeFile: async (path, text) => void this.files.set(path, text),
      listDir: async (path) => {
        const names = [...this.files.keys()]
          .filter((name) => name.startsWith(`${path}/`))
          .map((name) => name.slice(path.length + 1));
        return names.length === 0 ? undefined : names.sort();
      },
      tempPath: (suffix) => `/tmp/${(temp += 1)}-${suffix}`,
      openEditor: async (path) => void this.files.set(path, this.editor(this.files.get(path) ?? '')),
    };
    const code = await runCli(argv, io);
    return { code, stdout, stderr };
  }
}
