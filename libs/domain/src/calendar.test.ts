import { describe, expect, it } from 'vitest';
import { CalendarExclusions, excludingCalendar, parseCalendarSpec } from './calendar.js';

describe('exclusion calendars', () => {
  it('fills defaults and names each bad field', () => {
    expect(parseCalendarSpec({ timeZone: 'Europe/Paris' })).toEqual({
      ok: true,
      value: { description: '', timeZone: 'Europe/Paris', dates: [], ranges: [] },
    });
    const bad = parseCalendarSpec({
      timeZone: 'Mars/Olympus',
      dates: ['2026-02-30', '2026-12-25'],
      ranges: [{ from: '2026-12-31', to: '2026-12-24' }],
    });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.issues.map((issue) => issue.field)).toEqual([
      'timeZone',
      'dates[0]',
      'ranges[0].to',
    ]);
    const shape = parseCalendarSpec({ timeZone: 'UTC', dates: ['25/12/2026'] });
    expect(shape.ok ? [] : shape.issues.map((issue) => issue.field)).toEqual(['dates[0]']);
  });

  it("excludes by the local date in the calendar's zone, on DST days too", () => {
    const paris = new CalendarExclusions({
      name: 'fr-holidays',
      timeZone: 'Europe/Paris',
      dates: ['2026-10-25'],
      ranges: [{ from: '2026-12-24', to: '2026-12-26' }],
    });
    // 2026-10-24T22:30Z is 00:30 on the 25th in Paris (summer time, +02:00): excluded.
    expect(paris.excludes(Date.parse('2026-10-24T22:30:00Z'))).toBe(true);
    // The 25th has 25 hours in Paris: 23:30 local is 22:30Z, still the 25th.
    expect(paris.excludes(Date.parse('2026-10-25T22:30:00Z'))).toBe(true);
    // 23:30Z is 00:30 on the 26th (+01:00 by then).
    expect(paris.excludes(Date.parse('2026-10-25T23:30:00Z'))).toBe(false);
    // Ranges include both ends, as local dates.
    expect(paris.excludes(Date.parse('2026-12-23T23:00:00Z'))).toBe(true);
    expect(paris.excludes(Date.parse('2026-12-26T22:59:59Z'))).toBe(true);
    expect(paris.excludes(Date.parse('2026-12-26T23:00:00Z'))).toBe(false);
  });

  it('names the first calendar of the task that excludes the instant; an unknown name excludes nothing', () => {
    const books = new Map([
      ['a', new CalendarExclusions({ name: 'a', timeZone: 'UTC', dates: ['2026-06-01'], ranges: [] })],
      [
        'b',
        new CalendarExclusions({
          name: 'b',
          timeZone: 'UTC',
          dates: ['2026-06-01', '2026-06-02'],
          ranges: [],
        }),
      ],
    ]);
    const at = Date.parse('2026-06-01T12:00:00Z');
    expect(excludingCalendar(['missing', 'b', 'a'], books, at)).toBe('b');
    expect(excludingCalendar(['missing'], books, at)).toBeUndefined();
    expect(excludingCalendar(undefined, books, at)).toBeUndefined();
    expect(excludingCalendar(['a'], books, Date.parse('2026-06-02T12:00:00Z'))).toBeUndefined();
  });
});
