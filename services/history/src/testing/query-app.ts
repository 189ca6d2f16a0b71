import { createMetricsRegistry } from '@nono/runtime';
import { type FastifyInstance } from 'fastify';
import { hashToken } from '../http/admin-auth.js';
import { type HttpAppOptions, buildHttpApp } from '../http/http-app.js';
import { HistoryQueries } from '../store/history-queries.js';
import { type HistoryDb } from '../store/open-database.js';

/** The token the test apps' query routes take, and the headers that present it (as the API does). */
export const READ_TOKEN = 'history-read-secret';
export const READ_HEADERS = { authorization: `Bearer ${READ_TOKEN}` };

/** History's HTTP app over a test database, ready for `inject`, taking READ_TOKEN on its query routes. */
export async function queryApp(
  db: HistoryDb,
  options: Partial<HttpAppOptions> = {},
): Promise<FastifyInstance> {
  const app = buildHttpApp({
    queries: new HistoryQueries(db),
    readTokenHashes: [Buffer.from(hashToken(READ_TOKEN), 'hex')],
    registry: createMetricsRegistry('history-test'),
    readiness: () => ({ ready: true, detail: {} }),
    ...options,
  });
  await app.ready();
  return app;
}
