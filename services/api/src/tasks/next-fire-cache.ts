import { type EpochMs, type SchedulerTask, formatInstant } from '@nono/domain';

/** The task's first nominal instant strictly after `after`, within its bounds; undefined if none. */
export type NextFireFunction = (task: SchedulerTask, after: EpochMs) => EpochMs | undefined;

interface Known {
  /** The instant it was computed for... */
  readonly from: EpochMs;
  /** ...and the next fire it found: the answer holds for every `now` in [from, until). */
  readonly until: EpochMs;
  readonly text: string | null;
}

/**
 * `nextFireAt` of list responses, computed once per task and reused until that instant
 * passes. Computing it walks the cron in the task's zone (tens of microseconds; with the
 * zone check it used to build an Intl.DateTimeFormat, milliseconds), and a list of 500
 * tasks did it 500 times per request although the answer changes once per fire.
 *
 * Keyed by the task object, which the index replaces on every change, so a changed
 * schedule is never answered from the old one and entries go with their tasks.
 */
export class NextFireCache {
  readonly #compute: NextFireFunction;
  readonly #known = new WeakMap<SchedulerTask, Known>();

  constructor(compute: NextFireFunction) {
    this.#compute = compute;
  }

  /** RFC 3339, or null when the task will not fire again. */
  nextFireAt(task: SchedulerTask, now: EpochMs): string | null {
    const known = this.#known.get(task);
    // No instant lies in (from, until), so for any now in [from, until) the next one is `until`.
    if (known !== undefined && now >= known.from && now < known.until) return known.text;
    const next = this.#compute(task, now);
    const text = next === undefined ? null : formatInstant(next);
    this.#known.set(task, { from: now, until: next ?? Number.POSITIVE_INFINITY, text });
    return text;
  }
}
