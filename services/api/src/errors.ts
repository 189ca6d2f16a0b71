import { ErrorCode, type FieldIssue, NonoError, ValidationError, formatIssues } from '@nono/domain';

/**
 * The API's error catalogue: every failure a client can see has a stable code, an HTTP
 * status and a title. Domain codes (NONO_TASK_NOT_FOUND…) are mapped here too, so the
 * whole client-facing vocabulary is in one table; a unit test checks every code is
 * documented in README.md. Tests match codes, never message wording.
 */
export const ApiErrorCode = {
  ...ErrorCode,
  BadRequest: 'NONO_BAD_REQUEST',
  InvalidInput: 'NONO_INVALID_INPUT',
  InvalidAlertRule: 'NONO_INVALID_ALERT_RULE',
  TargetNotAllowed: 'NONO_TARGET_NOT_ALLOWED',
  PreconditionFailed: 'NONO_PRECONDITION_FAILED',
  PreconditionRequired: 'NONO_PRECONDITION_REQUIRED',
  Unauthenticated: 'NONO_UNAUTHENTICATED',
  Forbidden: 'NONO_FORBIDDEN',
  NotFound: 'NONO_NOT_FOUND',
  MethodNotAllowed: 'NONO_METHOD_NOT_ALLOWED',
  PayloadTooLarge: 'NONO_PAYLOAD_TOO_LARGE',
  UnsupportedMediaType: 'NONO_UNSUPPORTED_MEDIA_TYPE',
  RateLimited: 'NONO_RATE_LIMITED',
  CoordinationUnavailable: 'NONO_COORDINATION_UNAVAILABLE',
  OutcomeUnknown: 'NONO_OUTCOME_UNKNOWN',
  HistoryUnavailable: 'NONO_HISTORY_UNAVAILABLE',
  AlertsUnavailable: 'NONO_ALERTS_UNAVAILABLE',
  TokenExists: 'NONO_TOKEN_EXISTS',
  TokenNotFound: 'NONO_TOKEN_NOT_FOUND',
  InvalidTokenRequest: 'NONO_INVALID_TOKEN_REQUEST',
  InvalidWebhookSecret: 'NONO_INVALID_WEBHOOK_SECRET',
  ForbiddenJsonKey: 'NONO_FORBIDDEN_JSON_KEY',
  WebhookSecretsFull: 'NONO_WEBHOOK_SECRETS_FULL',
  WebhookSecretNotFound: 'NONO_WEBHOOK_SECRET_NOT_FOUND',
  InvalidTriggerParameters: 'NONO_INVALID_TRIGGER_PARAMETERS',
  InvalidCalendar: 'NONO_INVALID_CALENDAR',
  CalendarNotFound: 'NONO_CALENDAR_NOT_FOUND',
  CalendarConflict: 'NONO_CALENDAR_CONFLICT',
  CalendarInUse: 'NONO_CALENDAR_IN_USE',
  MemberNotFound: 'NONO_MEMBER_NOT_FOUND',
  InvalidMember: 'NONO_INVALID_MEMBER',
  BackfillNotFound: 'NONO_BACKFILL_NOT_FOUND',
  InvalidBackfill: 'NONO_INVALID_BACKFILL',
  BackfillTooLarge: 'NONO_BACKFILL_TOO_LARGE',
  Internal: 'NONO_INTERNAL',
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

interface CatalogueEntry {
  readonly status: number;
  readonly title: string;
}

export const ERROR_CATALOGUE: Readonly<Record<ApiErrorCode, CatalogueEntry>> = {
  NONO_INVALID_TASK: { status: 422, title: 'The task definition is not valid' },
  NONO_INVALID_SCHEDULE: { status: 422, title: 'The schedule is not valid' },
  NONO_INVALID_EVENT: { status: 500, title: 'An event broke its contract' },
  NONO_INVALID_CONFIG: { status: 500, title: 'The server is misconfigured' },
  NONO_TASK_NOT_FOUND: { status: 404, title: 'No such task' },
  NONO_TASK_EXISTS: { status: 409, title: 'A task with this id already exists' },
  NONO_REVISION_CONFLICT: { status: 409, title: 'The task changed concurrently; read it again and retry' },
  NONO_BAD_REQUEST: { status: 400, title: 'The request is malformed' },
  NONO_INVALID_INPUT: { status: 400, title: 'The request does not match the schema' },
  NONO_INVALID_TRIGGER_PARAMETERS: {
    status: 422,
    title: 'The trigger parameters cannot be sent to this task',
  },
  NONO_INVALID_ALERT_RULE: { status: 422, title: 'The alert rule is not valid' },
  NONO_TARGET_NOT_ALLOWED: { status: 400, title: 'The target host is not allowed' },
  NONO_PRECONDITION_FAILED: { status: 412, title: 'If-Match does not match the current version' },
  NONO_PRECONDITION_REQUIRED: { status: 428, title: 'This change needs an If-Match header' },
  NONO_UNAUTHENTICATED: { status: 401, title: 'A valid bearer token is required' },
  NONO_FORBIDDEN: { status: 403, title: "The token's role does not allow this" },
  NONO_NOT_FOUND: { status: 404, title: 'No such resource' },
  NONO_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  NONO_PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  NONO_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  NONO_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  NONO_COORDINATION_UNAVAILABLE: { status: 503, title: 'ZooKeeper is unavailable' },
  NONO_OUTCOME_UNKNOWN: {
    status: 503,
    title: 'The connection dropped mid-write; read the task to see whether it applied',
  },
  NONO_HISTORY_UNAVAILABLE: { status: 502, title: 'The history service is unreachable' },
  NONO_ALERTS_UNAVAILABLE: { status: 502, title: 'The alerts service is unreachable' },
  NONO_TOKEN_EXISTS: { status: 409, title: 'A token with this name already exists' },
  NONO_TOKEN_NOT_FOUND: { status: 404, title: 'No such token' },
  NONO_INVALID_TOKEN_REQUEST: { status: 422, title: 'The token cannot be created as asked' },
  NONO_FORBIDDEN_JSON_KEY: { status: 422, title: 'The body uses a key nono refuses (prototype poisoning)' },
  NONO_INVALID_WEBHOOK_SECRET: { status: 422, title: 'The webhook secret is not a Standard Webhooks secret' },
  NONO_WEBHOOK_SECRETS_FULL: { status: 409, title: 'Two webhook secrets are active already' },
  NONO_WEBHOOK_SECRET_NOT_FOUND: { status: 404, title: 'No such webhook secret' },
  NONO_INVALID_CALENDAR: { status: 422, title: 'The calendar is not valid' },
  NONO_CALENDAR_NOT_FOUND: { status: 404, title: 'No such calendar' },
  NONO_CALENDAR_CONFLICT: {
    status: 409,
    title: 'The calendar changed concurrently; read it again and retry',
  },
  NONO_CALENDAR_IN_USE: { status: 409, title: 'Tasks reference this calendar' },
  NONO_INVALID_WORKER_GROUP: { status: 422, title: 'The worker group definition is not valid' },
  NONO_WORKER_GROUP_NOT_FOUND: { status: 404, title: 'No such worker group' },
  NONO_WORKER_GROUP_EXISTS: { status: 409, title: 'A worker group with this name already exists' },
  NONO_MEMBER_NOT_FOUND: { status: 404, title: 'No such member in the worker group' },
  NONO_INVALID_MEMBER: { status: 422, title: 'The member registration is not valid' },
  NONO_BACKFILL_NOT_FOUND: { status: 404, title: 'No such backfill' },
  NONO_INVALID_BACKFILL: { status: 422, title: 'The backfill window is not valid' },
  NONO_BACKFILL_TOO_LARGE: {
    status: 422,
    title: 'The backfill window is larger than the bound (allowLargeWindow overrides the window bound)',
  },
  NONO_INTERNAL: { status: 500, title: 'Internal error' },
};

/** A failure meant for the client: its code picks the status, `issues` name the fields at fault. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly statusCode: number;
  readonly issues: readonly FieldIssue[];

  constructor(code: ApiErrorCode, detail?: string, issues: readonly FieldIssue[] = []) {
    super(detail ?? (issues.length > 0 ? formatIssues(issues) : ERROR_CATALOGUE[code].title));
    this.name = 'ApiError';
    this.code = code;
    this.statusCode = ERROR_CATALOGUE[code].status;
    this.issues = issues;
  }
}

export const invalidInput = (
  issues: readonly FieldIssue[],
  code: ApiErrorCode = ApiErrorCode.InvalidTask,
): ApiError => new ApiError(code, undefined, issues);

/** RFC 9457 problem details, with the catalogue code and the failing fields. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ApiErrorCode;
  readonly instance?: string;
  readonly errors?: readonly FieldIssue[];
}

/** Fastify's own error codes that are the client's fault, mapped to the catalogue. */
const FASTIFY_CODES: Readonly<Record<string, ApiErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ApiErrorCode.PayloadTooLarge,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ApiErrorCode.UnsupportedMediaType,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ApiErrorCode.BadRequest,
  FST_ERR_CTP_EMPTY_JSON_BODY: ApiErrorCode.BadRequest,
  FST_ERR_CTP_INVALID_JSON_BODY: ApiErrorCode.BadRequest,
  FST_ERR_VALIDATION: ApiErrorCode.InvalidInput,
};

/**
 * Normalises any throwable, once, at the boundary. Unknown errors become a 500 whose
 * detail never reaches the client (it is logged by the caller).
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ValidationError) return new ApiError(error.code, undefined, error.issues);
  if (error instanceof NonoError) return new ApiError(error.code, error.message);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    const mapped = FASTIFY_CODES[code];
    if (mapped !== undefined) return new ApiError(mapped, (error as Error).message);
    // @fastify/rate-limit and friends set a 4xx statusCode on errors that are the client's.
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500)
      return new ApiError(ApiErrorCode.BadRequest, (error as Error).message);
  }
  return new ApiError(ApiErrorCode.Internal);
}

export function problemOf(error: ApiError, instance?: string): Problem {
  const entry = ERROR_CATALOGUE[error.code];
  const internal = entry.status >= 500 && error.code !== ApiErrorCode.HistoryUnavailable;
  return {
    type: `https://nono.dev/problems/${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: entry.title,
    status: entry.status,
    // 5xx details can carry hostnames and stack-ish text: clients get the title only.
    detail: internal && error.code === ApiErrorCode.Internal ? entry.title : error.message,
    code: error.code,
    ...(instance === undefined ? {} : { instance }),
    ...(error.issues.length > 0 ? { errors: error.issues } : {}),
  };
}
