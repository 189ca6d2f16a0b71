import { describe, expect, it } from 'vitest';
import { parseInstant } from './instant.js';

describe('parseInstant', () => {
  it.each([
    ['2026-02-28T00:00:00Z', Date.UTC(2026, 1, 28)],
    ['2028-02-29T12:00:00+01:00', Date.UTC(2028, 1, 29, 11)],
    ['2026-12-31T23:59:59.999Z', Date.UTC(2026, 11, 31, 23, 59, 59, 999)],
    ['2026-02-29T00:00:00Z', undefined],
    ['2026-02-30T00:00:00Z', undefined],
    ['2026-04-31T00:00:00Z', undefined],
    ['2026-13-01T00:00:00Z', undefined],
    ['2026-00-10T00:00:00Z', undefined],
    ['2026-01-00T00:00:00Z', undefined],
    ['2026-01-01T00:00:00', undefined],
  ])('%s → %s', (text, expected) => {
    expect(parseInstant(text)).toBe(expected);
  });
});
