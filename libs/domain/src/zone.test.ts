import { describe, expect, it } from 'vitest';
import { TimeZone, isValidTimeZone } from './zone.js';

describe('isValidTimeZone (remembers valid names only)', () => {
  it.each([
    ['Europe/Paris', true],
    ['europe/paris', true], // Intl matches zone names case-insensitively
    ['Europe/Paris', true], // asked again: answered from the set of known names
    ['UTC', true],
    ['Europe/Pariss', false],
    ['Europe/Pariss', false], // unknown names are never remembered, so they stay unknown
    ['', false],
  ])('%j → %s', (name, valid) => {
    expect(isValidTimeZone(name)).toBe(valid);
  });

  it('TimeZone refuses an unknown zone after a known one was checked', () => {
    expect(new TimeZone('America/New_York').name).toBe('America/New_York');
    expect(() => new TimeZone('America/New_Yorkk')).toThrow(RangeError);
  });
});
