import {
  type Clock,
  type LedgerAction,
  type LedgerEntry,
  type LedgerRules,
  buildLedger,
  formatInstant,
} from '@nono/domain';
import { type FastifyInstance } from 'fastify';
import { type HistoryQueries } from '../../store/history-queries.js';
import { impossibleQuery } from '../problem.js';
import { LedgerQuery, TaskParams } from '../query-schemas.js';
import { parseRange } from '../query-values.js';

export interface LedgerOptions {
  readonly clock: Clock;
  readonly rules: LedgerRules;
  /** The longest window one request may ask for. */
  readonly maxWindowMs: number;
}

export function registerLedgerRoutes(
  app: FastifyInstance,
  queries: () => HistoryQueries,
  options: LedgerOptions,
): void {
  app.get<{ Params: TaskParams; Querystring: LedgerQuery }>(
    '/tasks/:id/ledger',
    {
      schema: {
        summary:
          'Every instant the schedule made due in [from, to), next to what happened to it; unaccounted, doubled, stale and undue instants flagged',
        tags: ['ledger'],
        params: TaskParams,
        querystring: LedgerQuery,
      },
    },
    (request, reply) => {
      const { from, to } = parseLedgerWindow(request.query, options.maxWindowMs);
      const taskId = request.params.id;
      const facts = queries().ledgerFacts(taskId, from, to, options.rules.maxInstants);
      const now = options.clock.now();
      const ledger = facts.truncated
        ? undefined
        : buildLedger({ ...facts, from, to, now, rules: options.rules });
      if (ledger === undefined || !ledger.ok)
        throw impossibleQuery([
          {
            field: 'from',
            message: `the window holds more than ${options.rules.maxInstants} instants or executions; narrow from and to`,
          },
        ]);
      return reply.send({
        taskId,
        from: formatInstant(from),
        to: formatInstant(to),
        generatedAt: formatInstant(now),
        rules: {
          pendingMs: options.rules.pendingMs,
          transitionMs: options.rules.transitionMs,
          pending:
            'an instant without a fact is pending until nominal + execution budget (every attempt timing out, maximal backoff) + pendingMs, then unaccounted',
        },
        summary: ledger.summary,
        entries: ledger.entries.map(presentEntry),
      });
    },
  );
}

/** Both bounds are required and the window is bounded: a ledger is computed, not paged. */
function parseLedgerWindow(query: LedgerQuery, maxWindowMs: number): { from: number; to: number } {
  const { from, to } = parseRange(query);
  if (from === undefined || to === undefined) throw impossibleQuery([{ field: 'from', message: 'required' }]);
  if (to <= from) throw impossibleQuery([{ field: 'to', message: 'must be after from' }]);
  if (to - from > maxWindowMs)
    throw impossibleQuery([
      {
        field: 'to',
        message: `the window may span at most ${maxWindowMs / 3_600_000} hours (${maxWindowMs} ms)`,
      },
    ]);
  return { from, to };
}

function presentEntry(entry: LedgerEntry) {
  return {
    nominalTime: formatInstant(entry.nominal),
    kind: entry.kind,
    due: entry.due,
    revision: entry.revision ?? null,
    outcome: entry.outcome,
    reason: entry.reason ?? null,
    requestedAt: entry.requestedAt === undefined ? null : formatInstant(entry.requestedAt),
    executions: entry.executions.map((e) => ({
      executionId: e.executionId,
      status: e.status,
      reason: e.reason,
      attempts: e.attempts,
      error: e.error ?? null,
    })),
    actions: entry.actions.map(presentAction),
    flags: entry.flags,
  };
}

function presentAction(action: LedgerAction) {
  return {
    kind: action.kind,
    executionId: action.executionId,
    attempt: action.attempt,
    schedulerId: action.schedulerId,
    fencingToken: action.fencingToken,
    at: formatInstant(action.at),
    detail: action.detail ?? null,
  };
}
