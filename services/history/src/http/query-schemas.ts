import { Type } from '@sinclair/typebox';

export {
  AuditQuery,
  DailyReportQuery,
  EmptyQuery,
  ExecutionParams,
  ExecutionsQuery,
  GroupParams,
  GroupReportQuery,
  LedgerQuery,
  SchedulerHistoryQuery,
  StatusSchema,
  TaskExecutionsQuery,
  TaskParams,
  TaskReportQuery,
} from '@nono/domain';

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
