import { type FieldIssue } from '@nono/domain';
import { type FastifyInstance } from 'fastify';
import { type HistoryQueries } from '../../store/history-queries.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { sendPage } from '../page-reply.js';
import {
  AUDIT_COLUMNS,
  SCHEDULER_EVENT_COLUMNS,
  presentAudit,
  presentSchedulerEvent,
} from '../presenters.js';
import { AuditQuery, SchedulerHistoryQuery } from '../query-schemas.js';
import { impossibleQuery } from '../problem.js';
import { defined, parseRange, wantsCsv } from '../query-values.js';

export function registerAuditRoutes(app: FastifyInstance, queries: () => HistoryQueries): void {
  app.get<{ Querystring: AuditQuery }>(
    '/audit',
    {
      schema: {
        summary:
          'Task definition changes and manual triggers, alert rule changes and calendar changes, newest first',
        tags: ['audit'],
        querystring: AuditQuery,
      },
    },
    async (request, reply) => {
      const { subject, taskId, ruleId, calendar, actor, cursor, limit } = request.query;
      checkAuditSubject(request.query);
      const { rows, more } = queries().listAudit({
        ...defined({ subject, taskId, ruleId, calendar, actor, after: decodeCursor(cursor) }),
        ...parseRange(request.query),
        limit: limit ?? 50,
      });
      const last = rows.at(-1);
      const nextCursor = more && last !== undefined ? encodeCursor({ at: last.at, id: last.eventId }) : null;
      return sendPage(reply, {
        csv: wantsCsv(request, request.query.format),
        columns: AUDIT_COLUMNS,
        items: rows.map(presentAudit),
        nextCursor,
        filename: 'audit',
      });
    },
  );

  app.get<{ Querystring: SchedulerHistoryQuery }>(
    '/schedulers/history',
    {
      schema: {
        summary: 'Scheduler membership and ownership changes, newest first',
        tags: ['cluster'],
        querystring: SchedulerHistoryQuery,
      },
    },
    async (request, reply) => {
      const { schedulerId, cursor, limit } = request.query;
      const { rows, more } = queries().listSchedulerEvents({
        ...defined({ schedulerId, after: decodeCursor(cursor) }),
        ...parseRange(request.query),
        limit: limit ?? 50,
      });
      const last = rows.at(-1);
      const nextCursor = more && last !== undefined ? encodeCursor({ at: last.at, id: last.eventId }) : null;
      return sendPage(reply, {
        csv: wantsCsv(request, request.query.format),
        columns: SCHEDULER_EVENT_COLUMNS,
        items: rows.map(presentSchedulerEvent),
        nextCursor,
        filename: 'scheduler-history',
      });
    },
  );
}

/** Ids of two kinds, or one against a `subject` of another kind, name no entry at all. */
function checkAuditSubject(query: AuditQuery): void {
  const issues: FieldIssue[] = [];
  const named = (
    [
      ['taskId', 'task', query.taskId],
      ['ruleId', 'alert-rule', query.ruleId],
      ['calendar', 'calendar', query.calendar],
    ] as const
  ).filter(([, , value]) => value !== undefined);
  const [first, second] = named;
  if (first !== undefined && second !== undefined)
    issues.push({
      field: second[0],
      message: `an entry is about one thing: give ${first[0]} or ${second[0]}, not both`,
    });
  else if (first !== undefined && query.subject !== undefined && query.subject !== first[1])
    issues.push({
      field: 'subject',
      message: `${first[0]} names a ${first[1]}: subject must be ${first[1]} or left out`,
    });
  if (issues.length > 0) throw impossibleQuery(issues);
}
