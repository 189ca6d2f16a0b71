import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { type CronSchedule, nextFireTime, parseSchedule } from './schedule.js';

/**
 * nono's instants against an independent brute-force reference: every wall-clock minute
 * (and second of a matching minute) of a window is decomposed by Luxon, matched field by
 * field from the generated structure (no parser, no tables), mapped to instants by trying
 * the offsets Luxon reports a day before and after, and the DST policy applied on top.
 * Random expressions, zones and dates, half of them at a DST transition.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

interface Item {
  readonly kind: 'star' | 'value' | 'range';
  readonly from: number;
  readonly to: number;
  readonly step: number;
}
type DomSpecial =
  { readonly kind: 'L' } | { readonly kind: 'LW' } | { readonly kind: 'W'; readonly day: number };
type DowSpecial =
  | { readonly kind: 'nth'; readonly weekday: number; readonly nth: number }
  | { readonly kind: 'last'; readonly weekday: number };

interface Field {
  readonly items: readonly Item[];
  readonly special: readonly (DomSpecial | DowSpecial)[];
}

interface Expression {
  readonly second: Field | undefined;
  readonly minute: Field;
  readonly hour: Field;
  readonly dom: Field;
  readonly month: Field;
  readonly dow: Field;
}

const itemText = (item: Item, min: number, max: number): string => {
  const step = item.step > 1 ? `/${item.step}` : '';
  if (item.kind === 'star') return `*${step}`;
  if (item.kind === 'value') return String(item.from);
  return `${item.from}-${Math.max(item.from, Math.min(max, item.to))}${step}`.replace(
    /^(\d+)-/,
    (_, a) => `${Math.max(min, Number(a))}-`,
  );
};

function fieldText(field: Field, min: number, max: number): string {
  const parts = field.items.map((item) => itemText(item, min, max));
  for (const special of field.special) {
    if (special.kind === 'L' || special.kind === 'LW') parts.push(special.kind);
    else if (special.kind === 'W') parts.push(`${special.day}W`);
    else if (special.kind === 'nth') parts.push(`${special.weekday}#${special.nth}`);
    else parts.push(`${special.weekday}L`);
  }
  return parts.join(',');
}

function expressionText(e: Expression): string {
  const fields = [
    fieldText(e.minute, 0, 59),
    fieldText(e.hour, 0, 23),
    fieldText(e.dom, 1, 31),
    fieldText(e.month, 1, 12),
    fieldText(e.dow, 0, 7),
  ];
  return (e.second === undefined ? fields : [fieldText(e.second, 0, 59), ...fields]).join(' ');
}

const starred = (field: Field): boolean => field.items[0]?.kind === 'star';

function itemMatches(item: Item, value: number, min: number, max: number): boolean {
  if (item.kind === 'star') return (value - min) % item.step === 0;
  if (item.kind === 'value') return value === item.from;
  const to = Math.max(item.from, Math.min(max, item.to));
  return value >= item.from && value <= to && (value - item.from) % item.step === 0;
}

const plainMatches = (field: Field, value: number, min: number, max: number): boolean =>
  field.items.some((item) => itemMatches(item, value, min, max));

/** Day-of-week items over 0..7 where 7 is Sunday again. */
const weekdayMatches = (field: Field, weekday: number): boolean =>
  field.items.some((item) =>
    item.kind === 'star'
      ? itemMatches(item, weekday, 0, 6)
      : itemMatches(item, weekday, 0, 7) || (weekday === 0 && itemMatches(item, 7, 0, 7)),
  );

function dayMatches(e: Expression, date: DateTime): boolean {
  const length = date.daysInMonth ?? 31;
  const weekday = date.weekday % 7;
  const weekdayOfDay = (day: number): number => date.set({ day }).weekday % 7;
  const nearestWeekday = (target: number): number => {
    const w = weekdayOfDay(target);
    if (w === 6) return target === 1 ? 3 : target - 1;
    if (w === 0) return target === length ? target - 2 : target + 1;
    return target;
  };
  const dom =
    plainMatches(e.dom, date.day, 1, 31) ||
    e.dom.special.some((s) =>
      s.kind === 'L'
        ? date.day === length
        : s.kind === 'LW'
          ? date.day === nearestWeekday(length)
          : s.kind === 'W' && s.day <= length && date.day === nearestWeekday(s.day),
    );
  const dow =
    weekdayMatches(e.dow, weekday) ||
    e.dow.special.some((s) =>
      s.kind === 'nth'
        ? s.weekday % 7 === weekday && Math.ceil(date.day / 7) === s.nth
        : s.kind === 'last' && s.weekday % 7 === weekday && date.day + 7 > length,
    );
  // Vixie cron: a day field starting with * makes the two fields a conjunction.
  return starred(e.dom) || starred(e.dow) ? dom && dow : dom || dow;
}

const offsetMs = (instant: number, zone: string): number =>
  DateTime.fromMillis(instant, { zone }).offset * MINUTE;

function referenceInstants(
  e: Expression,
  zone: string,
  dst: { gap: 'shift' | 'skip'; overlap: 'first' | 'last' | 'both' },
  from: number,
  to: number,
): number[] {
  let minOffset = Infinity;
  let maxOffset = -Infinity;
  for (let t = from - DAY; t <= to + DAY; t += 15 * MINUTE) {
    minOffset = Math.min(minOffset, offsetMs(t, zone));
    maxOffset = Math.max(maxOffset, offsetMs(t, zone));
  }
  const out = new Set<number>();
  const firstReading = Math.floor((from + minOffset) / MINUTE) * MINUTE - MINUTE;
  for (let minute = firstReading; minute <= to + maxOffset + MINUTE; minute += MINUTE) {
    const local = DateTime.fromMillis(minute, { zone: 'UTC' });
    if (
      !plainMatches(e.month, local.month, 1, 12) ||
      !dayMatches(e, local) ||
      !plainMatches(e.hour, local.hour, 0, 23) ||
      !plainMatches(e.minute, local.minute, 0, 59)
    )
      continue;
    for (let second = 0; second < 60; second++) {
      if (e.second === undefined ? second !== 0 : !plainMatches(e.second, second, 0, 59)) continue;
      const reading = minute + second * 1000;
      const before = offsetMs(reading - DAY, zone);
      const after = offsetMs(reading + DAY, zone);
      const candidates = [...new Set([reading - before, reading - after])]
        .filter((t) => t + offsetMs(t, zone) === reading)
        .sort((a, b) => a - b);
      if (candidates.length === 0) {
        if (dst.gap === 'skip') continue;
        let lo = reading - before;
        let hi = reading - after;
        [lo, hi] = lo < hi ? [lo, hi] : [hi, lo];
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (offsetMs(mid, zone) === before) lo = mid;
          else hi = mid;
        }
        out.add(hi);
      } else if (candidates.length === 1 || dst.overlap === 'both') candidates.forEach((t) => out.add(t));
      else out.add((dst.overlap === 'first' ? candidates[0] : candidates[1]) as number);
    }
  }
  return [...out].filter((t) => t > from && t <= to).sort((a, b) => a - b);
}

const item = (min: number, max: number): fc.Arbitrary<Item> =>
  fc.oneof(
    fc.record({
      kind: fc.constant('value' as const),
      from: fc.integer({ min, max }),
      to: fc.constant(0),
      step: fc.constant(1),
    }),
    fc.record({
      kind: fc.constant('range' as const),
      from: fc.integer({ min, max }),
      to: fc.integer({ min, max }),
      step: fc.integer({ min: 1, max: 5 }),
    }),
  );

const field = (
  min: number,
  max: number,
  starSteps: readonly number[],
  special?: fc.Arbitrary<readonly (DomSpecial | DowSpecial)[]>,
): fc.Arbitrary<Field> => {
  const starred = fc.record({
    items: fc.constantFrom(...starSteps).map((step): Item[] => [{ kind: 'star', from: min, to: max, step }]),
    special: fc.constant([]),
  });
  const listed = fc.record({
    items: fc.array(item(min, max), { minLength: 1, maxLength: 3 }),
    special: special ?? fc.constant([]),
  });
  if (special === undefined) return fc.oneof(starred, listed);
  const onlySpecial = fc.record({
    items: fc.constant([]),
    special: special.filter((s) => s.length > 0),
  });
  return fc.oneof(starred, listed, onlySpecial);
};

const domSpecial = fc.array(
  fc.oneof(
    fc.constant<DomSpecial>({ kind: 'L' }),
    fc.constant<DomSpecial>({ kind: 'LW' }),
    fc.integer({ min: 1, max: 31 }).map((day): DomSpecial => ({ kind: 'W', day })),
  ),
  { maxLength: 2 },
);
const dowSpecial = fc.array(
  fc.oneof(
    fc
      .record({ weekday: fc.integer({ min: 0, max: 7 }), nth: fc.integer({ min: 1, max: 5 }) })
      .map((s): DowSpecial => ({ kind: 'nth', ...s })),
    fc.integer({ min: 0, max: 7 }).map((weekday): DowSpecial => ({ kind: 'last', weekday })),
  ),
  { maxLength: 2 },
);

const expression: fc.Arbitrary<Expression> = fc.record({
  second: fc.option(field(0, 59, [1, 5, 15, 20]), { nil: undefined, freq: 3 }),
  minute: field(0, 59, [1, 5, 15, 30]),
  hour: field(0, 23, [1, 2, 3]),
  dom: fc.oneof(field(1, 31, [1, 2], domSpecial), field(1, 31, [1])),
  month: fc.oneof({ weight: 3, arbitrary: field(1, 12, [1]) }, field(1, 12, [1, 2])),
  dow: fc.oneof(field(0, 7, [1, 2], dowSpecial), field(0, 7, [1])),
});

const ZONES = [
  'UTC',
  'Europe/Paris',
  'America/New_York',
  'Australia/Lord_Howe',
  'Europe/Dublin',
  'America/Sao_Paulo',
  'America/St_Johns',
  'Pacific/Apia',
  'Asia/Kolkata',
];

/** The first instant after `from` where the zone's offset changes (within a year), found with Luxon. */
function nextTransition(zone: string, from: number): number | undefined {
  const start = offsetMs(from, zone);
  for (let t = from + DAY; t < from + 366 * DAY; t += DAY) {
    if (offsetMs(t, zone) === start) continue;
    let lo = t - DAY;
    let hi = t;
    while (hi - lo > 1000) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetMs(mid, zone) === start) lo = mid;
      else hi = mid;
    }
    return hi;
  }
  return undefined;
}

const POLICIES = [
  undefined,
  { gap: 'shift', overlap: 'first' },
  { gap: 'skip', overlap: 'last' },
  { gap: 'shift', overlap: 'both' },
  { gap: 'skip', overlap: 'both' },
] as const;

describe('cron instants against a brute-force Luxon reference', () => {
  it('agree for random expressions, zones and dates, at and away from DST transitions', () => {
    fc.assert(
      fc.property(
        expression,
        fc.constantFrom(...ZONES),
        fc.integer({ min: Date.UTC(2005, 0, 1), max: Date.UTC(2035, 0, 1) }),
        fc.boolean(),
        fc.integer({ min: 0, max: 4 * 60 }),
        fc.constantFrom(...POLICIES),
        (e, zone, date, atTransition, minutesBefore, dst) => {
          const text = expressionText(e);
          const parsed = parseSchedule({
            kind: 'cron',
            expression: text,
            timeZone: zone,
            ...(dst === undefined ? {} : { dst }),
          });
          if (!parsed.ok) {
            // Only an expression that can never match may be refused.
            expect(parsed.issues[0]?.message, text).toMatch(/no date ever matches/);
            return;
          }
          const schedule = parsed.value as CronSchedule;
          const transition = atTransition ? nextTransition(zone, date) : undefined;
          const windowMs = e.second === undefined ? 6 * HOUR : HOUR;
          const from = (transition ?? date) - minutesBefore * MINUTE * (windowMs === HOUR ? 0.25 : 1);
          const to = from + windowMs;
          const wildcard = starred(e.minute) || starred(e.hour);
          const policy = {
            gap: dst?.gap ?? (wildcard ? 'skip' : 'shift'),
            overlap: dst?.overlap ?? (wildcard ? 'both' : 'first'),
          } as const;
          const expected = referenceInstants(e, zone, policy, from, to);
          const actual: number[] = [];
          for (let cursor = from; ;) {
            const next = nextFireTime(schedule, cursor, 'property-task');
            if (next === undefined || next > to) break;
            actual.push(next);
            cursor = next;
          }
          const iso = (list: number[]): string[] => list.map((t) => new Date(t).toISOString());
          expect(iso(actual), `${text} in ${zone} ${JSON.stringify(dst)} from ${iso([from])[0]}`).toEqual(
            iso(expected),
          );
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);
});

/** A day field that restricts nothing: plain `*` (no step, no special). */
const plainStar = (field: Field): boolean =>
  field.special.length === 0 &&
  field.items.length === 1 &&
  field.items[0]?.kind === 'star' &&
  field.items[0].step === 1;

describe('cron instants against cron-parser, a second independent implementation', () => {
  // cron-parser reads neither `W`/`LW` nor Vixie's day-field rule, so the expressions are those
  // both read alike: no W, and one of the two day fields a plain `*`. In UTC there is no DST.
  const shared = expression.filter(
    (e) =>
      (plainStar(e.dom) || plainStar(e.dow)) &&
      e.dom.special.every((special) => special.kind === 'L') &&
      // cron-parser refuses `L` beside other values in day-of-month, and ranges that step past their end.
      (e.dom.special.length === 0 || e.dom.items.length === 0),
  );
  it('agree in UTC on the next instants of random expressions', () => {
    fc.assert(
      fc.property(shared, fc.integer({ min: Date.UTC(2005, 0, 1), max: Date.UTC(2035, 0, 1) }), (e, from) => {
        const text = expressionText(e);
        const parsed = parseSchedule({ kind: 'cron', expression: text, timeZone: 'UTC' });
        let theirs: ReturnType<typeof CronExpressionParser.parse>;
        try {
          theirs = CronExpressionParser.parse(text, { tz: 'UTC', currentDate: new Date(from) });
        } catch {
          return; // an expression cron-parser does not read: nothing to compare
        }
        if (!parsed.ok) return;
        const schedule = parsed.value as CronSchedule;
        const ours: string[] = [];
        const expected: string[] = [];
        for (let cursor = from, i = 0; i < 10; i++) {
          const next = nextFireTime(schedule, cursor, 'property-task');
          if (next === undefined) break;
          ours.push(new Date(next).toISOString());
          cursor = next;
        }
        for (let i = 0; i < ours.length; i++) {
          if (!theirs.hasNext()) break;
          expected.push(theirs.next().toDate().toISOString());
        }
        expect(ours, `${text} from ${new Date(from).toISOString()}`).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  }, 60_000);
});
