import { type EpochMs, type LedgerDefinition, dueInstants } from '@nono/domain';

export interface DeadManWindow {
  /** The definition history of the task (every `task.*` event with the definition it left in force). */
  readonly definitions: readonly LedgerDefinition[];
  /** Instants before this were judged by an earlier check. */
  readonly from: EpochMs;
  /** Exclusive: now minus the rule's grace. */
  readonly to: EpochMs;
  /** How long after a definition change an instant of either definition is only transitional. */
  readonly transitionMs: number;
  readonly maxInstants: number;
  readonly succeeded: (nominal: EpochMs) => boolean;
}

/**
 * The instants of [from, to) that the task's schedule made due (under the definition in
 * force at each, so pauses, deletions, startAt and endAt count; `dueInstants`, the same
 * function the ledger uses) and that have no succeeded execution. Instants due only around
 * a definition change are not held against the task: a scheduler may rightly have fired
 * under either definition. `{ tooMany }` when the window holds more than `maxInstants`.
 */
export function missedInstants(window: DeadManWindow): { missed: EpochMs[] } | { tooMany: number } {
  if (window.to <= window.from) return { missed: [] };
  const due = dueInstants(window.definitions, window.from, window.to, {
    transitionMs: window.transitionMs,
    maxInstants: window.maxInstants,
  });
  if (!(due instanceof Map)) return { tooMany: due.tooMany };
  const missed: EpochMs[] = [];
  for (const [nominal, instant] of due)
    if (instant.due === 'schedule' && !window.succeeded(nominal)) missed.push(nominal);
  return { missed: missed.sort((a, b) => a - b) };
}
