import { type Static, Type } from '@sinclair/typebox';
import { ALERT_RULE_ID_PATTERN } from './alert-rule.js';
import { CALENDAR_NAME_PATTERN } from './calendar.js';
import { EXECUTION_STATUSES } from './execution-status.js';
import { TASK_ID_PATTERN } from './task.js';
import { GROUP_NAME_PATTERN } from './worker-group.js';

/**
 * The query and path parameters of history's query routes: history validates with them,
 * and the API documents its forwarded routes with the very same objects, so the two
 * OpenAPI documents cannot disagree. Every object is closed (`additionalProperties:
 * false`): an unknown parameter is a 400, not silently ignored. Identifiers are restricted
 * to a safe alphabet, so input that looks like SQL or markup is refused at the door
 * (queries are parameterised anyway). Field ranges are as tight as a pattern can say
 * (months 01-12, hours 00-23, no leap second); what no pattern can (February 30, a range
 * that ends before it starts, a cursor history did not issue) is a 422.
 */
const DAY = '\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])';
/** An RFC 3339 instant with an offset, each field within its range: for every schema that takes one. */
export const INSTANT_PATTERN = `^${DAY}T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,9})?(Z|z|[+-]([01]\\d|2[0-3]):[0-5]\\d)$`;
const SAFE_ID = '^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,199}$';

const Instant = Type.String({
  pattern: INSTANT_PATTERN,
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
/** A list's time range and paging, as every list route takes them. */
const page = {
  ...range,
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  format: Type.Optional(Format),
};

export const ExecutionsQuery = Type.Object(
  {
    taskId: Type.Optional(TaskId),
    status: Type.Optional(StatusSchema),
    schedulerId: Type.Optional(SafeId),
    ...page,
  },
  { additionalProperties: false },
);
export type ExecutionsQuery = Static<typeof ExecutionsQuery>;

export const TaskExecutionsQuery = Type.Object(
  {
    status: Type.Optional(StatusSchema),
    ...page,
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

export const GroupParams = Type.Object(
  { group: Type.String({ pattern: GROUP_NAME_PATTERN, description: 'worker group name' }) },
  { additionalProperties: false },
);
export type GroupParams = Static<typeof GroupParams>;

/** A per-member report's window: attempts started in [from, to). */
export const GroupReportQuery = Type.Object({ ...range }, { additionalProperties: false });
export type GroupReportQuery = Static<typeof GroupReportQuery>;

/** A ledger's window: both bounds required (the window's length is checked by the route). */
export const LedgerQuery = Type.Object({ from: Instant, to: Instant }, { additionalProperties: false });
export type LedgerQuery = Static<typeof LedgerQuery>;

export const DailyReportQuery = Type.Object(
  {
    day: Type.String({ pattern: `^${DAY}$`, description: 'UTC day, YYYY-MM-DD' }),
    format: Type.Optional(Format),
  },
  { additionalProperties: false },
);
export type DailyReportQuery = Static<typeof DailyReportQuery>;

/** What an audit entry is about: a task, an alert rule (its changes, from the alerts service), or an exclusion calendar. */
export const AUDIT_SUBJECTS = ['task', 'alert-rule', 'calendar'] as const;
export type AuditSubject = (typeof AUDIT_SUBJECTS)[number];

export const AuditQuery = Type.Object(
  {
    subject: Type.Optional(
      Type.Union(
        AUDIT_SUBJECTS.map((subject) => Type.Literal(subject)),
        {
          description:
            'only entries about tasks, only alert rule changes, or only calendar changes (default: all)',
        },
      ),
    ),
    taskId: Type.Optional(TaskId),
    ruleId: Type.Optional(
      Type.String({ pattern: ALERT_RULE_ID_PATTERN, description: 'alert rule id: only its changes' }),
    ),
    calendar: Type.Optional(
      Type.String({ pattern: CALENDAR_NAME_PATTERN, description: 'calendar name: only its changes' }),
    ),
    actor: Type.Optional(SafeId),
    ...page,
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const SchedulerHistoryQuery = Type.Object(
  {
    schedulerId: Type.Optional(SafeId),
    ...page,
  },
  { additionalProperties: false },
);
export type SchedulerHistoryQuery = Static<typeof SchedulerHistoryQuery>;
