import { formatInstant } from '@nono/domain';
import {
  type AttemptRecord,
  type AuditRecord,
  type DailyStatsRecord,
  type ExecutionRecord,
  type MemberResult,
  type SchedulerEventRecord,
} from '../store/history-queries.js';

/** Database rows to API JSON: instants become RFC 3339, bookkeeping columns stay inside. */
const instant = (ms: number | null): string | null => (ms === null ? null : formatInstant(ms));

export const EXECUTION_COLUMNS = [
  'executionId',
  'taskId',
  'nominalTime',
  'status',
  'attempts',
  'firedAt',
  'finishedAt',
  'durationMs',
  'lateMs',
  'httpStatus',
  'error',
  'schedulerId',
  'fencingToken',
  'reason',
  // Added with shard and broadcast routes, last so that CSV columns keep their positions.
  'instantId',
  'shardIndex',
  'shardCount',
  'memberUrl',
  // Added with trigger parameters, last so that CSV columns keep their positions.
  'parameters',
] as const;

export function presentExecution(row: ExecutionRecord): Record<(typeof EXECUTION_COLUMNS)[number], unknown> {
  return {
    executionId: row.executionId,
    taskId: row.taskId,
    nominalTime: instant(row.nominalTime),
    status: row.status,
    attempts: row.attempts,
    firedAt: instant(row.firedAt),
    finishedAt: instant(row.finishedAt),
    durationMs: row.durationMs,
    lateMs: row.lateMs,
    httpStatus: row.httpStatus,
    error: row.error,
    schedulerId: row.schedulerId,
    fencingToken: row.fencingToken,
    reason: row.reason,
    instantId: row.instantId,
    shardIndex: row.shardIndex,
    shardCount: row.shardCount,
    memberUrl: row.memberUrl,
    parameters: row.parameters,
  };
}

export function presentAttempt(row: AttemptRecord): Record<string, unknown> {
  return {
    attempt: row.attempt,
    status: row.status,
    startedAt: instant(row.startedAt),
    finishedAt: instant(row.finishedAt),
    durationMs: row.durationMs,
    httpStatus: row.httpStatus,
    error: row.error,
    // What the task captured of the answer: { body, encoding, bytes, truncated, headers }, or null.
    output: row.output,
    // How the task's cancel URL answered after an operator cancelled this attempt, or null.
    cancelCall: row.cancelCall,
    // The worker group member the attempt went to (group targets), or null.
    member:
      row.memberGroup === null || row.memberUrl === null
        ? null
        : { group: row.memberGroup, url: row.memberUrl },
  };
}

export const AUDIT_COLUMNS = [
  'eventId',
  'at',
  'taskId',
  'type',
  'actorId',
  'actorKind',
  'revision',
  'detail',
  'before',
  'after',
  // Added with alert rule changes, last so that CSV columns keep their positions.
  'subject',
  'ruleId',
  // Added with calendar changes, last for the same reason.
  'calendar',
] as const;

/** An audit entry: `subject` says what it is about; `taskId`, `ruleId` or `calendar` names it (the others are null). */
export function presentAudit(row: AuditRecord): Record<(typeof AUDIT_COLUMNS)[number], unknown> {
  return {
    eventId: row.eventId,
    at: instant(row.at),
    taskId: row.subject === 'task' ? row.taskId : null,
    type: row.type,
    actorId: row.actorId,
    actorKind: row.actorKind,
    revision: row.revision,
    detail: row.subject === 'task' ? row.detail : null,
    before: row.before,
    after: row.after,
    subject: row.subject,
    ruleId: row.subject === 'alert-rule' ? row.ruleId : null,
    calendar: row.subject === 'calendar' ? row.calendar : null,
  };
}

export const SCHEDULER_EVENT_COLUMNS = ['eventId', 'at', 'schedulerId', 'type', 'detail'] as const;

export function presentSchedulerEvent(
  row: SchedulerEventRecord,
): Record<(typeof SCHEDULER_EVENT_COLUMNS)[number], unknown> {
  return {
    eventId: row.eventId,
    at: instant(row.at),
    schedulerId: row.schedulerId,
    type: row.type,
    detail: row.detail,
  };
}

export const DAILY_COLUMNS = [
  'taskId',
  'day',
  'runs',
  'succeeded',
  'failed',
  'timedOut',
  'lost',
  'skipped',
  'missed',
  'successRate',
  'meanDurationMs',
  'maxDurationMs',
] as const;

export function presentDaily(row: DailyStatsRecord): Record<(typeof DAILY_COLUMNS)[number], unknown> {
  return {
    taskId: row.taskId,
    day: row.day,
    runs: row.runs,
    succeeded: row.succeeded,
    failed: row.failed,
    timedOut: row.timedOut,
    lost: row.lost,
    skipped: row.skipped,
    missed: row.misfired,
    successRate: row.runs === 0 ? null : row.succeeded / row.runs,
    meanDurationMs: row.durationCount === 0 ? null : Math.round(row.durationSumMs / row.durationCount),
    maxDurationMs: row.durationCount === 0 ? null : row.durationMaxMs,
  };
}

/** One member's results: instants as RFC 3339. */
export function presentMemberResult(row: MemberResult): Record<string, unknown> {
  return { ...row, lastStartedAt: instant(row.lastStartedAt) };
}
