import { type FastifyInstance } from 'fastify';
import { type LiveRebuilder, RebuildInProgressError } from '../../rebuild/live-rebuilder.js';
import { ProblemError, ProblemType } from '../problem.js';

/**
 * Operator routes. Unauthenticated like the rest of the API: the service listens on
 * 127.0.0.1 by default; put it behind an authenticating proxy before exposing it.
 */
export function registerAdminRoutes(app: FastifyInstance, rebuilder: LiveRebuilder): void {
  app.post(
    '/admin/rebuild',
    {
      schema: {
        summary:
          'Rebuilds the database from the beginning of the topics into a new file while queries keep being served, then swaps it in',
        tags: ['admin'],
      },
    },
    (_request, reply) => {
      try {
        return reply.code(202).header('location', '/admin/rebuild').send(rebuilder.start());
      } catch (error) {
        if (error instanceof RebuildInProgressError)
          throw new ProblemError(ProblemType.RebuildInProgress, `${error.message} (GET /admin/rebuild)`);
        throw error;
      }
    },
  );

  app.get(
    '/admin/rebuild',
    {
      logLevel: 'warn',
      schema: {
        summary: 'The running or last rebuild: phase, records, events/s, remaining lag',
        tags: ['admin'],
      },
    },
    (_request, reply) => {
      const status = rebuilder.status();
      if (status === undefined)
        throw new ProblemError(ProblemType.NotFound, 'no rebuild since the service started');
      return reply.send(status);
    },
  );
}
