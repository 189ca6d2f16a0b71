import { type Static, Type } from '@sinclair/typebox';
import { type CompiledCron, CronSyntaxError, compileCron } from './cron-expression.js';
import { ErrorCode, type FieldIssue, NonoError, type Result, fail, ok } from './errors.js';
import { fnv1a32 } from './hash.js';
import { type EpochMs, parseInstant } from './instant.js';
import { compileValidator, joinField } from './validation.js';
import { TimeZone, isValidTimeZone } from './zone.js';

/**
 * What to do with a local time that does not exist (spring-forward gap): fire once at
 * the instant the gap ends, or skip that occurrence. And with one that happens twice
 * (fall-back): fire on the first, the last, or both. A per-task choice, never an accident.
 * A field left out takes the default of the expression's kind (see dstPolicyOf).
 */
export const DstPolicySchema = Type.Object(
  {
    gap: Type.Optional(
      Type.Union([Type.Literal('shift'), Type.Literal('skip')], {
        description: 'default: skip for a wildcard cron (minute or hour starts with *), shift otherwise',
      }),
    ),
    overlap: Type.Optional(
      Type.Union([Type.Literal('first'), Type.Literal('last'), Type.Literal('both')], {
        description: 'default: both for a wildcard cron (minute or hour starts with *), first otherwise',
      }),
    ),
  },
  { additionalProperties: false, description: 'docs/SCHEDULES.md' },
);
export type DstPolicy = Required<Static<typeof DstPolicySchema>>;

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

/**
 * The longest interval: ten years of 366 days. Beyond it the next instant can fall past the last
 * date JavaScript represents (the preview answered 500 for an everyMs of 6e22, found by schemathesis).
 */
export const MAX_INTERVAL_MS = 10 * 366 * 86_400_000;

export const IntervalScheduleSchema = Type.Object(
  {
    kind: Type.Literal('interval'),
    everyMs: Type.Integer({
      maximum: MAX_INTERVAL_MS,
      description: `milliseconds between fires, at least 100 and at most ${MAX_INTERVAL_MS} (ten years)`,
    }),
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
/** The DST policy of a fixed-time cron (its minute and hour fields do not start with `*`): `30 2 * * *`. */
export const FIXED_TIME_DST_POLICY: DstPolicy = { gap: 'shift', overlap: 'first' };
// The DST policy of a wildcard cron (minute or hour starts with `*`): every 15 minutes, hourly.
export const WILDCARD_DST_POLICY: DstPolicy = { gap: 'skip', overlap: 'both' };

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

/** Returns why a cron expression is unusable, or undefined when it is fine. */
export function explainCronProblem(expression: string): string | undefined {
  let cron: CompiledCron;
  try {
    // The task id only picks the values of `H`; any id shows whether the expression is well formed.
    cron = compileCron(expression, '');
  } catch (error) {
    if (!(error instanceof CronSyntaxError)) throw error;
    return error.message.startsWith('must have')
      ? error.message
      : `is not a valid cron expression: ${error.message}`;
  }
  if (cron.nextAtOrAfter(REFERENCE_INSTANT) === undefined) {
    return 'is not a valid cron expression: no date ever matches it (like 30 February)';
  }
  return undefined;
}
// A fixed, leap-year-rich starting point: whether an expression can ever fire must not depend on today.
const REFERENCE_INSTANT = Date.UTC(2000, 0, 1);

/** The schedule is a cron with `H`: its instants depend on the task id. */
export function usesHash(schedule: Schedule): boolean {
  return schedule.kind === 'cron' && compileCron(schedule.expression, '').usesHash;
}

/**
 * The DST policy a cron schedule follows: the fields it sets, the rest from its kind. A
 * wildcard cron follows the wall clock like Vixie cron and cronie (both passes of a repeated
 * hour, nothing for the skipped hour); a fixed-time cron fires once whatever the clocks do.
 */
export function dstPolicyOf(schedule: CronSchedule): DstPolicy {
  return resolveDstPolicy(schedule, compileCron(schedule.expression, ''));
}

function resolveDstPolicy(schedule: CronSchedule, cron: CompiledCron): DstPolicy {
  const defaults = cron.wildcardTime ? WILDCARD_DST_POLICY : FIXED_TIME_DST_POLICY;
  return { gap: schedule.dst?.gap ?? defaults.gap, overlap: schedule.dst?.overlap ?? defaults.overlap };
}

/**
 * The smallest spacing between two nominal instants of a schedule on the wall clock, in
 * milliseconds (DST transitions can bring instants closer: see docs/SCHEDULES.md). A jitter
 * at least this large could reorder fires.
 */
export function smallestSpacingMs(schedule: Schedule): number {
  switch (schedule.kind) {
    case 'once':
      return Number.POSITIVE_INFINITY;
    case 'interval':
      return schedule.everyMs;
    case 'cron':
      return compileCron(schedule.expression, '').smallestDailySpacingSeconds() * 1000;
  }
}

/**
 * The next `count` nominal instants strictly after `after`, in order. Pure: every input
 * is an argument, so any past or future window can be recomputed anywhere with the same
 * answer. Jitter is not applied here: nominal instants are the identity of a fire.
 * `taskId` seeds the cron's `H` fields; a cron with `H` cannot be computed without it.
 */
export function nextFireTimes(schedule: Schedule, after: EpochMs, count: number, taskId?: string): EpochMs[] {
  const out: EpochMs[] = [];
  let cursor = after;
  while (out.length < count) {
    const next = nextFireTime(schedule, cursor, taskId);
    if (next === undefined) break;
    out.push(next);
    cursor = next;
  }
  return out;
}

/** The first nominal instant strictly after `after`, or undefined if the schedule is exhausted. */
export function nextFireTime(schedule: Schedule, after: EpochMs, taskId?: string): EpochMs | undefined {
  switch (schedule.kind) {
    case 'once': {
      const at = parseInstant(schedule.at);
      return at !== undefined && at > after ? at : undefined;
    }
    case 'interval': {
      const anchor = schedule.anchorAt === undefined ? 0 : (parseInstant(schedule.anchorAt) ?? 0);
      // First k with anchor + k*every > after; Math.floor handles `after` before the anchor.
      return anchor + (Math.floor((after - anchor) / schedule.everyMs) + 1) * schedule.everyMs;
    }
    case 'cron':
      return nextCronTime(schedule, after, taskId);
  }
}

/** Lazily enumerates nominal instants strictly after `after`. */
export function* iterateFireTimes(
  schedule: Schedule,
  after: EpochMs,
  taskId?: string,
): Generator<EpochMs, void, undefined> {
  for (let next = nextFireTime(schedule, after, taskId); next !== undefined;) {
    yield next;
    next = nextFireTime(schedule, next, taskId);
  }
}

function nextCronTime(
  schedule: CronSchedule,
  after: EpochMs,
  taskId: string | undefined,
): EpochMs | undefined {
  const cron = compileCron(schedule.expression, taskId ?? '');
  if (cron.usesHash && taskId === undefined) {
    throw new NonoError(
      ErrorCode.InvalidSchedule,
      `the cron "${schedule.expression}" uses H, whose values come from the task id: give one`,
    );
  }
  const zone = TimeZone.of(schedule.timeZone);
  const { gap, overlap } = resolveDstPolicy(schedule, cron);
  if (overlap !== 'both') return nextMappedTime(cron, zone, after, gap, overlap);
  // "both" is the union of the instants of "first" and of "last": the smaller next of the two.
  const first = nextMappedTime(cron, zone, after, gap, 'first');
  const last = nextMappedTime(cron, zone, after, gap, 'last');
  if (first === undefined || last === undefined) return first ?? last;
  return Math.min(first, last);
}

/**
 * The first instant after `after` named by a matching wall-clock reading, where each reading
 * names one instant: its own in ordinary stretches, the chosen pass in a repeated hour, the
 * end of the gap (or none) in a skipped one. That mapping never goes backwards, so readings
 * that name instants up to `after` are skipped a whole stretch at a time, never one by one:
 * a handful of steps whatever the schedule, the zone or the date.
 */
function nextMappedTime(
  cron: CompiledCron,
  zone: TimeZone,
  after: EpochMs,
  gap: DstPolicy['gap'],
  pass: 'first' | 'last',
): EpochMs | undefined {
  let local = after + zone.minOffsetNear(after) + 1;
  for (;;) {
    const reading = cron.nextAtOrAfter(local);
    if (reading === undefined) return undefined;
    const region = zone.regionAt(reading);
    if (region.kind === 'gap') {
      if (gap === 'shift' && region.transition > after) return region.transition;
      local = region.end;
      continue;
    }
    const offset = region.kind === 'overlap' && pass === 'last' ? region.offsetAfter : region.offsetBefore;
    const instant = reading - offset;
    if (instant > after) return instant;
    // Readings up to after + offset name instants up to `after`, as far as this stretch goes.
    local = Math.min(after + offset + 1, region.end);
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
