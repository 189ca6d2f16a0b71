/**
 * The error catalogue. Codes are stable (tests and clients match on them); messages are
 * for people. Adapters map codes to HTTP statuses and CLI exit codes at the edge.
 */
export const ErrorCode = {
  InvalidTask: 'NONO_INVALID_TASK',
  InvalidSchedule: 'NONO_INVALID_SCHEDULE',
  InvalidEvent: 'NONO_INVALID_EVENT',
  InvalidConfig: 'NONO_INVALID_CONFIG',
  TaskNotFound: 'NONO_TASK_NOT_FOUND',
  TaskExists: 'NONO_TASK_EXISTS',
  RevisionConflict: 'NONO_REVISION_CONFLICT',
  InvalidWorkerGroup: 'NONO_INVALID_WORKER_GROUP',
  WorkerGroupNotFound: 'NONO_WORKER_GROUP_NOT_FOUND',
  WorkerGroupExists: 'NONO_WORKER_GROUP_EXISTS',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One problem with one field of an input, named by its JSON path (`schedule.expression`). */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

export class NonoError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NonoError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export class ValidationError extends NonoError {
  readonly issues: readonly FieldIssue[];

  constructor(code: ErrorCode, issues: readonly FieldIssue[]) {
    super(code, formatIssues(issues));
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((issue) => `${issue.field === '' ? '(root)' : issue.field}: ${issue.message}`).join('; ');
}

/** A computation that either produced a value or found problems with named fields. */
export type Result<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly FieldIssue[] };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(issues: readonly FieldIssue[]): Result<T> => ({ ok: false, issues });
