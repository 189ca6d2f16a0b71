import { type FastifyInstance } from 'fastify';
import { type HistoryQueries } from '../../store/history-queries.js';
import { sendPage } from '../page-reply.js';
import { DAILY_COLUMNS, presentDaily } from '../presenters.js';
import { DailyReportPage, DailyReportQuery, TaskParams, TaskReportQuery } from '../query-schemas.js';
import { parseDay, parseRange, wantsCsv } from '../query-values.js';

export function registerReportRoutes(app: FastifyInstance, queries: () => HistoryQueries): void {
  app.get<{ Params: TaskParams; Querystring: TaskReportQuery }>(
    '/reports/tasks/:id',
    {
      schema: {
        summary:
          "A task's runs, success rate, duration percentiles and lateness over [from, to) of the nominal instant",
        tags: ['reports'],
        params: TaskParams,
        querystring: TaskReportQuery,
      },
    },
    (request, reply) => {
      const { from, to } = parseRange(request.query);
      return reply.send({
        ...queries().taskReport(request.params.id, from, to),
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
