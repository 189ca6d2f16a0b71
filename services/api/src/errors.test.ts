import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ApiErrorCode, ERROR_CATALOGUE, problemOf, toApiError } from './errors.js';

describe('error catalogue', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  it.each(Object.values(ApiErrorCode))('%s is documented in README.md', (code) => {
    expect(readme).toContain(code);
  });
  it('hides the detail of unknown errors', () => {
    const problem = problemOf(toApiError(new Error('ECONNREFUSED 10.0.0.7:2181')));
    expect(problem).toMatchObject({ status: 500, code: 'NONO_INTERNAL' });
    expect(JSON.stringify(problem)).not.toContain('10.0.0.7');
  });
  it('maps every code to a 4xx or 5xx status', () => {
    for (const entry of Object.values(ERROR_CATALOGUE)) expect(entry.status).toBeGreaterThanOrEqual(400);
  });
});
