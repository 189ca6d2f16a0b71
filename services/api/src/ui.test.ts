import { EXECUTION_STATUSES, FAILED_EXECUTION_STATUSES, INSTANT_FAILURE_ORDER } from '@nono/domain';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { DEFAULT_UI_DIR, registerUi } from './ui.js';

describe('the web UI files', () => {
  it('get the execution statuses from libs/domain, served as /execution-statuses.js', async () => {
    const app = Fastify();
    await registerUi(app, DEFAULT_UI_DIR);
    const response = await app.inject({ method: 'GET', url: '/execution-statuses.js' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/javascript/);
    expect(response.headers['content-security-policy']).toBe("default-src 'self'; frame-ancestors 'none'");
    const lists = Object.fromEntries(
      [...response.body.matchAll(/^export const (\w+) = (\[.*\]);$/gm)].map(([, name, list]) => [
        name,
        JSON.parse(list ?? '[]') as unknown,
      ]),
    );
    expect(lists).toEqual({
      EXECUTION_STATUSES: [...EXECUTION_STATUSES],
      FAILED_EXECUTION_STATUSES: [...FAILED_EXECUTION_STATUSES],
      INSTANT_FAILURE_ORDER: [...INSTANT_FAILURE_ORDER],
    });
    await app.close();
  });
});
