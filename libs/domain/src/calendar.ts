import { type Static, Type } from '@sinclair/typebox';
import { type EpochMs } from './instant.js';
import { type FieldIssue, type Result, fail, ok } from './errors.js';
import { compileValidator } from './validation.js';
import { TimeZone, isValidTimeZone } from './zone.js';

/**
 * Exclusion calendars (Quartz's holiday calendars, Temporal's schedule exclusions): named sets
 * of local dates, in a zone, on which the tasks that reference a calendar do not fire. An
 * instant whose local date (in the calendar's zone, not the task's) is excluded is recorded as
 * skipped with reason `calendar` and never called.
 */

export const CALENDAR_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';
const LOCAL_DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';
/** A year of daily exclusions with room to spare; a calendar is one znode, read by every scheduler. */
export const MAX_CALENDAR_ENTRIES = 1_000;
/** How many calendars one task may reference. */
export const MAX_TASK_CALENDARS = 10;

const LocalDate = Type.String({ pattern: LOCAL_DATE_PATTERN, description: 'a local date, YYYY-MM-DD' });

/** What a person writes. */
export const CalendarSpecSchema = Type.Object(
  {
    description: Type.String({ maxLength: 2000, default: '' }),
    timeZone: Type.String({
      minLength: 1,
      description: 'IANA zone whose local dates the entries are (e.g. Europe/Paris)',
    }),
    dates: Type.Array(LocalDate, {
      default: [],
      maxItems: MAX_CALENDAR_ENTRIES,
      description: 'excluded local dates',
    }),
    ranges: Type.Array(
      Type.Object(
        {
          from: LocalDate,
          to: Type.String({ pattern: LOCAL_DATE_PATTERN, description: 'inclusive' }),
        },
        { additionalProperties: false },
      ),
      {
        default: [],
        maxItems: MAX_CALENDAR_ENTRIES,
        description: 'excluded spans of local dates, both ends included',
      },
    ),
  },
  { additionalProperties: false },
);
export type CalendarSpec = Static<typeof CalendarSpecSchema>;

/** The stored calendar: a spec plus identity and bookkeeping. Lives as JSON in ZooKeeper. */
export const CalendarSchema = Type.Composite(
  [
    Type.Object({
      name: Type.String({ pattern: CALENDAR_NAME_PATTERN }),
      createdAt: Type.String(),
      updatedAt: Type.String(),
      revision: Type.Integer({ minimum: 1 }),
    }),
    CalendarSpecSchema,
  ],
  { additionalProperties: false },
);
export type Calendar = Static<typeof CalendarSchema>;

const specValidator = compileValidator(CalendarSpecSchema);
const calendarValidator = compileValidator(CalendarSchema);

/** Untrusted input to a complete spec (defaults applied), or one issue per bad field. */
export function parseCalendarSpec(input: unknown): Result<CalendarSpec> {
  const parsed = specValidator.parse(input);
  if (!parsed.ok) return parsed;
  const spec = parsed.value;
  const issues: FieldIssue[] = [];
  if (!isValidTimeZone(spec.timeZone))
    issues.push({ field: 'timeZone', message: `unknown IANA time zone "${spec.timeZone}"` });
  spec.dates.forEach((date, i) => {
    if (!isRealDate(date)) issues.push({ field: `dates[${i}]`, message: `${date} is not a date` });
  });
  spec.ranges.forEach((range, i) => {
    if (!isRealDate(range.from))
      issues.push({ field: `ranges[${i}].from`, message: `${range.from} is not a date` });
    if (!isRealDate(range.to))
      issues.push({ field: `ranges[${i}].to`, message: `${range.to} is not a date` });
    else if (range.to < range.from)
      issues.push({ field: `ranges[${i}].to`, message: `is before from (${range.from})` });
  });
  if (spec.dates.length + spec.ranges.length > MAX_CALENDAR_ENTRIES)
    issues.push({ field: 'dates', message: `at most ${MAX_CALENDAR_ENTRIES} dates and ranges together` });
  return issues.length > 0 ? fail(issues) : ok(spec);
}

export function parseStoredCalendar(input: unknown): Result<Calendar> {
  return calendarValidator.parse(input);
}

/** `2026-02-30` matches the pattern and is no date. */
function isRealDate(text: string): boolean {
  const ms = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === text;
}

/**
 * A calendar compiled for lookups: the local date of an instant in the calendar's zone, then a
 * set lookup or a scan of the ranges (dates compare as strings, YYYY-MM-DD).
 */
export class CalendarExclusions {
  readonly name: string;
  readonly #zone: TimeZone;
  readonly #dates: ReadonlySet<string>;
  readonly #ranges: ReadonlyArray<{ readonly from: string; readonly to: string }>;

  constructor(calendar: Pick<Calendar, 'name' | 'timeZone' | 'dates' | 'ranges'>) {
    this.name = calendar.name;
    this.#zone = TimeZone.of(calendar.timeZone);
    this.#dates = new Set(calendar.dates);
    this.#ranges = calendar.ranges;
  }

  /** The instant's local date in the calendar's zone. */
  localDate(instant: EpochMs): string {
    return new Date(instant + this.#zone.offsetAt(instant)).toISOString().slice(0, 10);
  }

  excludes(instant: EpochMs): boolean {
    const date = this.localDate(instant);
    if (this.#dates.has(date)) return true;
    for (const range of this.#ranges) if (range.from <= date && date <= range.to) return true;
    return false;
  }
}

/**
 * The calendar among `names` that excludes the instant (the first, in the task's order), or
 * undefined. A name with no calendar excludes nothing (the API refuses to delete a calendar a
 * task references; a scheduler that sees one missing fires as if it were empty).
 */
export function excludingCalendar(
  names: readonly string[] | undefined,
  calendars: ReadonlyMap<string, CalendarExclusions>,
  instant: EpochMs,
): string | undefined {
  if (names === undefined) return undefined;
  for (const name of names) if (calendars.get(name)?.excludes(instant) === true) return name;
  return undefined;
}
