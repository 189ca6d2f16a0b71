import { type AlertCondition, type AlertConditionKind, type NonoEvent } from '@nono/domain';

/** The execution events conditions are judged on. */
export type ExecutionEvent = Extract<NonoEvent, { type: `nono.execution.${string}` }>;

export function isExecutionEvent(event: NonoEvent): event is ExecutionEvent {
  return event.type.startsWith('nono.execution.');
}

/** One time a rule's condition held for a task: what opens an alert, or counts on an open one. */
export interface Occurrence {
  readonly taskId: string;
  readonly condition: AlertConditionKind;
  readonly summary: string;
  /** Unique per occurrence and stable across replays: the opening alert's id is derived from it. */
  readonly causeId: string;
  readonly executionId: string | undefined;
  readonly nominal: string | undefined;
}

/**
 * An execution's end that counts against its task's streak: failed or timed out with no
 * retry left, or lost with no re-run coming.
 */
export function isFinalFailure(event: ExecutionEvent): boolean {
  switch (event.type) {
    case 'nono.execution.failed.v1':
    case 'nono.execution.timed-out.v1':
      return !event.data.willRetry;
    case 'nono.execution.lost.v1':
      return !event.data.rerun;
    default:
      return false;
  }
}

/** An outcome success-rate rules count: a success, or a failure with nothing left to try. */
export function isFinalOutcome(event: ExecutionEvent): boolean {
  return event.type === 'nono.execution.succeeded.v1' || isFinalFailure(event);
}

/** What the engine knows of a task beyond the event itself, after the event is recorded. */
export interface TaskContext {
  /** Final failures in a row, this event's included. */
  readonly streak: number;
  /** Final outcomes in the `windowMs` that ends at the event, the event's included. */
  readonly outcomes: (windowMs: number) => OutcomeCounts;
}

export interface OutcomeCounts {
  readonly succeeded: number;
  readonly total: number;
}

type SuccessRate = Extract<AlertCondition, { kind: 'success-rate' }>;

/** Below the rule's share of successes, over enough outcomes to judge (`minRuns`, default 1); undefined: too few. */
export function successRateBelow(condition: SuccessRate, counts: OutcomeCounts): boolean | undefined {
  if (counts.total < (condition.minRuns ?? 1) || counts.total === 0) return undefined;
  return counts.succeeded * 100 < condition.belowPercent * counts.total;
}

const percent = (counts: OutcomeCounts): string =>
  `${Math.round((counts.succeeded * 1000) / counts.total) / 10} %`;

const FINAL_OUTCOME_KINDS: readonly AlertConditionKind[] = ['success-rate', 'duration-above'];

/**
 * The conditions an event of `type` can be an occurrence of (a superset: `occurrenceOf`
 * decides). The engine matches an event only against the rules with these conditions: most
 * facts are successes, which only success-rate and duration rules look at.
 */
export function conditionsOccurringOn(type: ExecutionEvent['type']): ReadonlySet<AlertConditionKind> {
  switch (type) {
    case 'nono.execution.succeeded.v1':
      return new Set(FINAL_OUTCOME_KINDS);
    case 'nono.execution.failed.v1':
      return new Set<AlertConditionKind>(['failed', 'consecutive-failures', ...FINAL_OUTCOME_KINDS]);
    case 'nono.execution.timed-out.v1':
      return new Set<AlertConditionKind>(['timed-out', 'consecutive-failures', ...FINAL_OUTCOME_KINDS]);
    case 'nono.execution.lost.v1':
      return new Set<AlertConditionKind>(['lost', 'consecutive-failures', 'success-rate']);
    case 'nono.execution.skipped.v1':
      return new Set<AlertConditionKind>(['skipped']);
    case 'nono.execution.misfired.v1':
      return new Set<AlertConditionKind>(['misfired']);
    case 'nono.execution.fired.v1':
      return new Set<AlertConditionKind>(['lateness-above']);
    // An operator's cancel is a decision, not a failure: no condition hears of it.
    case 'nono.execution.cancelled.v1':
    case 'nono.execution.retrying.v1':
      return new Set<AlertConditionKind>();
  }
}

/**
 * Whether `event` is an occurrence of `condition`. Dead-man and the cluster conditions
 * never are: they are judged on the clock or on cluster facts.
 */
export function occurrenceOf(
  condition: AlertCondition,
  event: ExecutionEvent,
  context: TaskContext,
): Occurrence | undefined {
  const { streak } = context;
  const base = {
    taskId: event.data.taskId,
    condition: condition.kind,
    causeId: event.id,
    executionId: event.data.executionId,
    nominal: event.data.nominalTime,
  };
  const at = `${event.data.taskId} at ${event.data.nominalTime}`;
  switch (condition.kind) {
    case 'failed':
      return event.type === 'nono.execution.failed.v1' && !event.data.willRetry
        ? { ...base, summary: `${at} failed after attempt ${event.data.attempt}: ${event.data.error}` }
        : undefined;
    case 'timed-out':
      return event.type === 'nono.execution.timed-out.v1' && !event.data.willRetry
        ? {
            ...base,
            summary: `${at} timed out after ${event.data.timeoutMs} ms (attempt ${event.data.attempt})`,
          }
        : undefined;
    case 'lost':
      return event.type === 'nono.execution.lost.v1'
        ? {
            ...base,
            summary: `${at} was lost with scheduler ${event.data.lostSchedulerId}${event.data.rerun ? ' (re-run follows)' : ''}`,
          }
        : undefined;
    case 'skipped':
      return event.type === 'nono.execution.skipped.v1' &&
        (condition.reasons === undefined || condition.reasons.includes(event.data.skipReason))
        ? { ...base, summary: `${at} was skipped (${event.data.skipReason})` }
        : undefined;
    case 'misfired':
      return event.type === 'nono.execution.misfired.v1' &&
        (condition.actions === undefined || condition.actions.includes(event.data.action))
        ? { ...base, summary: `${at} misfired (${event.data.action === 'skip' ? 'skipped' : 'fired late'})` }
        : undefined;
    case 'consecutive-failures':
      return isFinalFailure(event) && streak >= condition.count
        ? {
            ...base,
            summary: `${event.data.taskId} failed ${streak} times in a row (last at ${event.data.nominalTime})`,
          }
        : undefined;
    case 'success-rate': {
      if (!isFinalOutcome(event)) return undefined;
      const counts = context.outcomes(condition.windowMs);
      return successRateBelow(condition, counts) === true
        ? {
            ...base,
            summary: `${event.data.taskId}: ${percent(counts)} of ${counts.total} runs succeeded in the last ${condition.windowMs} ms (below ${condition.belowPercent} %)`,
          }
        : undefined;
    }
    case 'duration-above':
      return 'durationMs' in event.data && event.data.durationMs > condition.thresholdMs
        ? {
            ...base,
            summary: `${at} took ${event.data.durationMs} ms (attempt ${event.data.attempt}), over ${condition.thresholdMs} ms`,
          }
        : undefined;
    case 'lateness-above':
      return event.type === 'nono.execution.fired.v1' &&
        event.data.reason !== 'manual' &&
        event.data.lateMs > condition.thresholdMs
        ? {
            ...base,
            summary: `${at} fired ${event.data.lateMs} ms late (attempt ${event.data.attempt}), over ${condition.thresholdMs} ms`,
          }
        : undefined;
    case 'dead-man':
    case 'no-scheduler':
    case 'scheduler-left':
    case 'consumer-lag':
      return undefined;
  }
}

/**
 * Whether an execution event clears an open alert of its task (`condition`: the alert's
 * rule's, when the rule still exists). Any success clears a failure alert; a dead-man alert
 * needs a scheduled instant at or after the one found missing (a manual run proves nothing
 * about the schedule); the threshold conditions clear when the measure is back within it.
 */
export function clearsAlert(
  event: ExecutionEvent,
  alert: { readonly condition: string; readonly nominalTime: number | null },
  condition: AlertCondition | undefined,
  context: TaskContext,
): boolean {
  switch (condition?.kind) {
    case 'success-rate':
      return (
        isFinalOutcome(event) && successRateBelow(condition, context.outcomes(condition.windowMs)) === false
      );
    case 'duration-above':
      return event.type === 'nono.execution.succeeded.v1' && event.data.durationMs <= condition.thresholdMs;
    case 'lateness-above':
      return (
        event.type === 'nono.execution.fired.v1' &&
        event.data.reason !== 'manual' &&
        event.data.lateMs <= condition.thresholdMs
      );
    case 'no-scheduler':
    case 'scheduler-left':
    case 'consumer-lag':
      return false;
    default:
      break;
  }
  if (event.type !== 'nono.execution.succeeded.v1') return false;
  if (alert.condition !== 'dead-man') return true;
  if (event.data.reason === 'manual') return false;
  return Date.parse(event.data.nominalTime) >= (alert.nominalTime ?? 0);
}

type ConsumerLag = Extract<AlertCondition, { kind: 'consumer-lag' }>;

/** Whether a consumer's lag breaks the rule; undefined when the lag is not known (history unreachable). */
export function lagExceeded(
  condition: ConsumerLag,
  lags: { readonly alerts?: number; readonly history?: number },
): boolean | undefined {
  const lag = lags[condition.consumer];
  return lag === undefined ? undefined : lag > condition.aboveRecords;
}
