import { type FastifyInstance } from 'fastify';
import { type LiveRebuilder, RebuildInProgressError } from '../../rebuild/live-rebuilder.js';
import { requireBearer } from '../admin-auth.js';
import { ProblemError, ProblemType } from '../problem.js';

/** What the admin routes need of the LiveRebuilder (a port, so route tests need no Kafka). */
export type RebuildControl = Pick<LiveRebuilder, 'start' | 'status'>;

/**
 * Operator routes, behind a bearer token whose SHA-256 is in NONO_HISTORY_ADMIN_TOKENS
 * (`adminTokenHashes`). With none configured every call is refused: a rebuild replaces the
 * whole database, so it is never open by default. A read token (NONO_HISTORY_READ_TOKENS) is
 * not enough.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  rebuilder: RebuildControl,
  adminTokenHashes: readonly Buffer[],
): void {
  const onRequest = requireBearer(
    adminTokenHashes,
    'nono-history admin',
    'admin routes are disabled: no NONO_HISTORY_ADMIN_TOKENS configured',
  );
  app.post(
    '/admin/rebuild',
    {
      onRequest,
      schema: {
        summary:
          'Rebuilds the database from the beginning of the topics into a new file while queries keep being served, then swaps it in',
        tags: ['admin'],
        success: 202,
        problems: {
          401: 'An admin bearer token (NONO_HISTORY_ADMIN_TOKENS) is required',
          409: 'A rebuild is already running',
        },
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
      onRequest,
      schema: {
        summary: 'The running or last rebuild: phase, records, events/s, remaining lag',
        tags: ['admin'],
        problems: {
          401: 'An admin bearer token (NONO_HISTORY_ADMIN_TOKENS) is required',
          404: 'No rebuild since the service started',
        },
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
