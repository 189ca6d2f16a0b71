import { type FastifyInstance } from 'fastify';
import { type ExecutionFilter, type HistoryQueries } from '../../store/history-queries.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { sendPage } from '../page-reply.js';
import { EXECUTION_COLUMNS, presentAttempt, presentExecution } from '../presenters.js';
import { ProblemError, ProblemType } from '../problem.js';
import { ExecutionParams, ExecutionsQuery, TaskExecutionsQuery, TaskParams } from '../query-schemas.js';
import { defined, parseRange, wantsCsv } from '../query-values.js';

export function registerExecutionRoutes(app: FastifyInstance, queries: () => HistoryQueries): void {
  const page = (
    filter: Omit<ExecutionFilter, 'after' | 'limit'>,
    query: { cursor?: string; limit?: number },
  ) => {
    const after = decodeCursor(query.cursor);
    const { rows, more } = queries().listExecutions({
      ...filter,
      ...defined({ after }),
      limit: query.limit ?? 50,
    });
    const last = rows.at(-1);
    return {
      items: rows.map(presentExecution),
      nextCursor:
        more && last !== undefined ? encodeCursor({ at: last.nominalTime, id: last.executionId }) : null,
    };
  };

  app.get<{ Querystring: ExecutionsQuery }>(
    '/executions',
    {
      schema: {
        summary: 'Executions, newest nominal instant first',
        tags: ['executions'],
        querystring: ExecutionsQuery,
      },
    },
    async (request, reply) => {
      const { taskId, status, schedulerId } = request.query;
      const result = page(
        { ...defined({ taskId, status, schedulerId }), ...parseRange(request.query) },
        request.query,
      );
      return sendPage(reply, {
        csv: wantsCsv(request, request.query.format),
        columns: EXECUTION_COLUMNS,
        ...result,
        filename: 'executions',
      });
    },
  );

  app.get<{ Params: TaskParams; Querystring: TaskExecutionsQuery }>(
    '/tasks/:id/executions',
    {
      schema: {
        summary: "A task's executions, newest first",
        tags: ['executions'],
        params: TaskParams,
        querystring: TaskExecutionsQuery,
      },
    },
    async (request, reply) => {
      const result = page(
        {
          taskId: request.params.id,
          ...defined({ status: request.query.status }),
          ...parseRange(request.query),
        },
        request.query,
      );
      return sendPage(reply, {
        csv: wantsCsv(request, request.query.format),
        columns: EXECUTION_COLUMNS,
        ...result,
        filename: `${request.params.id}-executions`,
      });
    },
  );

  app.get<{ Params: ExecutionParams }>(
    '/executions/:id',
    {
      schema: {
        summary: 'One execution with its attempts',
        tags: ['executions'],
        params: ExecutionParams,
        problems: { 404: 'No execution with this id' },
      },
    },
    (request, reply) => {
      const found = queries().execution(request.params.id);
      if (found === undefined)
        throw new ProblemError(ProblemType.NotFound, `no execution ${request.params.id}`);
      return reply.send({
        ...presentExecution(found.execution),
        attemptHistory: found.attempts.map(presentAttempt),
      });
    },
  );
}
