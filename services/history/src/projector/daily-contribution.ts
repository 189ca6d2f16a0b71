import { DAY_MS } from '@nono/domain';
import { type ExecutionFact } from './execution-fact.js';
import { type ExecutionRow } from './execution-merge.js';

/**
 * What one execution adds to its task's daily stats (day = UTC day of the nominal
 * instant). Only finished executions count; a status change moves the contribution from
 * one bucket to another by a delta, which keeps the aggregates right after retention has
 * deleted the executions themselves.
 *
 * Counts and sums are functions of the execution's row, so they depend only on the set of
 * facts. A maximum cannot be taken back by a delta, so `durationMaxMs` is defined on the
 * facts instead: the longest duration reported by any terminal outcome (succeeded, or
 * failed or timed out without retry) of an execution of that day, even one outranked by
 * another terminal fact. Defined on the row it would depend on the order and batching of
 * the facts (which intermediate rows existed); defined on the facts it does not.
 */
export interface DailyContribution {
  readonly runs: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly timedOut: number;
  readonly skipped: number;
  readonly misfired: number;
  readonly lost: number;
  readonly durationCount: number;
  readonly durationSumMs: number;
  readonly durationMaxMs: number;
}

export const NO_CONTRIBUTION: DailyContribution = {
  runs: 0,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  skipped: 0,
  misfired: 0,
  lost: 0,
  durationCount: 0,
  durationSumMs: 0,
  durationMaxMs: 0,
};

export function utcDayOf(instant: number): string {
  return new Date(Math.floor(instant / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

export function contributionOf(row: ExecutionRow | undefined): DailyContribution {
  if (row === undefined || !row.terminal) return NO_CONTRIBUTION;
  const ran =
    row.status === 'succeeded' ||
    row.status === 'failed' ||
    row.status === 'timed-out' ||
    row.status === 'lost';
  // A run an operator cancelled has no verdict: it counts neither as a run nor towards the success rate.
  const timed = ran && row.status !== 'lost' && row.durationMs !== null;
  const duration = timed ? (row.durationMs ?? 0) : 0;
  return {
    runs: ran ? 1 : 0,
    succeeded: row.status === 'succeeded' ? 1 : 0,
    failed: row.status === 'failed' ? 1 : 0,
    timedOut: row.status === 'timed-out' ? 1 : 0,
    skipped: row.status === 'skipped' ? 1 : 0,
    misfired: row.status === 'misfired' ? 1 : 0,
    lost: row.status === 'lost' ? 1 : 0,
    durationCount: timed ? 1 : 0,
    durationSumMs: duration,
    // Defined on the facts, not on the row (see above): contributionDelta fills it in.
    durationMaxMs: 0,
  };
}

/** The duration a fact brings to its day's `durationMaxMs` (see DailyContribution), or undefined. */
export function terminalDurationOf(fact: ExecutionFact): number | undefined {
  return fact.terminal ? fact.durationMs : undefined;
}

/**
 * new − old for the counts and sums; `durationMaxMs` is the longest terminal duration among
 * the facts that took the row from old to new (a max, only ever raised). Undefined when
 * nothing changes.
 */
export function contributionDelta(
  before: DailyContribution,
  after: DailyContribution,
  longestTerminalMs: number | undefined,
): DailyContribution | undefined {
  const delta: DailyContribution = {
    runs: after.runs - before.runs,
    succeeded: after.succeeded - before.succeeded,
    failed: after.failed - before.failed,
    timedOut: after.timedOut - before.timedOut,
    skipped: after.skipped - before.skipped,
    misfired: after.misfired - before.misfired,
    lost: after.lost - before.lost,
    durationCount: after.durationCount - before.durationCount,
    durationSumMs: after.durationSumMs - before.durationSumMs,
    durationMaxMs: longestTerminalMs ?? 0,
  };
  const changed =
    longestTerminalMs !== undefined ||
    Object.entries(delta).some(([key, value]) => key !== 'durationMaxMs' && value !== 0);
  return changed ? delta : undefined;
}

/** Two deltas of the same task and day as one. */
export function addContributions(a: DailyContribution, b: DailyContribution): DailyContribution {
  return {
    runs: a.runs + b.runs,
    succeeded: a.succeeded + b.succeeded,
    failed: a.failed + b.failed,
    timedOut: a.timedOut + b.timedOut,
    skipped: a.skipped + b.skipped,
    misfired: a.misfired + b.misfired,
    lost: a.lost + b.lost,
    durationCount: a.durationCount + b.durationCount,
    durationSumMs: a.durationSumMs + b.durationSumMs,
    durationMaxMs: Math.max(a.durationMaxMs, b.durationMaxMs),
  };
}
