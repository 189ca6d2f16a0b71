import {
  type Actor,
  type CancelCall,
  type CapturedOutput,
  type FireReason,
  type SchedulerTask,
  type ShardRef,
  type TriggerParameters,
  fixedBodyWithParameters,
  formatInstant,
  isAcceptedStatus,
  isSuccessfulResponse,
  signWebhook,
  webhookIdFor,
} from '@nono/domain';
import { Agent, errors, request } from 'undici';
import { type Cancellation } from './cancellation.js';
import { capturedOutput } from './captured-output.js';
import { Semaphore } from './semaphore.js';
import { type SigningKeysSource } from './webhook-secret-book.js';

export interface InvocationRequest {
  readonly task: SchedulerTask;
  /** The URL called: the task's, or, for a group target, the chosen member's with the target's path. */
  readonly url: string;
  readonly executionId: string;
  readonly nominal: number;
  readonly firedAt: number;
  readonly attempt: number;
  readonly reason: FireReason;
  readonly fencingToken: number;
  readonly schedulerId: string;
  /** Cancelled by the engine (overlap policy, shutdown past its deadline): the call is aborted. */
  readonly cancellation?: Cancellation;
  /** A manual run's trigger parameters (checked against the task by the API), or a shard's. */
  readonly parameters?: TriggerParameters;
  /** A unit of a fanned-out instant: the instant's execution id. */
  readonly instantId?: string;
  /** The shard the call runs (route shard). */
  readonly shard?: ShardRef;
}

export type InvocationOutcome =
  | {
      readonly kind: 'succeeded';
      readonly httpStatus: number;
      readonly durationMs: number;
      /** What the task's `target.capture` keeps of the answer. */
      readonly output?: CapturedOutput;
    }
  | {
      readonly kind: 'failed';
      readonly httpStatus?: number;
      /** What the task's `target.capture` keeps of the answer (when there was one). */
      readonly output?: CapturedOutput;
      readonly error: string;
      readonly durationMs: number;
      /** Nothing was sent (no usable signing secrets, no member to call): says nothing of the worker. */
      readonly unsent?: true;
    }
  | { readonly kind: 'timed-out'; readonly durationMs: number }
  | { readonly kind: 'cancelled'; readonly durationMs: number };

/** What the cancel URL is told after an operator's cancel aborted a running call. */
export interface CancelNotice {
  readonly task: SchedulerTask;
  readonly cancelUrl: string;
  readonly executionId: string;
  readonly nominal: number;
  /** The attempt that was cut short. */
  readonly attempt: number;
  readonly actor: Actor;
  readonly note?: string;
}

export interface Invoker {
  invoke(request: InvocationRequest): Promise<InvocationOutcome>;
  /** POSTs the notice to the task's cancel URL; best effort: the outcome is reported, never thrown. */
  notifyCancel(notice: CancelNotice): Promise<CancelCall>;
  close(): Promise<void>;
}

/** A cancel URL gets this long to answer: the cancelled fact waits for it. */
export const CANCEL_CALL_TIMEOUT_MS = 5_000;

const MAX_BODY_BYTES = 64 * 1024;
const MAX_CACHED_URLS = 50_000;

/** Why an attempt's own timer aborted the call (told apart from the caller's cancel). */
const TIMED_OUT = Symbol('timed out');

/**
 * Calls a worker's HTTP endpoint with undici (pooled keep-alive connections), carrying
 * the execution id as Idempotency-Key, the fencing token and a W3C traceparent, and
 * judges the response by the task's success contract.
 */
export class HttpInvoker implements Invoker {
  readonly #agent: Agent;
  readonly #global: Semaphore;
  readonly #perHost = new Map<string, Semaphore>();
  readonly #perHostLimit: number;
  readonly #now: () => number;
  /** Parsed target URLs: every fire of a task calls the same one (or one of its group's few members). */
  readonly #urls = new Map<string, URL>();
  /** The Standard Webhooks secrets of each call (WebhookSecretBook); none: calls are not signed. */
  readonly #signingKeys: SigningKeysSource;

  constructor(options: {
    maxInFlight: number;
    maxInFlightPerHost: number;
    now: () => number;
    signingKeys?: SigningKeysSource;
  }) {
    this.#agent = new Agent({
      connections: options.maxInFlightPerHost,
      keepAliveTimeout: 30_000,
      pipelining: 1,
    });
    this.#global = new Semaphore(options.maxInFlight);
    this.#perHostLimit = options.maxInFlightPerHost;
    this.#now = options.now;
    this.#signingKeys = options.signingKeys ?? (() => ({ kind: 'sign', secrets: [] }));
  }

  get inFlight(): number {
    return this.#global.active;
  }

  async invoke(call: InvocationRequest): Promise<InvocationOutcome> {
    const url = this.#url(call.url);
    const keys = this.#signingKeys(call.task.id, url);
    // Never a call signed with the wrong secrets: the failure names why (and is retried by policy).
    if (keys.kind === 'unusable') return { kind: 'failed', error: keys.reason, durationMs: 0, unsent: true };
    const host = url.host;
    let hostSemaphore = this.#perHost.get(host);
    if (hostSemaphore === undefined) {
      hostSemaphore = new Semaphore(this.#perHostLimit);
      this.#perHost.set(host, hostSemaphore);
    }
    const releaseGlobal = await this.#global.acquire();
    const releaseHost = await hostSemaphore.acquire();
    const started = this.#now();
    // One controller and one plain timer per attempt: cheaper than AbortSignal.timeout + any.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMED_OUT), call.task.target.timeoutMs);
    const stopListening = call.cancellation?.onCancel(() => controller.abort());
    // The exact bytes sent are the bytes signed.
    const payload = call.task.target.method === 'GET' ? '' : requestBody(call);
    try {
      const response = await request(url, {
        dispatcher: this.#agent,
        method: call.task.target.method,
        headers: {
          ...call.task.target.headers,
          ...(keys.secrets.length === 0
            ? {}
            : signWebhook(
                keys.secrets,
                webhookIdFor(call.executionId, call.attempt),
                Math.floor(started / 1000),
                payload,
              )),
          'content-type': 'application/json',
          'idempotency-key': call.executionId,
          'nono-execution-id': call.executionId,
          'nono-task-id': call.task.id,
          'nono-attempt': String(call.attempt),
          'nono-fencing-token': String(call.fencingToken),
          'nono-nominal-time': formatInstant(call.nominal),
          ...(call.instantId === undefined ? {} : { 'nono-instant-id': call.instantId }),
          // index/count: a worker without the SDK reads its shard from one header.
          ...(call.shard === undefined ? {} : { 'nono-shard': `${call.shard.index}/${call.shard.count}` }),
          // When nono stops waiting: a worker can budget its work instead of being cut off.
          'nono-deadline': new Date(started + call.task.target.timeoutMs).toISOString(),
          traceparent: traceparentFor(call.executionId, call.attempt),
          'user-agent': 'nono-scheduler',
        },
        body: call.task.target.method === 'GET' ? null : payload,
        signal: controller.signal,
      });
      // The body only matters to a body pattern, a failure message or a capture; otherwise it is drained unread.
      const { success, capture } = call.task.target;
      const needsBody =
        capture !== undefined ||
        success.bodyPattern !== undefined ||
        !isAcceptedStatus(success, response.statusCode);
      const read = needsBody
        ? await readBounded(response.body, MAX_BODY_BYTES)
        : (await response.body.dump({ limit: MAX_BODY_BYTES }), undefined);
      const body = read === undefined ? '' : read.kept.toString('utf8');
      const durationMs = Math.max(0, this.#now() - started);
      // The captured body goes on the attempt's fact, never into a log line.
      const output =
        capture === undefined || read === undefined
          ? undefined
          : capturedOutput(
              read.kept.subarray(0, capture.bodyBytes),
              read.total,
              response.headers,
              capture.headers,
            );
      if (isSuccessfulResponse(success, response.statusCode, body)) {
        return output === undefined
          ? { kind: 'succeeded', httpStatus: response.statusCode, durationMs }
          : { kind: 'succeeded', httpStatus: response.statusCode, durationMs, output };
      }
      return {
        kind: 'failed',
        httpStatus: response.statusCode,
        error: `worker answered ${response.statusCode}${body === '' ? '' : `: ${body.slice(0, 200)}`}`,
        durationMs,
        ...(output === undefined ? {} : { output }),
      };
    } catch (error) {
      const durationMs = Math.max(0, this.#now() - started);
      if (controller.signal.reason === TIMED_OUT) return { kind: 'timed-out', durationMs };
      if (call.cancellation?.cancelled === true) return { kind: 'cancelled', durationMs };
      return { kind: 'failed', error: describeError(error), durationMs };
    } finally {
      clearTimeout(timer);
      stopListening?.();
      releaseHost();
      releaseGlobal();
    }
  }

  async notifyCancel(notice: CancelNotice): Promise<CancelCall> {
    const started = this.#now();
    const elapsed = () => Math.max(0, this.#now() - started);
    let url: URL;
    try {
      url = this.#url(notice.cancelUrl);
    } catch (error) {
      return { url: notice.cancelUrl, error: describeError(error), durationMs: 0 };
    }
    const keys = this.#signingKeys(notice.task.id, url);
    if (keys.kind === 'unusable') return { url: notice.cancelUrl, error: keys.reason, durationMs: 0 };
    const payload = JSON.stringify({
      executionId: notice.executionId,
      taskId: notice.task.id,
      nominalTime: formatInstant(notice.nominal),
      attempt: notice.attempt,
      cancelledBy: notice.actor.id,
      ...(notice.note === undefined ? {} : { note: notice.note }),
    });
    try {
      const response = await request(url, {
        dispatcher: this.#agent,
        method: 'POST',
        headers: {
          ...(keys.secrets.length === 0
            ? {}
            : signWebhook(keys.secrets, `${notice.executionId}:cancel`, Math.floor(started / 1000), payload)),
          'content-type': 'application/json',
          'idempotency-key': notice.executionId,
          'nono-execution-id': notice.executionId,
          'nono-task-id': notice.task.id,
          'nono-attempt': String(notice.attempt),
          'nono-nominal-time': formatInstant(notice.nominal),
          'user-agent': 'nono-scheduler',
        },
        body: payload,
        signal: AbortSignal.timeout(CANCEL_CALL_TIMEOUT_MS),
      });
      await response.body.dump({ limit: MAX_BODY_BYTES });
      return { url: notice.cancelUrl, httpStatus: response.statusCode, durationMs: elapsed() };
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      return {
        url: notice.cancelUrl,
        error: timedOut ? `no answer within ${CANCEL_CALL_TIMEOUT_MS} ms` : describeError(error),
        durationMs: elapsed(),
      };
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  #url(target: string): URL {
    let url = this.#urls.get(target);
    if (url === undefined) {
      if (this.#urls.size >= MAX_CACHED_URLS) this.#urls.clear();
      this.#urls.set(target, (url = new URL(target)));
    }
    return url;
  }
}

/**
 * The task's fixed body, or the default one. Trigger parameters go under `parameters` in the
 * default body, or merged into a fixed JSON-object body (the API refuses them for any other).
 */
function requestBody(call: InvocationRequest): string {
  const { body } = call.task.target;
  if (body === undefined) return invocationBody(call);
  if (call.parameters === undefined) return body;
  return fixedBodyWithParameters(body, call.parameters) ?? body;
}

function invocationBody(call: InvocationRequest): string {
  return JSON.stringify({
    taskId: call.task.id,
    executionId: call.executionId,
    nominalTime: formatInstant(call.nominal),
    firedAt: formatInstant(call.firedAt),
    attempt: call.attempt,
    reason: call.reason,
    fencingToken: call.fencingToken,
    schedulerId: call.schedulerId,
    ...(call.parameters === undefined ? {} : { parameters: call.parameters }),
    ...(call.instantId === undefined ? {} : { instantId: call.instantId }),
    ...(call.shard === undefined ? {} : { shard: call.shard }),
  });
}

/**
 * The trace id is the execution id's 128 bits, so every attempt of one execution is one
 * trace; the span id is the attempt, so each attempt is its own span.
 */
export function traceparentFor(executionId: string, attempt: number): string {
  const traceId = executionId.replaceAll('-', '').padEnd(32, '0').slice(0, 32);
  const spanId = attempt.toString(16).padStart(16, '0');
  return `00-${traceId}-${spanId}-01`;
}

/** The first `limit` bytes of a body, and the size of the whole of it (read to its end). */
async function readBounded(
  body: AsyncIterable<Buffer | Uint8Array> & { destroy?: () => void },
  limit: number,
): Promise<{ kept: Buffer; total: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.from(chunk);
    if (size < limit) chunks.push(buffer.subarray(0, limit - size));
    size += buffer.length;
  }
  return { kept: Buffer.concat(chunks), total: size };
}

function describeError(error: unknown): string {
  if (error instanceof errors.UndiciError || error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const causeDetail = cause?.code ?? cause?.message;
    const causeText = typeof causeDetail === 'string' ? ` (${causeDetail})` : '';
    return `${typeof code === 'string' ? `${code}: ` : ''}${error.message}${causeText}`;
  }
  return String(error);
}
