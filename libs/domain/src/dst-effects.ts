import { compileCron } from './cron-expression.js';
import { type EpochMs, formatInstant } from './instant.js';
import { type Schedule, dstPolicyOf } from './schedule.js';
import { TimeZone } from './zone.js';

/** What one DST transition does to a cron schedule, in words a person can check. */
export interface DstEffect {
  /** RFC 3339: the instant the zone's offset changes. */
  readonly transitionAt: string;
  readonly kind: 'gap' | 'overlap';
  /** How many matching wall-clock readings fall in the skipped or repeated stretch. */
  readonly readings: number;
  /** "on 2026-10-25 02:30 occurs twice (clocks go back from 03:00 to 02:00); fires at the first" */
  readonly message: string;
}

const MAX_READINGS_COUNTED = 100_000;

/**
 * The DST transitions in (from, until] that touch a cron schedule's wall-clock readings,
 * with what the schedule's DST policy does about them. Interval and one-shot schedules are
 * instants, untouched by DST: none.
 */
export function describeDstEffects(
  schedule: Schedule,
  taskId: string,
  from: EpochMs,
  until: EpochMs,
): DstEffect[] {
  if (schedule.kind !== 'cron') return [];
  const cron = compileCron(schedule.expression, taskId);
  const policy = dstPolicyOf(schedule);
  const effects: DstEffect[] = [];
  for (const region of TimeZone.of(schedule.timeZone).transitionRegionsBetween(from, until)) {
    const readings: number[] = [];
    for (
      let reading = cron.nextAtOrAfter(region.start);
      reading !== undefined && reading < region.end && readings.length < MAX_READINGS_COUNTED;
      reading = cron.nextAtOrAfter(reading + 1000)
    ) {
      readings.push(reading);
    }
    const first = readings[0];
    const last = readings.at(-1);
    if (first === undefined || last === undefined) continue;
    const day = formatInstant(first).slice(0, 10);
    const what =
      readings.length === 1
        ? clock(first)
        : `the ${readings.length} times from ${clock(first)} to ${clock(last)}`;
    const message =
      region.kind === 'gap'
        ? `on ${day} ${what} ${readings.length === 1 ? 'does' : 'do'} not exist (clocks go forward from ${clock(region.start)} to ${clock(region.end)}); ${
            policy.gap === 'shift' ? `fires once at ${clock(region.end)} instead` : 'no fire for them'
          }`
        : `on ${day} ${what} ${readings.length === 1 ? 'occurs' : 'occur'} twice (clocks go back from ${clock(region.end)} to ${clock(region.start)}); ${
            policy.overlap === 'both'
              ? 'fires at both'
              : `fires at the ${policy.overlap === 'first' ? 'first' : 'second'} only`
          }`;
    effects.push({
      transitionAt: formatInstant(region.transition),
      kind: region.kind === 'gap' ? 'gap' : 'overlap',
      readings: readings.length,
      message,
    });
  }
  return effects;
}

/** `02:30`, or `02:30:15` when the reading has seconds: a floating local time as a wall clock shows it. */
function clock(local: number): string {
  const text = formatInstant(local);
  return text.slice(17, 19) === '00' ? text.slice(11, 16) : text.slice(11, 19);
}
