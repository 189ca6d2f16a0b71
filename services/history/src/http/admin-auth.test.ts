import { createMetricsRegistry } from '@nono/runtime';
import { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { type RebuildStatus } from '../rebuild/live-rebuilder.js';
import { HistoryQueries } from '../store/history-queries.js';
import { type OpenDatabase } from '../store/open-database.js';
import { openMemoryDatabase } from '../testing/memory-store.js';
import { hashToken, parseTokenHashes } from './admin-auth.js';
import { buildHttpApp } from './http-app.js';
import { type RebuildControl } from './routes/admin-routes.js';

const TOKEN = 'history-admin-secret';

/** Counts the rebuilds it was asked for, so a refused request is seen not to start one. */
function fakeRebuilds(): RebuildControl & { started: number } {
  const status: RebuildStatus = {
    id: 'rebuild-1',
    startedAt: '2026-11-22T00:00:00.000Z',
    finishedAt: null,
    error: null,
    phase: 'building',
    records: 0,
    eventsPerSecond: 0,
    remainingLag: 0,
    elapsedMs: 0,
  };
  const fake = {
    started: 0,
    start: () => {
      fake.started += 1;
      return status;
    },
    status: () => (fake.started === 0 ? undefined : status),
  };
  return fake;
}

describe('/admin routes', () => {
  let open: OpenDatabase;
  let app: FastifyInstance;
  afterEach(async () => {
    await app.close();
    open.close();
  });

  const start = async (hashes: readonly Buffer[], rebuilder = fakeRebuilds()) => {
    open = openMemoryDatabase();
    app = buildHttpApp({
      queries: new HistoryQueries(open.db),
      rebuilder,
      adminTokenHashes: hashes,
      registry: createMetricsRegistry('history-test'),
      readiness: () => ({ ready: true, detail: {} }),
    });
    await app.ready();
    return rebuilder;
  };

  it.each<[string, Record<string, string>]>([
    ['no Authorization header', {}],
    ['an unknown token', { authorization: 'Bearer not-the-token' }],
    ['the hash instead of the token', { authorization: `Bearer ${hashToken(TOKEN)}` }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
  ])('refuses %s with 401 problem+json and starts nothing', async (_name, headers) => {
    const rebuilds = await start(parseTokenHashes([hashToken('other'), hashToken(TOKEN)], 'T'));
    for (const method of ['POST', 'GET'] as const) {
      const response = await app.inject({ method, url: '/admin/rebuild', headers });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(response.json()).toMatchObject({ code: 'NONO_HISTORY_UNAUTHORIZED' });
    }
    expect(rebuilds.started).toBe(0);
  });

  it('refuses every call when no token is configured, even one that looks right', async () => {
    const rebuilds = await start([]);
    const response = await app.inject({
      method: 'POST',
      url: '/admin/rebuild',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.statusCode).toBe(401);
    expect(rebuilds.started).toBe(0);
  });

  it('accepts any configured token, on the query routes too', async () => {
    const rebuilds = await start(parseTokenHashes([hashToken('other'), hashToken(TOKEN)], 'T'));
    const headers = { authorization: `Bearer ${TOKEN}` };
    expect((await app.inject({ method: 'GET', url: '/admin/rebuild', headers })).statusCode).toBe(404);
    const started = await app.inject({ method: 'POST', url: '/admin/rebuild', headers });
    expect(started.statusCode).toBe(202);
    expect(rebuilds.started).toBe(1);
    const other = { authorization: 'bearer other' };
    expect((await app.inject({ method: 'GET', url: '/admin/rebuild', headers: other })).statusCode).toBe(200);
    expect((await app.inject({ url: '/reports/daily?day=2026-11-20', headers })).statusCode).toBe(200);
    expect((await app.inject({ url: '/reports/daily?day=2026-11-20' })).statusCode).toBe(401);
  });

  it('rejects a configured value that is not a SHA-256, naming the variable', () => {
    expect(() => parseTokenHashes([hashToken(TOKEN), 'plain-token'], 'NONO_HISTORY_ADMIN_TOKENS')).toThrow(
      /NONO_HISTORY_ADMIN_TOKENS item 2/,
    );
  });
});
