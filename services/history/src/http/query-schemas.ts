import { TASK_ID_PATTERN } from '@nono/domain';
import { type Static, Type } from '@sinclair/typebox';
import { EXECUTION_STATUSES } from '../store/schema.js';

/**
 * Query and path schemas of the API, shared by validation, the OpenAPI document and the
 * tests. Every object is closed (`additionalProperties: false`): an unknown parameter is
 * a 400, not silently ignored. Identifiers are restricted to a safe alphabet, so input
 * that looks like SQL or markup is refused at the door (queries are parameterised anyway).
 */
const RFC3339 = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|z|[+-]\\d{2}:\\d{2})$';
const SAFE_ID = '^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,199}$';

const Instant = Type.String({
  pattern: RFC3339,
  description: 'RFC 3339 instant with an offset, e.g. 2026-11-22T00:00:00Z',
});
const TaskId = Type.String({ pattern: TASK_ID_PATTERN, description: 'task id' });
const SafeId = Type.String({ pattern: SAFE_ID, description: 'identifier: letters, digits and . _ : @ + -' });
const Limit = Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'page size, 1 to 500' });
const Cursor = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,600}$',
  description: 'opaque cursor from the previous page (nextCursor)',
});
const Format = Type.Union([Type.Literal('json'), Type.Literal('csv')], {
  description: 'csv for a CSV download (or send Accept: text/csv)',
});
export const StatusSchema = Type.Union(
  EXECUTION_STATUSES.map((status) => Type.Literal(status)),
  { description: 'execution status' },
);

const range = { from: Type.Optional(Instant), to: Type.Optional(Instant) };

export const ExecutionsQuery = Type.Object(
  {
    taskId: Type.Optional(TaskId),
    status: Type.Optional(StatusSchema),
    schedulerId: Type.Optional(SafeId),
    ...range,
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
    format: Type.Optional(Format),
  },
  { additionalProperties: false },
);
export type ExecutionsQuery = Static<typeof ExecutionsQuery>;

export const TaskExecutionsQuery = Type.Object(
  {
    status: Type.Optional(StatusSchema),
    ...range,
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
    format: Type.Optional(Format),
  },
  { additionalProperties: false },
);
export type TaskExecutionsQuery = Static<typeof TaskExecutionsQuery>;

export const TaskParams = Type.Object({ id: TaskId }, { additionalProperties: false });
export type TaskParams = Static<typeof TaskParams>;

export const ExecutionParams = Type.Object({ id: SafeId }, { additionalProperties: false });
export type ExecutionParams = Static<typeof ExecutionParams>;

export const EmptyQuery = Type.Object({}, { additionalProperties: false });

export const TaskReportQuery = Type.Object({ ...range }, { additionalProperties: false });
export type TaskReportQuery = Static<typeof TaskReportQuery>;

/** A ledger's window: both bounds required (the window's length is checked by the route). */
export const LedgerQuery = Type.Object({ from: Instant, to: Instant }, { additionalProperties: false });
export type LedgerQuery = Static<typeof LedgerQuery>;

export const DailyReportQuery = Type.Object(
  {
    day: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'UTC day, YYYY-MM-DD' }),
    format: Type.Optional(Format),
  },
  { additionalProperties: false },
);
export type DailyReportQuery = Static<typeof DailyReportQuery>;

const Count = Type.Integer({ minimum: 0 });

/**
 * The JSON answer of `/reports/daily`, also its response schema: Fastify then serialises it
 * with a compiled fast-json-stringify function instead of JSON.stringify (a day of 1,000
 * tasks is ~200 KB). Must list every field presentDaily returns (others would be dropped).
 */
export const DailyReportItem = Type.Object({
  taskId: Type.String(),
  day: Type.String({ description: 'UTC day, YYYY-MM-DD' }),
  runs: Count,
  succeeded: Count,
  failed: Count,
  timedOut: Count,
  lost: Count,
  skipped: Count,
  missed: Count,
  successRate: Type.Union([Type.Number(), Type.Null()]),
  meanDurationMs: Type.Union([Type.Integer(), Type.Null()]),
  maxDurationMs: Type.Union([Type.Integer(), Type.Null()]),
});

export const DailyReportPage = Type.Object({
  items: Type.Array(DailyReportItem),
  nextCursor: Type.Null(),
});

export const AuditQuery = Type.Object(
  {
    taskId: Type.Optional(TaskId),
    actor: Type.Optional(SafeId),
    ...range,
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
    format: Type.Optional(Format),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const SchedulerHistoryQuery = Type.Object(
  {
    schedulerId: Type.Optional(SafeId),
    ...range,
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
    format: Type.Optional(Format),
  },
  { additionalProperties: false },
);
export type SchedulerHistoryQuery = Static<typeof SchedulerHistoryQuery>;
