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
        summary: 'Task definition changes and manual triggers, and alert rule changes, newest first',
        tags: ['audit'],
        querystring: AuditQuery,
      },
    },
    async (request, reply) => {
      const { subject, taskId, ruleId, actor, cursor, limit } = request.query;
      checkAuditSubject(request.query);
      const { rows, more } = queries().listAudit({
        ...defined({ subject, taskId, ruleId, actor, after: decodeCursor(cursor) }),
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

/** A task id and a rule id, or either against a `subject` of the other kind, name no entry at all. */
function checkAuditSubject(query: AuditQuery): void {
  const issues: FieldIssue[] = [];
  if (query.taskId !== undefined && query.ruleId !== undefined)
    issues.push({
      field: 'ruleId',
      message: 'an entry is about a task or an alert rule, not both: give one',
    });
  else if (query.taskId !== undefined && query.subject === 'alert-rule')
    issues.push({ field: 'subject', message: 'taskId names a task: subject must be task or left out' });
  else if (query.ruleId !== undefined && query.subject === 'task')
    issues.push({
      field: 'subject',
      message: 'ruleId names an alert rule: subject must be alert-rule or left out',
    });
  if (issues.length > 0) throw impossibleQuery(issues);
}
