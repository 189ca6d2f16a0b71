import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { EXECUTION_STATUSES, FAILED_EXECUTION_STATUSES, INSTANT_FAILURE_ORDER } from '@nono/domain';
import { type FastifyInstance } from 'fastify';

/** `services/api/ui`, found the same way from src/ (tests) and dist/ (production). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

/**
 * Serves the web UI's files at `/`. Only files that exist at start are routed (no
 * wildcard), so every other path still reaches the API's problem+json 404. The UI only
 * talks to /api/v1 from its own origin, so a strict CSP costs nothing and blunts XSS.
 */
export async function registerUi(app: FastifyInstance, uiDir: string): Promise<void> {
  if (!existsSync(uiDir)) return;
  await app.register(fastifyStatic, {
    root: uiDir,
    prefix: '/',
    wildcard: false,
    decorateReply: false,
    setHeaders: (reply) => setUiHeaders(reply),
  });
  // The UI has no build step, so it cannot import libs/domain: the status lists are written
  // into a module for it here, and the UI imports them from /execution-statuses.js.
  const statuses = [
    `export const EXECUTION_STATUSES = ${JSON.stringify(EXECUTION_STATUSES)};`,
    `export const FAILED_EXECUTION_STATUSES = ${JSON.stringify(FAILED_EXECUTION_STATUSES)};`,
    `export const INSTANT_FAILURE_ORDER = ${JSON.stringify(INSTANT_FAILURE_ORDER)};`,
    '',
  ].join('\n');
  app.get('/execution-statuses.js', { schema: { hide: true } }, (_request, reply) => {
    setUiHeaders(reply);
    return reply.type('text/javascript; charset=utf-8').send(statuses);
  });
}

function setUiHeaders(reply: { header(name: string, value: string): unknown }): void {
  reply.header('content-security-policy', "default-src 'self'; frame-ancestors 'none'");
  reply.header('x-content-type-options', 'nosniff');
}
