import { type ExecutionFact } from './execution-fact.js';

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
