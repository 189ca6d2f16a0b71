import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { decodeWebhookSecret, verifyWebhook } from '@nono/domain';
import { type JobContext, JobError, readCallHeaders } from './call-context.js';
import { GroupMembership, type GroupMembershipOptions } from './group-membership.js';
import {
  type FencingStore,
  type IdempotencyStore,
  MemoryFencingStore,
  MemoryIdempotencyStore,
} from './stores.js';

export type JobHandler = (context: JobContext) => unknown;

/** Where the worker is in its life: only `serving` takes new calls. */
export type WorkerState = 'idle' | 'serving' | 'draining' | 'stopped';

/** pino's shape (fields first): pass a pino logger, or anything with these three methods. */
export interface WorkerLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface WorkerOptions {
  /**
   * nono's Standard Webhooks secrets (`whsec_…`, the scheduler's NONO_WEBHOOK_SECRETS or the
   * task's or host's own): when given, a job call without a valid signature dated within five
   * minutes is refused (401) before any work. None: calls are not verified.
   */
  readonly webhookSecrets?: readonly string[];
  /** Where Idempotency-Keys are kept; default: this process's memory (10,000 keys, an hour). */
  readonly idempotency?: IdempotencyStore;
  /**
   * Where each task's newest fencing token is kept (default: this process's memory); a call
   * with an older token than one already admitted for its task is refused (409). `false` turns
   * the check off: do that for tasks whose runs may overlap (`overlap: allow`), whose older
   * instants legitimately arrive after newer ones, and fence your writes with
   * `context.fencingToken` instead.
   */
  readonly fencing?: FencingStore | false;
  /** The longest a job may run, whatever the deadline nono sends (default 25 s: under nono's default timeout of 30 s). */
  readonly maxJobMs?: number;
  /** Joins a worker group: registers at `listen`, renews the lease, leaves at `drain`. */
  readonly group?: GroupMembershipOptions;
  /** How long a drain waits for running jobs before aborting their signals (default 10 s). */
  readonly drainTimeoutMs?: number;
  /** Request bodies larger than this are refused (413); default 1 MiB. */
  readonly maxBodyBytes?: number;
  readonly log?: WorkerLog;
  /** Told how every job call ended (for metrics and status pages). */
  readonly observe?: (outcome: CallOutcome) => void;
  readonly now?: () => number;
  /** For tests: the fetch the group membership uses. */
  readonly fetch?: typeof fetch;
}

/** How one job call ended. */
export interface CallOutcome {
  readonly path: string;
  readonly outcome:
    | 'succeeded'
    | 'failed'
    /** A repeated Idempotency-Key, answered with the first answer. */
    | 'replayed'
    /** The same Idempotency-Key while its first call runs (409). */
    | 'duplicate'
    /** A fencing token older than one admitted for the task (409). */
    | 'stale'
    | 'unverified'
    | 'malformed'
    | 'draining';
  readonly status: number;
  readonly taskId?: string | undefined;
  readonly executionId?: string | undefined;
  readonly attempt?: number | undefined;
  readonly fencingToken?: number | undefined;
}

interface CompiledOptions {
  readonly secrets: readonly Buffer[];
  readonly idempotency: IdempotencyStore;
  readonly fencing: FencingStore | undefined;
  readonly maxJobMs: number;
  readonly drainTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly log: WorkerLog;
  readonly observe: (outcome: CallOutcome) => void;
  readonly now: () => number;
}

/** Options checked and defaulted in one place; a bad one throws naming it (never echoing a secret). */
export function compileWorkerOptions(options: WorkerOptions): CompiledOptions {
  const secrets = (options.webhookSecrets ?? []).map((text, index) => {
    const key = decodeWebhookSecret(text.trim());
    if (key === undefined)
      throw new Error(
        `webhookSecrets[${index}] is not a Standard Webhooks secret: expected whsec_ and the base64 of 24 to 64 bytes`,
      );
    return key;
  });
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`${name} must be a positive number (got ${value})`);
    return value;
  };
  return {
    secrets,
    idempotency: options.idempotency ?? new MemoryIdempotencyStore(),
    fencing: options.fencing === false ? undefined : (options.fencing ?? new MemoryFencingStore()),
    maxJobMs: positive('maxJobMs', options.maxJobMs, 25_000),
    drainTimeoutMs: positive('drainTimeoutMs', options.drainTimeoutMs, 10_000),
    maxBodyBytes: positive('maxBodyBytes', options.maxBodyBytes, 1024 * 1024),
    log: options.log ?? stderrLog,
    observe: options.observe ?? (() => undefined),
    now: options.now ?? Date.now,
  };
}

/** The default log: warnings and errors as JSON lines on stderr, nothing else. */
const stderrLog: WorkerLog = {
  info: () => undefined,
  warn: (fields, message) =>
    process.stderr.write(`${JSON.stringify({ level: 'warn', message, ...fields })}\n`),
  error: (fields, message) =>
    process.stderr.write(`${JSON.stringify({ level: 'error', message, ...fields })}\n`),
};

/** Why a job's signal aborted, told apart from a failure of the job itself. */
const DEADLINE = Symbol('deadline');
const HUNG_UP = Symbol('hung up');
const DRAINED = Symbol('drained');

/**
 * A worker: the HTTP endpoints nono calls, with its contract handled for each job call:
 * verify the signature, answer a repeated Idempotency-Key with the first answer (or 409 while
 * it runs), refuse a stale fencing token, run the job under an AbortSignal that fires at the
 * deadline, when nono hangs up or when a drain runs out of time, and answer JSON. With
 * `group`, it joins a worker group and renews its lease; `drain` (SIGTERM with
 * `drainOnSignals`) leaves the group, refuses new calls (503, so nono's retry goes to another
 * member), waits for the running jobs and stops.
 */
export class NonoWorker {
  readonly #o: CompiledOptions;
  readonly #jobs = new Map<string, JobHandler>();
  readonly #reads = new Map<string, () => unknown>();
  readonly #running = new Set<Promise<void>>();
  readonly #drainAbort = new AbortController();
  readonly #membership: GroupMembership | undefined;
  #server: Server | undefined;
  #state: WorkerState = 'idle';
  #drained: Promise<void> | undefined;

  constructor(options: WorkerOptions = {}) {
    this.#o = compileWorkerOptions(options);
    this.#membership =
      options.group === undefined
        ? undefined
        : new GroupMembership(options.group, this.#o.log, options.fetch);
  }

  get state(): WorkerState {
    return this.#state;
  }

  /** Jobs running now. */
  get running(): number {
    return this.#running.size;
  }

  /** A job at `path` (e.g. `/jobs/report`), for any method nono may call it with. */
  job(path: string, handler: JobHandler): this {
    this.#jobs.set(path, handler);
    return this;
  }

  /** A plain JSON GET endpoint (status pages); `/healthz` and `/readyz` are built in. */
  read(path: string, handler: () => unknown): this {
    this.#reads.set(path, handler);
    return this;
  }

  /** The request listener, to mount on a server of your own. */
  readonly listener = (request: IncomingMessage, response: ServerResponse): void => {
    void this.#handle(request, response).catch((error: unknown) => {
      this.#o.log.error({ err: describe(error) }, 'request failed');
      if (!response.headersSent) send(response, 500, { error: 'internal error' });
    });
  };

  /** Listens, then joins the group if one is configured; resolves the worker's URL. */
  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    const server = createServer(this.listener);
    // nono keeps connections alive between calls: longer than its pool's 30 s idle limit.
    server.keepAliveTimeout = 35_000;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#state = 'serving';
    const address = server.address() as AddressInfo;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    await this.#membership?.join();
    return url;
  }

  /**
   * Leaves the group, refuses new calls, waits up to `drainTimeoutMs` for the running jobs,
   * aborts the signals of those still running (they answer 503 and nono retries them
   * elsewhere), and closes the server. Calling it again returns the same drain.
   */
  drain(): Promise<void> {
    this.#drained ??= this.#drainOnce();
    return this.#drained;
  }

  /** Drains on SIGTERM and SIGINT; the process then ends when nothing else keeps it alive. */
  drainOnSignals(signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): void {
    for (const signal of signals)
      process.once(signal, () => {
        this.#o.log.info({ signal, running: this.running }, 'draining: finishing the jobs in progress');
        void this.drain().then(() => this.#o.log.info({}, 'drained'));
      });
  }

  async #drainOnce(): Promise<void> {
    this.#state = 'draining';
    await this.#membership?.leave();
    const all = Promise.allSettled([...this.#running]);
    let timer: NodeJS.Timeout | undefined;
    const outOfTime = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#o.drainTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (outOfTime) {
      this.#o.log.warn({ running: this.running }, 'drain deadline: aborting the jobs still running');
      this.#drainAbort.abort(DRAINED);
      await Promise.allSettled([...this.#running]);
    }
    const server = this.#server;
    if (server !== undefined) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Every job has answered: what is left are kept-alive connections (and a call cut short by
      // a hang-up) that would hold the close open until they time out.
      server.closeAllConnections();
      await closed;
    }
    this.#state = 'stopped';
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://worker');
    if (request.method === 'GET' && url.pathname === '/healthz') return send(response, 200, { status: 'ok' });
    if (request.method === 'GET' && url.pathname === '/readyz')
      return this.#state === 'serving'
        ? send(response, 200, { status: 'ready' })
        : send(response, 503, { status: this.#state });
    const read = request.method === 'GET' ? this.#reads.get(url.pathname) : undefined;
    if (read !== undefined) return send(response, 200, await read());
    const job = this.#jobs.get(url.pathname);
    if (job === undefined) return send(response, 404, { error: `no job at ${url.pathname}` });
    if (this.#state !== 'serving') {
      // nono retries elsewhere (another group member) per the task's retry policy.
      response.setHeader('connection', 'close');
      this.#o.observe({ path: url.pathname, outcome: 'draining', status: 503 });
      return send(response, 503, { error: `this worker is ${this.#state}` });
    }
    const work = this.#serveJob(job, request, response, url);
    this.#running.add(work);
    try {
      await work;
    } finally {
      this.#running.delete(work);
    }
  }

  async #serveJob(
    job: JobHandler,
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
  ): Promise<void> {
    const { log, now } = this.#o;
    const rawBody = await readBody(request, this.#o.maxBodyBytes);
    if (rawBody === undefined)
      return send(response, 413, { error: `the body is over ${this.#o.maxBodyBytes} bytes` });
    if (this.#o.secrets.length > 0) {
      const header = (name: string): string | undefined => {
        const value = request.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const verdict = verifyWebhook(
        this.#o.secrets,
        {
          id: header('webhook-id'),
          timestamp: header('webhook-timestamp'),
          signature: header('webhook-signature'),
        },
        rawBody,
        now(),
      );
      if (!verdict.ok) {
        log.warn({ path: url.pathname, reason: verdict.reason }, 'refused an unverified call');
        this.#o.observe({ path: url.pathname, outcome: 'unverified', status: 401 });
        return send(response, 401, { error: verdict.reason });
      }
    }
    const headers = readCallHeaders(request.headers);
    if ('problem' in headers) {
      this.#o.observe({ path: url.pathname, outcome: 'malformed', status: 400 });
      return send(response, 400, { error: headers.problem });
    }
    const observe = (outcome: CallOutcome['outcome'], status: number): void =>
      this.#o.observe({
        path: url.pathname,
        outcome,
        status,
        taskId: headers.taskId,
        executionId: headers.executionId,
        attempt: headers.attempt,
        fencingToken: headers.fencingToken,
      });
    const startedAt = now();
    const deadline = Math.min(headers.deadlineMs ?? Infinity, startedAt + this.#o.maxJobMs);
    const key = headers.idempotencyKey;
    if (key !== undefined) {
      const claim = await this.#o.idempotency.claim(key, deadline, startedAt);
      if (claim.kind === 'completed') {
        log.info({ path: url.pathname, key }, 'a repeated call: replaying the first answer');
        response.setHeader('idempotent-replayed', 'true');
        observe('replayed', claim.call.status);
        return sendText(response, claim.call.status, claim.call.body);
      }
      if (claim.kind === 'running') {
        observe('duplicate', 409);
        return send(response, 409, { error: 'this execution is already running (same Idempotency-Key)' });
      }
    }
    const release = async (): Promise<void> => {
      if (key !== undefined) await this.#o.idempotency.release(key);
    };
    if (this.#o.fencing !== undefined && headers.taskId !== undefined && headers.fencingToken !== undefined) {
      // Each shard is fenced on its own: a lost shard re-run under a newer token must not make
      // its sibling shards (still at the claim's token) look stale here.
      const fenceKey =
        headers.shard === undefined ? headers.taskId : `${headers.taskId}#shard-${headers.shard.index}`;
      const fenced = await this.#o.fencing.admit(fenceKey, headers.fencingToken);
      if (!fenced.admitted) {
        await release();
        log.warn(
          { taskId: headers.taskId, token: headers.fencingToken, newest: fenced.newest },
          'refused a stale fencing token',
        );
        observe('stale', 409);
        return send(response, 409, {
          error: `stale fencing token ${headers.fencingToken}: this worker already admitted ${fenced.newest} for task ${headers.taskId}`,
        });
      }
    }

    const hangUp = new AbortController();
    const onClose = (): void => {
      if (!response.writableFinished) hangUp.abort(HUNG_UP);
    };
    response.once('close', onClose);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(DEADLINE), Math.max(0, deadline - now()));
    const signal = AbortSignal.any([timeout.signal, hangUp.signal, this.#drainAbort.signal]);
    const body = parseJson(rawBody);
    const parameters = isRecord(body) && isRecord(body['parameters']) ? body['parameters'] : undefined;
    try {
      const result = await job({
        taskId: headers.taskId,
        executionId: headers.executionId,
        idempotencyKey: key,
        attempt: headers.attempt,
        fencingToken: headers.fencingToken,
        nominalTime: headers.nominalTime,
        shard: headers.shard,
        instantId: headers.instantId,
        deadline: new Date(deadline),
        signal,
        parameters,
        body,
        rawBody,
        method: request.method ?? 'POST',
        query: url.searchParams,
        headers: request.headers,
      });
      const answer = JSON.stringify(result === undefined ? { ok: true } : result);
      if (key !== undefined) await this.#o.idempotency.complete(key, { status: 200, body: answer }, now());
      log.info(
        {
          path: url.pathname,
          taskId: headers.taskId,
          executionId: headers.executionId,
          attempt: headers.attempt,
        },
        'job done',
      );
      observe('succeeded', 200);
      sendText(response, 200, answer);
    } catch (error) {
      await release();
      const reason: unknown = signal.aborted ? (signal.reason as unknown) : undefined;
      const [status, message] =
        reason === DEADLINE
          ? [503, `the deadline passed (${new Date(deadline).toISOString()})`]
          : reason === HUNG_UP
            ? [499, 'the caller went away']
            : reason === DRAINED
              ? [503, 'this worker is draining and ran out of time']
              : error instanceof JobError
                ? [error.status, error.message]
                : [500, describe(error)];
      log.warn(
        {
          path: url.pathname,
          executionId: headers.executionId,
          attempt: headers.attempt,
          status,
          error: message,
        },
        'job failed',
      );
      observe('failed', status);
      send(response, status, { error: message });
    } finally {
      clearTimeout(timer);
      response.off('close', onClose);
    }
  }
}

export function createWorker(options: WorkerOptions = {}): NonoWorker {
  return new NonoWorker(options);
}

async function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  sendText(response, status, JSON.stringify(body));
}

function sendText(response: ServerResponse, status: number, body: string): void {
  if (response.headersSent || response.writableEnded) return;
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(body);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
