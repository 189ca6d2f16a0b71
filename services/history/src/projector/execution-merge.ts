import { type executionAttempts, type executions } from '../store/schema.js';
import { type ExecutionFact, Phase } from './execution-fact.js';
import { type StatusRank, compareRanks, outranks } from './status-precedence.js';

export type ExecutionRow = typeof executions.$inferSelect;
export type AttemptRow = typeof executionAttempts.$inferSelect;

/**
 * Folds one fact into an execution row. Pure, so the convergence rules are proven by
 * unit tests: the row depends on the set of facts, not on their arrival order.
 * - status and the outcome fields come from the highest-ranked fact (status-precedence.ts);
 * - firedAt and lateMs come from the lowest attempt's dispatch (lateness is about the first fire);
 * - attempts is the highest attempt seen.
 */
export function mergeExecution(row: ExecutionRow | undefined, fact: ExecutionFact): ExecutionRow {
  // One copy per fact, then assignments: this runs for every fact of every batch.
  const next: ExecutionRow =
    row === undefined
      ? {
          executionId: fact.executionId,
          taskId: fact.taskId,
          nominalTime: fact.nominalTime,
          firedAt: null,
          finishedAt: null,
          status: fact.status,
          terminal: fact.terminal,
          statusAttempt: fact.attempt,
          statusPhase: fact.phase,
          statusAt: fact.at,
          statusEventId: fact.eventId,
          attempts: fact.attempt,
          httpStatus: null,
          error: null,
          durationMs: null,
          lateMs: null,
          firedAttempt: null,
          schedulerId: fact.schedulerId,
          fencingToken: fact.fencingToken,
          reason: fact.reason,
          instantId: fact.instantId ?? null,
          shardIndex: fact.shardIndex ?? null,
          shardCount: fact.shardCount ?? null,
          memberUrl: fact.memberUrl ?? null,
          parameters: null,
        }
      : { ...row };
  if (next.instantId === null && fact.instantId !== undefined) {
    next.instantId = fact.instantId;
    next.shardIndex = fact.shardIndex ?? null;
    next.shardCount = fact.shardCount ?? null;
  }
  // The member of the deciding fact when it names one (a shard's retry moves it), else the first named.
  if (next.memberUrl === null && fact.memberUrl !== undefined) next.memberUrl = fact.memberUrl;
  // Every fired fact of a manual run carries the same parameters (kept with its claim).
  if (fact.parameters !== undefined && next.parameters === null) next.parameters = fact.parameters;
  if (fact.attempt > next.attempts) next.attempts = fact.attempt;
  if (row === undefined || outranks(fact, rankOfRow(row))) {
    next.status = fact.status;
    next.terminal = fact.terminal;
    next.statusAttempt = fact.attempt;
    next.statusPhase = fact.phase;
    next.statusAt = fact.at;
    next.statusEventId = fact.eventId;
    next.finishedAt = fact.finishedAt ?? null;
    next.durationMs = fact.durationMs ?? null;
    next.httpStatus = fact.httpStatus ?? null;
    next.error = fact.error ?? null;
    next.schedulerId = fact.schedulerId;
    next.fencingToken = fact.fencingToken;
    next.reason = fact.reason;
    if (fact.memberUrl !== undefined) next.memberUrl = fact.memberUrl;
  }
  if (fact.firedAt !== undefined && isEarlierDispatch(fact, next)) {
    next.firedAt = fact.firedAt;
    next.lateMs = fact.lateMs ?? null;
    next.firedAttempt = fact.attempt;
  }
  return next;
}

function isEarlierDispatch(fact: ExecutionFact, row: ExecutionRow): boolean {
  if (row.firedAttempt === null || row.firedAt === null) return true;
  if (fact.attempt !== row.firedAttempt) return fact.attempt < row.firedAttempt;
  return (fact.firedAt ?? Number.POSITIVE_INFINITY) < row.firedAt;
}

function rankOfRow(row: ExecutionRow): StatusRank {
  return {
    terminal: row.terminal,
    attempt: row.statusAttempt,
    phase: row.statusPhase,
    at: row.statusAt,
    eventId: row.statusEventId,
  };
}

/**
 * Within one attempt, what the worker answered outranks the attempt being declared lost
 * (a "lost" call can still come back), which outranks the dispatch.
 */
const attemptPhase: Record<number, number> = { [Phase.Dispatched]: 1, [Phase.Lost]: 2, [Phase.Outcome]: 3 };

/** Whether a fact is about a dispatched attempt (and so has an attempt row to fold into). */
export function isAttemptFact(fact: ExecutionFact): boolean {
  return fact.attempt >= 1 && attemptPhase[fact.phase] !== undefined;
}

/** Folds one fact into its attempt's row; undefined when the fact is not about a dispatched attempt. */
export function mergeAttempt(row: AttemptRow | undefined, fact: ExecutionFact): AttemptRow | undefined {
  const phase = attemptPhase[fact.phase];
  if (fact.attempt < 1 || phase === undefined) return undefined;
  const base: AttemptRow = row ?? {
    executionId: fact.executionId,
    attempt: fact.attempt,
    status: fact.attemptStatus ?? fact.status,
    statusPhase: phase,
    statusAt: fact.at,
    statusEventId: fact.eventId,
    startedAt: null,
    finishedAt: null,
    httpStatus: null,
    error: null,
    durationMs: null,
    output: null,
    cancelCall: null,
    memberGroup: fact.member?.group ?? null,
    memberUrl: fact.member?.url ?? null,
  };
  let next: AttemptRow =
    fact.firedAt !== undefined && (base.startedAt === null || fact.firedAt < base.startedAt)
      ? { ...base, startedAt: fact.firedAt }
      : base;
  // Every fact of one attempt names the same member: the first one seen sets it.
  if (fact.member !== undefined && next.memberGroup === null)
    next = { ...next, memberGroup: fact.member.group, memberUrl: fact.member.url };
  const current =
    row === undefined
      ? undefined
      : {
          terminal: false,
          attempt: fact.attempt,
          phase: row.statusPhase,
          at: row.statusAt,
          eventId: row.statusEventId,
        };
  const candidate = { terminal: false, attempt: fact.attempt, phase, at: fact.at, eventId: fact.eventId };
  if (current === undefined || compareRanks(candidate, current) > 0) {
    next = {
      ...next,
      status: fact.attemptStatus ?? fact.status,
      statusPhase: phase,
      statusAt: fact.at,
      statusEventId: fact.eventId,
      finishedAt: fact.finishedAt ?? null,
      httpStatus: fact.httpStatus ?? null,
      error: fact.error ?? null,
      durationMs: fact.durationMs ?? null,
      output: fact.output ?? null,
      cancelCall: fact.cancelCall ?? null,
    };
  }
  return next;
}
