import { type FastifyInstance } from 'fastify';
import { StatusResponse } from '../schemas.js';
import { type BackendStatus } from '../status/backend-status.js';

/**
 * `GET /status`: whether ZooKeeper, Kafka and history answer, for the UI's banner. Unlike
 * /readyz (which decides whether this process takes traffic) it is informative only: the API
 * serves reads of tasks while Kafka or history is down.
 */
export function registerStatusRoutes(app: FastifyInstance, status: BackendStatus): void {
  app.get(
    '/status',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags: ['cluster'],
        summary: 'Whether ZooKeeper, Kafka and the history service answer',
        response: { 200: StatusResponse },
      },
    },
    () => status.report(),
  );
}
