import { IANAZone } from 'luxon';
import { DAY_MS, type EpochMs, MINUTE_MS } from './instant.js';

/**
 * How a wall-clock time in a zone maps to instants. A local time can name one instant,
 * none (it falls in a spring-forward gap) or two (it happens twice at fall-back).
 */
export type LocalTimeResolution =
  | { readonly kind: 'exact'; readonly instant: EpochMs }
  | { readonly kind: 'gap'; readonly transition: EpochMs }
  | { readonly kind: 'overlap'; readonly earlier: EpochMs; readonly later: EpochMs };

/**
 * Zone names already found valid, lower-cased (Intl matches zone names case-insensitively).
 * Luxon's isValidZone builds a new Intl.DateTimeFormat per call: about 85 µs and 11 KiB of
 * native ICU memory that the garbage collector is in no hurry to free, so checking a zone
 * per task read (the API's task index, `nextFireAt` in lists) drove an API holding 10,000
 * tasks to 100% CPU and 1.8 GB RSS. Only valid names are kept, so the set is bounded by the
 * IANA database (about 600 zones) whatever names clients send.
 */
const validZoneNames = new Set<string>();

export function isValidTimeZone(name: string): boolean {
  const key = name.toLowerCase();
  if (validZoneNames.has(key)) return true;
  if (!IANAZone.isValidZone(name)) return false;
  validZoneNames.add(key);
  return true;
}

export class TimeZone {
  readonly name: string;
  readonly #zone: IANAZone;

  constructor(name: string) {
    if (!isValidTimeZone(name)) throw new RangeError(`unknown IANA time zone "${name}"`);
    this.name = name;
    this.#zone = IANAZone.create(name);
  }

  /** Offset from UTC in milliseconds at an instant (+1 h for Paris in winter). */
  offsetAt(instant: EpochMs): number {
    return this.#zone.offset(instant) * MINUTE_MS;
  }

  /**
   * Resolves a "floating" local time: `local` is the wall-clock reading encoded as if it
   * were UTC. Any real transition is within a day of the local time, so the offsets a
   * day before and after are the only candidates (the approach of the Temporal proposal).
   */
  resolveLocal(local: EpochMs): LocalTimeResolution {
    const offsetBefore = this.offsetAt(local - DAY_MS);
    const offsetAfter = this.offsetAt(local + DAY_MS);
    const candidates = [...new Set([local - offsetBefore, local - offsetAfter])]
      .filter((instant) => instant + this.offsetAt(instant) === local)
      .sort((a, b) => a - b);
    const [first, second] = candidates;
    if (first !== undefined && second !== undefined)
      return { kind: 'overlap', earlier: first, later: second };
    if (first !== undefined) return { kind: 'exact', instant: first };
    return { kind: 'gap', transition: this.#findTransition(local - offsetAfter, local - offsetBefore) };
  }

  /** Smallest offset in effect within a day of `instant`: bounds how early a local time can map. */
  minOffsetAround(instant: EpochMs): number {
    return Math.min(this.offsetAt(instant - DAY_MS), this.offsetAt(instant), this.offsetAt(instant + DAY_MS));
  }

  /** Binary search for the first instant of the new offset, between two instants with different offsets. */
  #findTransition(low: EpochMs, high: EpochMs): EpochMs {
    const lowOffset = this.offsetAt(low);
    let lo = low;
    let hi = high;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.offsetAt(mid) === lowOffset) lo = mid;
      else hi = mid;
    }
    return hi;
  }
}
