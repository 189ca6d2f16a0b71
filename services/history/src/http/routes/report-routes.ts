import { type FastifyInstance } from 'fastify';
import { type HistoryQueries } from '../../store/history-queries.js';
import { sendPage } from '../page-reply.js';
import { DAILY_COLUMNS, presentDaily, presentMemberResult } from '../presenters.js';
import {
  DailyReportPage,
  DailyReportQuery,
  GroupParams,
  GroupReportQuery,
  TaskParams,
  TaskReportQuery,
} from '../query-schemas.js';
import { parseDay, parseRange, wantsCsv } from '../query-values.js';

export function registerReportRoutes(app: FastifyInstance, queries: () => HistoryQueries): void {
  app.get<{ Params: TaskParams; Querystring: TaskReportQuery }>(
    '/reports/tasks/:id',
    {
      schema: {
        summary:
          "A task's runs, success rate, duration percentiles and lateness over [from, to) of the nominal instant, and its attempts per worker group member (members)",
        tags: ['reports'],
        params: TaskParams,
        querystring: TaskReportQuery,
      },
    },
    (request, reply) => {
      const { from, to } = parseRange(request.query);
      return reply.send({
        ...queries().taskReport(request.params.id, from, to),
        // Group targets: which member got the attempts and how they ended (empty for a URL target).
        members: queries().taskMemberResults(request.params.id, from, to).map(presentMemberResult),
        from: request.query.from ?? null,
        to: request.query.to ?? null,
      });
    },
  );

  app.get<{ Params: GroupParams; Querystring: GroupReportQuery }>(
    '/reports/groups/:group',
    {
      schema: {
        summary:
          "A worker group's attempts per member, started in [from, to): outcomes, success rate, duration percentiles, the last attempt",
        tags: ['reports'],
        params: GroupParams,
        querystring: GroupReportQuery,
      },
    },
    (request, reply) => {
      const { from, to } = parseRange(request.query);
      return reply.send({
        group: request.params.group,
        members: queries().groupMemberResults(request.params.group, from, to).map(presentMemberResult),
        from: request.query.from ?? null,
        to: request.query.to ?? null,
      });
    },
  );

  app.get<{ Querystring: DailyReportQuery }>(
    '/reports/daily',
    {
      schema: {
        summary: 'Per-task totals for one UTC day (kept after retention deletes the executions)',
        tags: ['reports'],
        querystring: DailyReportQuery,
        // JSON only: the CSV form is sent as a string with its own content type.
        response: { 200: DailyReportPage },
      },
    },
    async (request, reply) => {
      const day = parseDay(request.query.day);
      const items = queries().dailyStats(day).map(presentDaily);
      return sendPage(reply, {
        csv: wantsCsv(request, request.query.format),
        columns: DAILY_COLUMNS,
        items,
        nextCursor: null,
        filename: `daily-${day}`,
      });
    },
  );
}
