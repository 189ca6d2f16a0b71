import { type ExecutionFact, Phase } from './execution-fact.js';

const isOutcomeOrLost = (phase: number): boolean => phase === Phase.Outcome || phase === Phase.Lost;

/**
 * The rank of the fact that currently sets an execution's (or an attempt's) status.
 * Compared lexicographically: terminal beats non-terminal, then a later attempt, then a
 * later phase, then a later event time, then the event id (so equal ranks still resolve
 * the same way whatever order the facts arrive in).
 */
export interface StatusRank {
  readonly terminal: boolean;
  readonly attempt: number;
  readonly phase: number;
  readonly at: number;
  readonly eventId: string;
}

export function compareRanks(a: StatusRank, b: StatusRank): number {
  if (a.terminal !== b.terminal) return a.terminal ? 1 : -1;
  if (a.attempt !== b.attempt) return a.attempt - b.attempt;
  // Two final facts of one attempt: what the worker answered outranks the attempt being declared
  // lost, as it does for the attempt's own row (a call reported lost because its scheduler died,
  // e.g. a backfill's, may have been answered first). Only the comparison changes, not the
  // stored phase numbers, so existing rows rank as before against everything else.
  if (a.terminal && a.phase !== b.phase && isOutcomeOrLost(a.phase) && isOutcomeOrLost(b.phase))
    return a.phase === Phase.Outcome ? 1 : -1;
  if (a.phase !== b.phase) return a.phase - b.phase;
  if (a.at !== b.at) return a.at - b.at;
  return a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

export function rankOf(fact: ExecutionFact): StatusRank {
  return {
    terminal: fact.terminal,
    attempt: fact.attempt,
    phase: fact.phase,
    at: fact.at,
    eventId: fact.eventId,
  };
}

/** Whether `fact` should replace the status currently ranked `current`. */
export function outranks(fact: ExecutionFact, current: StatusRank | undefined): boolean {
  return current === undefined || compareRanks(rankOf(fact), current) > 0;
}
