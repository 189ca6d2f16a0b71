import { civilFromDays, daysFromCivil, daysInMonth, weekdayOfDays } from './civil-time.js';
import { fnv1a32 } from './hash.js';

/**
 * A cron expression compiled once into lookup tables, matched against "floating" local
 * times (a wall-clock reading encoded as if it were UTC milliseconds). Finding the next
 * matching reading walks the fields directly (month, day, hour, minute, second), so its
 * cost does not depend on how far away the match is or on the date; the zone and its DST
 * policy are applied by the caller (see schedule.ts).
 *
 * Syntax: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first;
 * `*`, `?`, lists, ranges, steps, month and weekday names, `7` for Sunday; `L`, `LW` and `nW`
 * in day-of-month; `nL` and `n#k` in day-of-week; `H`, `H(a-b)`, `H/n`, `H(a-b)/n` in any
 * field, hashed from the task id; the macros `@yearly` … `@secondly`. docs/SCHEDULES.md
 * is the user's reference.
 */
export class CronSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronSyntaxError';
  }
}

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** The range `H` picks from when none is given (day-of-month stops at 28, as in Jenkins, so it fires every month). */
  readonly hashMax: number;
  readonly names?: readonly string[];
  readonly nameBase?: number;
}

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59, hashMax: 59 };
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59, hashMax: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23, hashMax: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31, hashMax: 28 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, hashMax: 12, names: MONTH_NAMES, nameBase: 1 };
// 7 is accepted for Sunday and folded to 0; `*` means 0-6.
const DAY_OF_WEEK: FieldSpec = {
  name: 'day-of-week',
  min: 0,
  max: 7,
  hashMax: 6,
  names: WEEKDAY_NAMES,
  nameBase: 0,
};

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
  '@minutely': '0 * * * * *',
  '@secondly': '* * * * * *',
  '@weekdays': '0 0 0 * * 1-5',
  '@weekends': '0 0 0 * * 0,6',
};

/** Matches are searched this many months ahead at most: one Gregorian cycle, after which the calendar repeats. */
const MAX_MONTHS_SEARCHED = 400 * 12 + 12;
const DAY_SECONDS = 86_400;

interface ParsedField {
  readonly values: boolean[];
  /** The field is written starting with `*` or `?` (Vixie cron's DOM_STAR/DOW_STAR and wildcard jobs). */
  readonly starred: boolean;
}

interface DayOfMonthExtras {
  last: boolean;
  lastWeekday: boolean;
  nearestWeekday: number[];
}

interface DayOfWeekExtras {
  nth: Array<{ readonly weekday: number; readonly nth: number }>;
  last: number[];
}

export class CompiledCron {
  /** The expression has an `H`: its values depend on the task id it was compiled for. */
  readonly usesHash: boolean;
  /**
   * The minute or hour field starts with `*`: Vixie cron's "wildcard" jobs, which run by the
   * wall clock through DST changes (both passes of a repeated hour, nothing in a skipped one).
   */
  readonly wildcardTime: boolean;
  readonly #nextSecond: Int8Array;
  readonly #nextMinute: Int8Array;
  readonly #nextHour: Int8Array;
  readonly #firstSecond: number;
  readonly #firstMinute: number;
  readonly #nextMonth: Int8Array;
  readonly #firstMonth: number;
  readonly #domDays: number;
  readonly #domExtras: DayOfMonthExtras;
  readonly #dowDays: number;
  readonly #dowExtras: DayOfWeekExtras;
  /** Vixie cron: when either day field starts with `*`, a day must match both; otherwise either. */
  readonly #daysMatchBoth: boolean;
  #maskKey = Number.NaN;
  #smallestSpacing: number | undefined;
  #mask = 0;

  constructor(expression: string, taskId: string) {
    const trimmed = expression.trim();
    const expanded = MACROS[trimmed.toLowerCase()] ?? trimmed;
    const atoms = expanded.split(/\s+/);
    if (atoms.length !== 5 && atoms.length !== 6) {
      throw new CronSyntaxError(
        `must have 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first; got ${atoms.length}`,
      );
    }
    const [secondText, minuteText, hourText, domText, monthText, dowText] =
      atoms.length === 6 ? atoms : ['0', ...atoms];
    const hash = new FieldHasher(taskId);
    const seconds = parseField(secondText ?? '', SECOND, hash);
    const minutes = parseField(minuteText ?? '', MINUTE, hash);
    const hours = parseField(hourText ?? '', HOUR, hash);
    const months = parseField(monthText ?? '', MONTH, hash);
    const domExtras: DayOfMonthExtras = { last: false, lastWeekday: false, nearestWeekday: [] };
    const dom = parseField(domText ?? '', DAY_OF_MONTH, hash, (item) => parseDayOfMonthItem(item, domExtras));
    const dowExtras: DayOfWeekExtras = { nth: [], last: [] };
    const dow = parseField(dowText ?? '', DAY_OF_WEEK, hash, (item) => parseDayOfWeekItem(item, dowExtras));
    if (dow.values[7] === true) dow.values[0] = true;

    this.usesHash = hash.used;
    this.wildcardTime = minutes.starred || hours.starred;
    this.#nextSecond = nextTable(seconds.values, 60);
    this.#nextMinute = nextTable(minutes.values, 60);
    this.#nextHour = nextTable(hours.values, 24);
    this.#firstSecond = this.#nextSecond[0] ?? -1;
    this.#firstMinute = this.#nextMinute[0] ?? -1;
    this.#nextMonth = nextTable(months.values, 13);
    this.#firstMonth = this.#nextMonth[1] ?? -1;
    this.#domDays = bitsOf(dom.values, 1, 31);
    this.#domExtras = domExtras;
    this.#dowDays = bitsOf(dow.values, 0, 6);
    this.#dowExtras = dowExtras;
    this.#daysMatchBoth = dom.starred || dow.starred;
  }

  /** The first matching floating local time at or after `local` (whole seconds), or undefined. */
  nextAtOrAfter(local: number): number | undefined {
    const second = Math.ceil(local / 1000);
    const days = Math.floor(second / DAY_SECONDS);
    let secondOfDay = second - days * DAY_SECONDS;
    let { year, month, day } = civilFromDays(days);
    for (let monthsSearched = 0; monthsSearched <= MAX_MONTHS_SEARCHED;) {
      const allowedMonth = this.#nextMonth[month] ?? -1;
      if (allowedMonth !== month) {
        if (allowedMonth < 0) {
          year++;
          month = this.#firstMonth;
        } else month = allowedMonth;
        day = 1;
        secondOfDay = 0;
        monthsSearched++;
      }
      const matchingDay = nextSetBit(this.#dayMask(year, month), day);
      if (matchingDay < 0) {
        month++;
        if (month > 12) {
          month = 1;
          year++;
        }
        day = 1;
        secondOfDay = 0;
        monthsSearched++;
        continue;
      }
      if (matchingDay !== day) {
        day = matchingDay;
        secondOfDay = 0;
      }
      const time = this.#nextTimeOfDay(secondOfDay);
      if (time < 0) {
        day++;
        secondOfDay = 0;
        continue;
      }
      return (daysFromCivil(year, month, day) * DAY_SECONDS + time) * 1000;
    }
    return undefined;
  }

  /**
   * The smallest distance in seconds between two matching times of day, counting the step
   * from a day's last match to the next day's first as if every day matched (an upper
   * bound on how close two fires can be on the wall clock, exact for most expressions).
   */
  smallestDailySpacingSeconds(): number {
    if (this.#smallestSpacing !== undefined) return this.#smallestSpacing;
    const first = this.#nextTimeOfDay(0);
    let smallest = Number.POSITIVE_INFINITY;
    let previous = first;
    for (let t = this.#nextTimeOfDay(first + 1); t >= 0; t = this.#nextTimeOfDay(t + 1)) {
      smallest = Math.min(smallest, t - previous);
      previous = t;
    }
    this.#smallestSpacing = Math.min(smallest, DAY_SECONDS - previous + first);
    return this.#smallestSpacing;
  }

  /** The earliest matching second of the day at or after `secondOfDay`, or -1. */
  #nextTimeOfDay(secondOfDay: number): number {
    if (secondOfDay >= DAY_SECONDS) return -1;
    const hour = Math.floor(secondOfDay / 3600);
    const rest = secondOfDay - hour * 3600;
    const minute = Math.floor(rest / 60);
    const second = rest - minute * 60;
    const nextHour = this.#nextHour[hour] ?? -1;
    if (nextHour < 0) return -1;
    if (nextHour > hour) return nextHour * 3600 + this.#firstMinute * 60 + this.#firstSecond;
    const nextMinute = this.#nextMinute[minute] ?? -1;
    if (nextMinute > minute) return hour * 3600 + nextMinute * 60 + this.#firstSecond;
    if (nextMinute === minute) {
      const nextSecond = this.#nextSecond[second] ?? -1;
      if (nextSecond >= 0) return hour * 3600 + minute * 60 + nextSecond;
      const laterMinute = this.#nextMinute[minute + 1] ?? -1;
      if (laterMinute >= 0) return hour * 3600 + laterMinute * 60 + this.#firstSecond;
    }
    const laterHour = this.#nextHour[hour + 1] ?? -1;
    return laterHour < 0 ? -1 : laterHour * 3600 + this.#firstMinute * 60 + this.#firstSecond;
  }

  /** Bit d set when day d (1..31) of the month matches. One month is remembered: walks stay in a month. */
  #dayMask(year: number, month: number): number {
    const key = year * 16 + month;
    if (key === this.#maskKey) return this.#mask;
    const length = daysInMonth(year, month);
    const monthDays = length === 31 ? -2 : (1 << (length + 1)) - 2;
    const firstDay = daysFromCivil(year, month, 1);
    const firstWeekday = weekdayOfDays(firstDay);
    const weekdayOf = (day: number): number => (firstWeekday + day - 1) % 7;

    let dom = this.#domDays & monthDays;
    if (this.#domExtras.last) dom |= 1 << length;
    if (this.#domExtras.lastWeekday) {
      const weekday = weekdayOf(length);
      dom |= 1 << (weekday === 6 ? length - 1 : weekday === 0 ? length - 2 : length);
    }
    for (const target of this.#domExtras.nearestWeekday) {
      if (target > length) continue;
      const weekday = weekdayOf(target);
      let day = target;
      // The nearest weekday, never leaving the month (Quartz): 1W on a Saturday is Monday the 3rd.
      if (weekday === 6) day = target === 1 ? 3 : target - 1;
      else if (weekday === 0) day = target === length ? target - 2 : target + 1;
      dom |= 1 << day;
    }

    let dow = 0;
    if ((this.#dowDays & 0x7f) === 0x7f) dow = monthDays;
    else if (this.#dowDays !== 0) {
      for (let day = 1; day <= length; day++) if ((this.#dowDays >> weekdayOf(day)) & 1) dow |= 1 << day;
    }
    for (const { weekday, nth } of this.#dowExtras.nth) {
      const day = 1 + ((weekday - firstWeekday + 7) % 7) + 7 * (nth - 1);
      if (day <= length) dow |= 1 << day;
    }
    for (const weekday of this.#dowExtras.last)
      dow |= 1 << (length - ((weekdayOf(length) - weekday + 7) % 7));

    this.#maskKey = key;
    this.#mask = this.#daysMatchBoth ? dom & dow : dom | dow;
    return this.#mask;
  }
}

/** `H` values: a stable hash of the task id and the field, so every machine and restart agrees. */
class FieldHasher {
  readonly #taskId: string;
  used = false;

  constructor(taskId: string) {
    this.#taskId = taskId;
  }

  value(field: FieldSpec, item: number): number {
    this.used = true;
    return fnv1a32(`${this.#taskId}|${field.name}|${item}`);
  }
}

function parseField(
  text: string,
  spec: FieldSpec,
  hash: FieldHasher,
  special?: (item: string) => boolean,
): ParsedField {
  const values = new Array<boolean>(spec.max + 1).fill(false);
  const lowered = text.toLowerCase();
  if (lowered === '') throw new CronSyntaxError(`the ${spec.name} field is empty`);
  const items = lowered.split(',');
  items.forEach((item, index) => {
    if (special?.(item) === true) return;
    const match = /^(\*|\?|h(?:\((\w+)-(\w+)\))?|\w+(?:-\w+)?)(?:\/(\d+))?$/.exec(item);
    if (match === null) throw new CronSyntaxError(`Invalid ${spec.name} value "${item}"`);
    const [, base = '', hashFrom, hashTo, stepText] = match;
    const step = stepText === undefined ? undefined : Number(stepText);
    if (step !== undefined && step <= 0) {
      throw new CronSyntaxError(
        `Constraint error, cannot repeat at every ${step} time in the ${spec.name} field`,
      );
    }
    const wildcardMax = spec === DAY_OF_WEEK ? 6 : spec.max;
    if (base === '*' || base === '?') {
      for (let v = spec.min; v <= wildcardMax; v += step ?? 1) values[v] = true;
      return;
    }
    if (base.startsWith('h')) {
      const low = hashFrom === undefined ? spec.min : valueOf(hashFrom, spec);
      const high = hashTo === undefined ? spec.hashMax : valueOf(hashTo, spec);
      if (low > high) throw new CronSyntaxError(`Invalid range in the ${spec.name} field: ${low}-${high}`);
      const seed = hash.value(spec, index);
      // A step wider than the range leaves no stepped value in it: one hashed value instead (as cron-parser does).
      if (step === undefined || low + (seed % step) > high) values[low + (seed % (high - low + 1))] = true;
      else for (let v = low + (seed % step); v <= high; v += step) values[v] = true;
      return;
    }
    const [fromText = '', toText] = base.split('-');
    const from = valueOf(fromText, spec);
    const to = toText === undefined ? (step === undefined ? from : spec.max) : valueOf(toText, spec);
    if (from > to)
      throw new CronSyntaxError(`Invalid range in the ${spec.name} field: ${from}-${to}, min > max`);
    for (let v = from; v <= to; v += step ?? 1) values[v] = true;
  });
  return { values, starred: lowered.startsWith('*') || lowered.startsWith('?') };
}

function valueOf(text: string, spec: FieldSpec): number {
  const named = spec.names?.indexOf(text) ?? -1;
  const value = named >= 0 ? named + (spec.nameBase ?? 0) : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isNaN(value)) throw new CronSyntaxError(`Invalid ${spec.name} value "${text}"`);
  if (value < spec.min || value > spec.max) {
    throw new CronSyntaxError(
      `Constraint error, got value ${text} expected range ${spec.min}-${spec.max} in the ${spec.name} field`,
    );
  }
  return value;
}

function parseDayOfMonthItem(item: string, extras: DayOfMonthExtras): boolean {
  if (item === 'l') return (extras.last = true);
  if (item === 'lw') return (extras.lastWeekday = true);
  const nearest = /^(\d+)w$/.exec(item);
  if (nearest === null) return false;
  extras.nearestWeekday.push(valueOf(nearest[1] ?? '', DAY_OF_MONTH));
  return true;
}

function parseDayOfWeekItem(item: string, extras: DayOfWeekExtras): boolean {
  const last = /^(\w+)l$/.exec(item);
  if (last !== null) {
    extras.last.push(valueOf(last[1] ?? '', DAY_OF_WEEK) % 7);
    return true;
  }
  const nth = /^(\w+)#(\d+)$/.exec(item);
  if (nth === null) return false;
  const occurrence = Number(nth[2]);
  if (occurrence < 1 || occurrence > 5) {
    throw new CronSyntaxError(`Constraint error, invalid day-of-week occurrence number "#${nth[2]}" (1-5)`);
  }
  extras.nth.push({ weekday: valueOf(nth[1] ?? '', DAY_OF_WEEK) % 7, nth: occurrence });
  return true;
}

/** table[v] = the smallest allowed value >= v, or -1; table[size] = -1. */
function nextTable(values: readonly boolean[], size: number): Int8Array {
  const table = new Int8Array(size + 1).fill(-1);
  for (let v = size - 1; v >= 0; v--) table[v] = values[v] === true ? v : (table[v + 1] ?? -1);
  return table;
}

function bitsOf(values: readonly boolean[], from: number, to: number): number {
  let bits = 0;
  for (let v = from; v <= to; v++) if (values[v] === true) bits |= 1 << v;
  return bits;
}

/** The lowest set bit at or above `from` (0..31), or -1. */
function nextSetBit(mask: number, from: number): number {
  if (from > 31) return -1;
  const above = mask & (-1 << from);
  return above === 0 ? -1 : 31 - Math.clz32(above & -above);
}

const compiledByExpression = new Map<string, CompiledCron>();
const compiledByExpressionAndTask = new Map<string, CompiledCron>();
// Bounded so that a stream of distinct expressions (API validation, previews) cannot grow memory without limit.
const MAX_CACHED = 20_000;

/**
 * The compiled form of an expression, for the task whose id seeds its `H` fields. Cached:
 * schedulers call this for every instant of every task, and compiling costs microseconds.
 */
export function compileCron(expression: string, taskId: string): CompiledCron {
  const plain = compiledByExpression.get(expression);
  if (plain !== undefined) return plain;
  const hashedKey = `${expression}\u0000${taskId}`;
  const hashed = compiledByExpressionAndTask.get(hashedKey);
  if (hashed !== undefined) return hashed;
  const compiled = new CompiledCron(expression, taskId);
  const cache = compiled.usesHash ? compiledByExpressionAndTask : compiledByExpression;
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(compiled.usesHash ? hashedKey : expression, compiled);
  return compiled;
}
