import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { FencedRegister } from './fenced-register.js';
import { type Job, createJobs } from './jobs.js';
import { RecentKeys } from './recent-keys.js';
import { verifyWebhook } from './webhook-verifier.js';

export interface WorkerOptions {
  /** The longest a job may run when the call does not ask for less (`X-Time-Budget-Ms`). */
  readonly timeBudgetMs: number;
  /** How many completed Idempotency-Keys to remember, and for how long. */
  readonly rememberKeys: number;
  readonly rememberKeysMs: number;
  readonly now?: () => number;
  readonly logger?: FastifyServerOptions['logger'];
  /**
   * nono's Standard Webhooks secrets (WORKER_WEBHOOK_SECRETS, the scheduler's
   * NONO_WEBHOOK_SECRETS): when given, a /jobs call without a valid, fresh signature is a 401.
   */
  readonly webhookSecrets?: readonly Buffer[];
}

/** What the worker keeps per task: the last execution that wrote its result. */
export interface LastRun {
  readonly executionId: string | undefined;
  readonly nominalTime: string | undefined;
  readonly job: string;
  readonly attempt: number;
}

interface CallHeaders {
  readonly idempotencyKey: string | undefined;
  readonly executionId: string | undefined;
  readonly taskId: string | undefined;
  readonly attempt: number;
  readonly fencingToken: number | undefined;
  readonly nominalTime: string | undefined;
  readonly budgetMs: number;
}

const TIME_BUDGET_HEADER = 'x-time-budget-ms';

/**
 * The worker as a Fastify app (`main.ts` listens; tests use `app.inject`). Each `/jobs/<name>`
 * call: look the Idempotency-Key up (replay a completed one, refuse a concurrent duplicate),
 * run the job within its time budget, write its result fenced by the token, remember the key.
 */
export function buildWorker(options: WorkerOptions): FastifyInstance {
  const now = options.now ?? Date.now;
  const app = Fastify({ logger: options.logger ?? false });
  const jobs = createJobs();
  const keys = new RecentKeys({ capacity: options.rememberKeys, ttlMs: options.rememberKeysMs, now });
  const lastRuns = new FencedRegister<LastRun>();
  const counts: Record<string, { succeeded: number; failed: number; replayed: number; refused: number }> = {};
  const countFor = (job: string): { succeeded: number; failed: number; replayed: number; refused: number } =>
    (counts[job] ??= { succeeded: 0, failed: 0, replayed: 0, refused: 0 });

  // nono sends `content-type: application/json` on every call, with an empty body for GET
  // (and a task may send its own body): accept both instead of Fastify's 400 on an empty body.
  app.removeContentTypeParser('application/json');
  // The raw text is kept: a signature covers the bytes sent, not a re-serialisation of them.
  const rawBodies = new WeakMap<FastifyRequest, string>();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    rawBodies.set(request, text);
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(Object.assign(new Error('the body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });

  // Fastify's per-request lines are info; the worker logs one line per job itself instead.
  const quiet = { logLevel: 'warn' } as const;
  app.get('/healthz', quiet, async () => ({ status: 'ok' }));
  app.get('/readyz', quiet, async () => ({ status: 'ready' }));
  app.get('/state', quiet, async () => ({
    counts,
    lastRuns: lastRuns.snapshot(),
    rememberedKeys: keys.size,
  }));

  app.route<{ Params: { name: string }; Querystring: Record<string, string | undefined> }>({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/jobs/:name',
    logLevel: 'warn',
    // Before anything runs: an unsigned or forged call does no work and learns nothing.
    preHandler: async (request, reply) => {
      const secrets = options.webhookSecrets ?? [];
      if (secrets.length === 0) return;
      const header = (name: string): string | undefined => {
        const value = request.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const verdict = verifyWebhook(
        secrets,
        {
          id: header('webhook-id'),
          timestamp: header('webhook-timestamp'),
          signature: header('webhook-signature'),
        },
        rawBodies.get(request) ?? '',
        now(),
      );
      if (!verdict.ok) {
        app.log.warn({ reason: verdict.reason }, 'refused an unverified call');
        return reply.code(401).send({ error: verdict.reason });
      }
    },
    handler: async (request, reply) => {
      const name = request.params.name;
      const job = Object.hasOwn(jobs, name) ? jobs[name] : undefined;
      if (job === undefined)
        return reply.code(404).send({ error: `no job "${name}": try ok, flaky or slow` });
      const headers = readHeaders(request, options.timeBudgetMs);
      if (typeof headers === 'string') return reply.code(400).send({ error: headers });
      const count = countFor(name);

      const key = headers.idempotencyKey;
      if (key !== undefined) {
        const state = keys.claim(key);
        if (state.kind === 'completed') {
          count.replayed += 1;
          app.log.info(
            { job: name, executionId: headers.executionId, key },
            'duplicate call: replaying the first answer',
          );
          return reply.code(state.call.status).header('idempotent-replayed', 'true').send(state.call.body);
        }
        if (state.kind === 'in-flight') {
          count.refused += 1;
          return reply.code(409).send({ error: 'this execution is already running (same Idempotency-Key)' });
        }
      }

      const outcome = await runWithinBudget(job, request, reply, headers);
      if (!outcome.ok) {
        if (key !== undefined) keys.release(key);
        count.failed += 1;
        app.log.warn(
          { job: name, executionId: headers.executionId, attempt: headers.attempt, error: outcome.error },
          'job failed',
        );
        return reply.code(outcome.status).send({ error: outcome.error });
      }

      const taskId = headers.taskId ?? 'anonymous';
      const write = lastRuns.write(
        taskId,
        {
          executionId: headers.executionId,
          nominalTime: headers.nominalTime,
          job: name,
          attempt: headers.attempt,
        },
        headers.fencingToken ?? 0,
      );
      const body = {
        job: name,
        taskId: headers.taskId,
        executionId: headers.executionId,
        attempt: headers.attempt,
        detail: outcome.detail,
        // false: a call with a newer fencing token already wrote this task's result, so this
        // (older) one did its work but did not overwrite it.
        applied: write.applied,
      };
      if (key !== undefined) keys.complete(key, 200, body);
      count.succeeded += 1;
      app.log.info(
        {
          job: name,
          taskId,
          executionId: headers.executionId,
          attempt: headers.attempt,
          applied: write.applied,
        },
        'job done',
      );
      return reply.code(200).send(body);
    },
  });
  return app;
}

type Outcome = { ok: true; detail: string } | { ok: false; status: number; error: string };

/**
 * Runs the job with a signal that aborts when the budget ends or when the caller hangs up
 * (nono closes the connection when the task's `target.timeoutMs` passes): no work for nobody.
 */
async function runWithinBudget(
  job: Job,
  request: FastifyRequest,
  reply: FastifyReply,
  headers: CallHeaders,
): Promise<Outcome> {
  const budget = AbortSignal.timeout(headers.budgetMs);
  const hangUp = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) hangUp.abort(new Error('the caller closed the connection'));
  };
  reply.raw.once('close', onClose);
  try {
    const result = await job({
      executionId: headers.executionId,
      attempt: headers.attempt,
      query: request.query as Readonly<Record<string, string | undefined>>,
      signal: AbortSignal.any([budget, hangUp.signal]),
    });
    return result.ok ? { ok: true, detail: result.detail } : { ok: false, status: 500, error: result.error };
  } catch (error) {
    if (budget.aborted)
      return { ok: false, status: 503, error: `the time budget of ${headers.budgetMs} ms ran out` };
    if (hangUp.signal.aborted) return { ok: false, status: 499, error: 'the caller went away' };
    return { ok: false, status: 500, error: error instanceof Error ? error.message : String(error) };
  } finally {
    reply.raw.off('close', onClose);
  }
}

function readHeaders(request: FastifyRequest, defaultBudgetMs: number): CallHeaders | string {
  const header = (name: string): string | undefined => {
    const value = request.headers[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
    string,
    unknown
  >;
  const fencingText = header('nono-fencing-token');
  const fencingToken = fencingText === undefined ? undefined : Number(fencingText);
  if (fencingToken !== undefined && !Number.isSafeInteger(fencingToken))
    return `Nono-Fencing-Token must be an integer (got "${fencingText}")`;
  const attemptText = header('nono-attempt') ?? '1';
  const attempt = Number(attemptText);
  if (!Number.isSafeInteger(attempt) || attempt < 1)
    return `Nono-Attempt must be a positive integer (got "${attemptText}")`;
  const budgetText = header(TIME_BUDGET_HEADER);
  const asked = budgetText === undefined ? defaultBudgetMs : Number(budgetText);
  if (!Number.isFinite(asked) || asked <= 0)
    return `X-Time-Budget-Ms must be a positive number of milliseconds (got "${budgetText}")`;
  return {
    idempotencyKey: header('idempotency-key'),
    executionId: header('nono-execution-id') ?? stringField(body, 'executionId'),
    taskId: header('nono-task-id') ?? stringField(body, 'taskId'),
    attempt,
    fencingToken,
    nominalTime: header('nono-nominal-time') ?? stringField(body, 'nominalTime'),
    // The worker never works longer than its own limit, whatever the caller asks.
    budgetMs: Math.min(asked, defaultBudgetMs),
  };
}

function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  return typeof value === 'string' ? value : undefined;
}
