import { type Static, Type } from '@sinclair/typebox';
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { type FieldIssue, type Result, fail, ok } from './errors.js';
import { fnv1a32 } from './hash.js';
import { type EpochMs, parseInstant } from './instant.js';
import { compileValidator, joinField } from './validation.js';
import { TimeZone, isValidTimeZone } from './zone.js';

/**
 * What to do with a local time that does not exist (spring-forward gap): fire once at
 * the instant the gap ends, or skip that occurrence. And with one that happens twice
 * (fall-back): fire on the first, the last, or both. A per-task choice, never an accident.
 */
export const DstPolicySchema = Type.Object(
  {
    gap: Type.Union([Type.Literal('shift'), Type.Literal('skip')], { default: 'shift' }),
    overlap: Type.Union([Type.Literal('first'), Type.Literal('last'), Type.Literal('both')], {
      default: 'first',
    }),
  },
  { additionalProperties: false },
);
export type DstPolicy = Static<typeof DstPolicySchema>;

const JitterMs = Type.Integer({
  minimum: 0,
  maximum: 3_600_000,
  default: 0,
  description: 'deterministic delay of 0..jitterMs after each nominal instant',
});

export const CronScheduleSchema = Type.Object(
  {
    kind: Type.Literal('cron'),
    expression: Type.String({ minLength: 1, maxLength: 200 }),
    timeZone: Type.String({ default: 'UTC', minLength: 1, maxLength: 64 }),
    dst: Type.Optional(DstPolicySchema),
    jitterMs: JitterMs,
  },
  { additionalProperties: false },
);

export const IntervalScheduleSchema = Type.Object(
  {
    kind: Type.Literal('interval'),
    everyMs: Type.Integer({ description: 'milliseconds between fires, at least 100' }),
    anchorAt: Type.Optional(
      Type.String({ description: 'RFC 3339 instant the intervals count from (default: the Unix epoch)' }),
    ),
    jitterMs: JitterMs,
  },
  { additionalProperties: false },
);

export const OnceScheduleSchema = Type.Object(
  {
    kind: Type.Literal('once'),
    at: Type.String({ description: 'RFC 3339 instant with an offset, e.g. 2026-12-01T09:00:00Z' }),
    jitterMs: JitterMs,
  },
  { additionalProperties: false },
);

export const ScheduleSchema = Type.Union([CronScheduleSchema, IntervalScheduleSchema, OnceScheduleSchema]);
export type CronSchedule = Static<typeof CronScheduleSchema>;
export type IntervalSchedule = Static<typeof IntervalScheduleSchema>;
export type OnceSchedule = Static<typeof OnceScheduleSchema>;
export type Schedule = Static<typeof ScheduleSchema>;

export const MIN_INTERVAL_MS = 100;
export const DEFAULT_DST_POLICY: DstPolicy = { gap: 'shift', overlap: 'first' };

const validators = {
  cron: compileValidator(CronScheduleSchema),
  interval: compileValidator(IntervalScheduleSchema),
  once: compileValidator(OnceScheduleSchema),
} as const;

/**
 * Checks a schedule's shape and meaning: the cron compiles and fires at least once, the
 * zone exists, the interval is positive. `field` prefixes the issue names (`schedule`).
 * Whether a one-shot instant is in the past depends on "now", so SchedulerTask checks that.
 */
export function parseSchedule(input: unknown, field = 'schedule'): Result<Schedule> {
  const kind = (input as { kind?: unknown } | null)?.kind;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail([{ field, message: 'must be an object with a "kind" of cron, interval or once' }]);
  }
  if (kind !== 'cron' && kind !== 'interval' && kind !== 'once') {
    return fail([
      {
        field: joinField(field, 'kind'),
        message: `must be one of cron, interval, once (got ${JSON.stringify(kind)})`,
      },
    ]);
  }
  const shaped = validators[kind].parse(input, field);
  if (!shaped.ok) return shaped;
  const schedule: Schedule = shaped.value;
  const issues = checkScheduleMeaning(schedule, field);
  return issues.length === 0 ? ok(schedule) : fail(issues);
}

function checkScheduleMeaning(schedule: Schedule, field: string): FieldIssue[] {
  switch (schedule.kind) {
    case 'cron': {
      const issues: FieldIssue[] = [];
      if (!isValidTimeZone(schedule.timeZone)) {
        issues.push({
          field: joinField(field, 'timeZone'),
          message: `unknown IANA time zone "${schedule.timeZone}"`,
        });
      }
      const cronProblem = explainCronProblem(schedule.expression);
      if (cronProblem !== undefined)
        issues.push({ field: joinField(field, 'expression'), message: cronProblem });
      return issues;
    }
    case 'interval': {
      const issues: FieldIssue[] = [];
      if (schedule.everyMs < MIN_INTERVAL_MS) {
        issues.push({
          field: joinField(field, 'everyMs'),
          message: `must be at least ${MIN_INTERVAL_MS} ms (got ${schedule.everyMs})`,
        });
      }
      if (schedule.anchorAt !== undefined && parseInstant(schedule.anchorAt) === undefined) {
        issues.push({
          field: joinField(field, 'anchorAt'),
          message: 'must be an RFC 3339 instant with an offset',
        });
      }
      return issues;
    }
    case 'once':
      return parseInstant(schedule.at) === undefined
        ? [
            {
              field: joinField(field, 'at'),
              message: 'must be an RFC 3339 instant with an offset, e.g. 2026-12-01T09:00:00Z',
            },
          ]
        : [];
  }
}

const PREDEFINED = /^@(yearly|annually|monthly|weekly|daily|hourly|minutely|secondly|weekdays|weekends)$/i;

/** Returns why a cron expression is unusable, or undefined when it is fine. */
export function explainCronProblem(expression: string): string | undefined {
  const trimmed = expression.trim();
  const fieldCount = trimmed.split(/\s+/).length;
  if (!PREDEFINED.test(trimmed) && fieldCount !== 5 && fieldCount !== 6) {
    return `must have 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first; got ${fieldCount}`;
  }
  try {
    const cron = CronExpressionParser.parse(trimmed, { tz: 'UTC', currentDate: REFERENCE_INSTANT });
    cron.next();
    return undefined;
  } catch (error) {
    return `is not a valid cron expression: ${error instanceof Error ? error.message : String(error)}`;
  }
}
// A fixed, leap-year-rich starting point: whether an expression can ever fire must not depend on today.
const REFERENCE_INSTANT = Date.UTC(2000, 0, 1);

/**
 * The next `count` nominal instants strictly after `after`, in order. Pure: every input
 * is an argument, so any past or future window can be recomputed anywhere with the same
 * answer. Jitter is not applied here: nominal instants are the identity of a fire.
 */
export function nextFireTimes(schedule: Schedule, after: EpochMs, count: number): EpochMs[] {
  const out: EpochMs[] = [];
  if (count <= 0) return out;
  for (const instant of iterateFireTimes(schedule, after)) {
    out.push(instant);
    if (out.length >= count) break;
  }
  return out;
}

/** The first nominal instant strictly after `after`, or undefined if the schedule is exhausted. */
export function nextFireTime(schedule: Schedule, after: EpochMs): EpochMs | undefined {
  return nextFireTimes(schedule, after, 1)[0];
}

/** Lazily enumerates nominal instants strictly after `after`. */
export function* iterateFireTimes(schedule: Schedule, after: EpochMs): Generator<EpochMs, void, undefined> {
  switch (schedule.kind) {
    case 'once': {
      const at = parseInstant(schedule.at);
      if (at !== undefined && at > after) yield at;
      return;
    }
    case 'interval': {
      const anchor = schedule.anchorAt === undefined ? 0 : (parseInstant(schedule.anchorAt) ?? 0);
      const every = schedule.everyMs;
      // First k with anchor + k*every > after; Math.floor handles `after` before the anchor.
      let next = anchor + (Math.floor((after - anchor) / every) + 1) * every;
      for (;;) {
        yield next;
        next += every;
      }
    }
    case 'cron':
      yield* iterateCron(schedule, after);
      return;
  }
}

function* iterateCron(schedule: CronSchedule, after: EpochMs): Generator<EpochMs, void, undefined> {
  if (schedule.timeZone === 'UTC' || schedule.timeZone === 'Etc/UTC') {
    const cron = parseCron(schedule.expression, after);
    for (;;) {
      const instant = nextOrUndefined(cron);
      if (instant === undefined) return;
      yield instant;
    }
  }
  yield* iterateZonedCron(schedule, new TimeZone(schedule.timeZone), after);
}

/**
 * cron-parser matches fields against "floating" local times (wall-clock readings encoded
 * as UTC); this function alone decides how each reading maps to real instants, so the
 * DST policy is explicit. The mapping is monotonic except for overlap "both", where the
 * later copy of a repeated hour must wait in `pending` until nothing earlier can follow.
 */
function* iterateZonedCron(schedule: CronSchedule, zone: TimeZone, after: EpochMs): Generator<EpochMs> {
  const dst = schedule.dst ?? DEFAULT_DST_POLICY;
  // A local reading L maps to an instant L - offset; starting at after + smallest nearby
  // offset is the earliest reading that can still map to an instant after `after`.
  const cron = parseCron(schedule.expression, after + zone.minOffsetAround(after));
  const pending: EpochMs[] = [];
  let lastYielded = after;
  for (;;) {
    const local = nextOrUndefined(cron);
    if (local === undefined) break;
    const instants = mapLocalTime(zone.resolveLocal(local), dst);
    const lowerBound = instants[0];
    if (lowerBound === undefined) continue;
    while (pending.length > 0 && (pending[0] ?? Infinity) < lowerBound) {
      const instant = pending.shift() as EpochMs;
      if (instant > lastYielded) {
        lastYielded = instant;
        yield instant;
      }
    }
    for (const instant of instants) insertSorted(pending, instant);
  }
  for (const instant of pending) if (instant > lastYielded) yield (lastYielded = instant);
}

function mapLocalTime(resolution: ReturnType<TimeZone['resolveLocal']>, dst: DstPolicy): EpochMs[] {
  switch (resolution.kind) {
    case 'exact':
      return [resolution.instant];
    case 'gap':
      return dst.gap === 'skip' ? [] : [resolution.transition];
    case 'overlap':
      if (dst.overlap === 'first') return [resolution.earlier];
      if (dst.overlap === 'last') return [resolution.later];
      return [resolution.earlier, resolution.later];
  }
}

function insertSorted(list: EpochMs[], value: EpochMs): void {
  let index = list.length;
  while (index > 0 && (list[index - 1] ?? -Infinity) > value) index--;
  if (list[index - 1] !== value) list.splice(index, 0, value);
}

function parseCron(expression: string, currentDate: EpochMs): CronExpression {
  return CronExpressionParser.parse(expression.trim(), { tz: 'UTC', currentDate });
}

function nextOrUndefined(cron: CronExpression): EpochMs | undefined {
  try {
    return cron.next().getTime();
  } catch {
    // cron-parser throws once an expression has no further date (out of range, or its
    // loop limit for expressions that only fire in distant years): the schedule is exhausted.
    return undefined;
  }
}

/**
 * A deterministic delay in [0, maxMs] for one occurrence: the same task and nominal
 * instant always get the same jitter on every scheduler, so a retried or re-owned fire
 * lands at the same moment and spreading load never needs Math.random().
 */
export function jitterOffsetMs(taskId: string, nominal: EpochMs, maxMs: number): number {
  if (maxMs <= 0) return 0;
  return fnv1a32(`${taskId}|${nominal}`) % (maxMs + 1);
}
