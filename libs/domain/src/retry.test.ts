import { describe, expect, it } from 'vitest';
import { isSuccessfulResponse, retryDelayMs, shouldRetry } from './retry.js';

const retry = { maxAttempts: 4, initialBackoffMs: 1000, maxBackoffMs: 5000, multiplier: 2 };

describe('retry policy', () => {
  it.each([
    [1, 500, 1000],
    [2, 1000, 2000],
    [3, 2000, 4000],
    [4, 2500, 5000],
    [9, 2500, 5000],
  ])('after attempt %i waits within [%i, %i] ms, deterministically', (attempt, min, max) => {
    const delay = retryDelayMs(retry, attempt, 'exec-1');
    expect(delay).toBeGreaterThanOrEqual(min);
    expect(delay).toBeLessThanOrEqual(max);
    expect(retryDelayMs(retry, attempt, 'exec-1')).toBe(delay);
  });

  it('retries until maxAttempts', () => {
    expect([1, 2, 3, 4].map((a) => shouldRetry(retry, a))).toEqual([true, true, true, false]);
  });
});

describe('success contract', () => {
  it.each([
    [{}, 200, '', true],
    [{}, 204, '', true],
    [{}, 302, '', false],
    [{}, 500, '', false],
    [{ statusCodes: [200, 409] }, 409, '', true],
    [{ statusCodes: [200] }, 201, '', false],
    [{ bodyPattern: '"status":"ok"' }, 200, '{"status":"ok"}', true],
    [{ bodyPattern: '"status":"ok"' }, 200, '{"status":"degraded"}', false],
  ])('%j with %i %j → %s', (success, status, body, expected) => {
    expect(isSuccessfulResponse(success, status, body)).toBe(expected);
  });
});
