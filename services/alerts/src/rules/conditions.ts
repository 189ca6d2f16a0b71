import { type AlertCondition, type AlertConditionKind, type NonoEvent, type NonoEventOf } from '@nono/domain';

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

/**
 * Whether `event` is an occurrence of `condition` (dead-man never is: it is judged on the
 * clock, not on a fact). `streak` is the task's failure streak after this event.
 */
export function occurrenceOf(
  condition: AlertCondition,
  event: ExecutionEvent,
  streak: number,
): Occurrence | undefined {
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
    case 'dead-man':
      return undefined;
  }
}

/**
 * Whether a succeeded execution clears an open alert: any success clears a failure alert;
 * a dead-man alert needs a scheduled instant at or after the one found missing (a manual
 * run proves nothing about the schedule).
 */
export function clearsAlert(
  success: NonoEventOf<'nono.execution.succeeded.v1'>,
  alert: { readonly condition: string; readonly nominalTime: number | null },
): boolean {
  if (alert.condition !== 'dead-man') return true;
  if (success.data.reason === 'manual') return false;
  return Date.parse(success.data.nominalTime) >= (alert.nominalTime ?? 0);
}
