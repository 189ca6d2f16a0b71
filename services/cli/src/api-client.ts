import { CliError, ExitCode } from './cli-error.js';
import { type Settings, configFilePath } from './settings.js';

export interface ApiResponse<T> {
  readonly status: number;
  readonly etag: string | undefined;
  readonly body: T;
}

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly ifMatch?: string | undefined;
}

/** The problem+json shape the API answers with (RFC 9457 plus nono's `code` and `errors`). */
interface Problem {
  readonly title?: unknown;
  readonly detail?: unknown;
  readonly code?: unknown;
  readonly errors?: unknown;
}

/**
 * A thin client of `/api/v1`: adds the bearer token, turns transport failures and problem+json
 * answers into CliErrors with the exit code the status means and a hint on what to fix.
 */
export class ApiClient {
  readonly #settings: Settings;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #configFile: string;

  constructor(options: {
    settings: Settings;
    fetch?: typeof fetch;
    timeoutMs?: number;
    configFile?: string;
  }) {
    this.#settings = options.settings;
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#configFile = options.configFile ?? configFilePath({}, '~');
  }

  get apiUrl(): string {
    return this.#settings.apiUrl;
  }

  async get<T>(path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path, options);
  }

  /** GET that answers `undefined` on 404 instead of failing (to tell "create" from "update"). */
  async find<T>(path: string): Promise<ApiResponse<T> | undefined> {
    try {
      return await this.request<T>('GET', path);
    } catch (error) {
      if (error instanceof CliError && error.exitCode === ExitCode.NotFound) return undefined;
      throw error;
    }
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const url = new URL(`${this.#settings.apiUrl}/api/v1${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#settings.token !== undefined) headers['authorization'] = `Bearer ${this.#settings.token}`;
    if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw this.#unreachable(error);
    }
    const parsed = parseJson(text);
    if (response.status >= 200 && response.status < 300) {
      return { status: response.status, etag: response.headers.get('etag') ?? undefined, body: parsed as T };
    }
    throw this.#refused(method, path, response.status, parsed, text);
  }

  #unreachable(error: unknown): CliError {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
    const reason =
      (error as { name?: unknown } | undefined)?.name === 'TimeoutError'
        ? `no answer within ${this.#timeoutMs} ms`
        : typeof cause?.code === 'string'
          ? cause.code
          : error instanceof Error
            ? error.message
            : String(error);
    return new CliError(
      ExitCode.Unavailable,
      `cannot reach the nono API at ${this.#settings.apiUrl} (${reason})`,
      ['is it running? `npm start` starts a local cluster; otherwise set NONO_API_URL or pass --api-url'],
    );
  }

  #refused(method: string, path: string, status: number, parsed: unknown, text: string): CliError {
    const problem: Problem = typeof parsed === 'object' && parsed !== null ? parsed : {};
    const code = typeof problem.code === 'string' ? problem.code : undefined;
    const detail = typeof problem.detail === 'string' ? problem.detail : undefined;
    const title = typeof problem.title === 'string' ? problem.title : undefined;
    const fields = fieldIssues(problem.errors);
    // With a field list the detail only repeats it: the title then says it better.
    const what =
      (fields.length > 0 ? title : undefined) ??
      detail ??
      title ??
      (text.trim().slice(0, 200) || `HTTP ${status}`);
    const summary = `${method} ${path}: ${what} (${status}${code === undefined ? '' : ` ${code}`})`;
    if (status === 401) {
      return new CliError(
        ExitCode.Auth,
        `${
          this.#settings.token === undefined
            ? 'no API token given'
            : `the API did not accept the token from ${this.#settings.tokenSource ?? '?'}`
        }: ${summary}`,
        [
          `set NONO_TOKEN, pass --token, or put {"token": "..."} in ${this.#configFile}`,
          'a local cluster started with `npm start` writes its admin token to .nono/local-token',
        ],
      );
    }
    if (status === 403)
      return new CliError(ExitCode.Auth, summary, [
        "the token's role is too weak for this command (viewer < operator < admin)",
      ]);
    if (status === 404) return new CliError(ExitCode.NotFound, summary);
    if (status === 409 || status === 412) {
      return new CliError(
        ExitCode.Conflict,
        summary,
        code === 'NONO_TASK_EXISTS'
          ? ['use `nono tasks apply -f <file>` to update an existing task']
          : path.startsWith('/alerts')
            ? [
                'the rule changed since it was read, or the alert is no longer open: look again (`nono alerts ls`, `nono alerts rules ls`)',
              ]
            : [
                'the task changed since it was read: read it again (`nono tasks get <id>`) and redo the change',
              ],
      );
    }
    if (status === 429 || status >= 500) {
      return new CliError(
        ExitCode.Unavailable,
        summary,
        status === 429 ? ['rate-limited: try again in a minute'] : [],
      );
    }
    return new CliError(ExitCode.Usage, summary, fields);
  }
}

/** `errors: [{ field, message }]` as lines like `schedule.expression: bad cron`. */
export function fieldIssues(errors: unknown): string[] {
  if (!Array.isArray(errors)) return [];
  return errors.flatMap((issue: unknown) => {
    if (typeof issue !== 'object' || issue === null) return [];
    const { field, message } = issue as { field?: unknown; message?: unknown };
    const name = typeof field === 'string' && field !== '' ? field : '(body)';
    return [`${name}: ${typeof message === 'string' ? message : 'is not valid'}`];
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
