import { IANAZone } from 'luxon';
import { civilFromDays, daysFromCivil } from './civil-time.js';
import { DAY_MS, type EpochMs, MINUTE_MS } from './instant.js';

/**
 * A stretch of the local time line ("floating" times: wall-clock readings encoded as if they
 * were UTC) on which the zone maps wall-clock readings to instants the same way:
 * - `exact`: each reading names one instant, reading - offsetBefore (offsetAfter is the same);
 * - `gap`: readings skipped at a spring-forward transition, they name no instant;
 * - `overlap`: readings repeated at fall-back, each names two instants, reading - offsetBefore
 *   (the earlier) and reading - offsetAfter (the later).
 */
export interface LocalRegion {
  readonly kind: 'exact' | 'gap' | 'overlap';
  /** First local reading of the region (inclusive). */
  readonly start: number;
  /** First local reading after the region (exclusive). */
  readonly end: number;
  readonly offsetBefore: number;
  readonly offsetAfter: number;
  /** Gap and overlap: the instant the offset changes (NaN for exact). */
  readonly transition: EpochMs;
}

interface Transition {
  readonly at: EpochMs;
  readonly offsetBefore: number;
  readonly offsetAfter: number;
}

/** The offset in effect at the start of a UTC year and the transitions inside it (after the start, up to and including the next year's start). */
interface YearTransitions {
  readonly startOffset: number;
  readonly transitions: readonly Transition[];
}

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
  readonly #years = new Map<number, YearTransitions>();
  readonly #regionsByLocalYear = new Map<number, readonly LocalRegion[]>();
  #lastRegion: LocalRegion | undefined;

  constructor(name: string) {
    if (!isValidTimeZone(name)) throw new RangeError(`unknown IANA time zone "${name}"`);
    this.name = name;
    this.#zone = IANAZone.create(name);
  }

  /**
   * One shared instance per zone name, so its transition tables are computed once per process
   * (about a millisecond per zone and year, on first use).
   */
  static of(name: string): TimeZone {
    let zone = zonesByName.get(name);
    if (zone === undefined) {
      zone = new TimeZone(name);
      zonesByName.set(name, zone);
    }
    return zone;
  }

  /** Offset from UTC in milliseconds at an instant (+1 h for Paris in winter). */
  offsetAt(instant: EpochMs): number {
    return this.#zone.offset(instant) * MINUTE_MS;
  }

  /**
   * The region of the local time line holding a floating local reading. Answered from a
   * table computed once per local year; the last answer is remembered, since consecutive
   * questions are almost always about the same stretch between two transitions.
   */
  regionAt(local: number): LocalRegion {
    const last = this.#lastRegion;
    if (last !== undefined && local >= last.start && local < last.end) return last;
    const regions = this.#regionsOfLocalYear(yearOf(local));
    let found = regions[regions.length - 1] as LocalRegion;
    for (const region of regions) {
      if (local < region.end) {
        found = region;
        break;
      }
    }
    this.#lastRegion = found;
    return found;
  }

  /**
   * The smallest offset in effect within two days of `instant`: no local reading below
   * instant + that offset can name an instant after `instant` (two days cover any real
   * transition's reach, including Apia's 24-hour jump of 2011).
   */
  minOffsetNear(instant: EpochMs): number {
    const from = instant - 2 * DAY_MS;
    const to = instant + 2 * DAY_MS;
    let min = this.#tableOffsetAt(from);
    for (let year = yearOf(from); year <= yearOf(to); year++) {
      for (const transition of this.#yearTransitions(year).transitions) {
        if (transition.at > from && transition.at <= to) min = Math.min(min, transition.offsetAfter);
      }
    }
    return min;
  }

  /** The gaps and overlaps whose transition falls in (from, to], in order. */
  transitionRegionsBetween(from: EpochMs, to: EpochMs): LocalRegion[] {
    const out: LocalRegion[] = [];
    // A transition at instant T has local readings within a day of T: the local years around cover them.
    for (let year = yearOf(from - DAY_MS); year <= yearOf(to + DAY_MS); year++) {
      for (const region of this.#regionsOfLocalYear(year)) {
        if (region.kind === 'exact' || region.transition <= from || region.transition > to) continue;
        if (out.some((known) => known.transition === region.transition)) continue;
        out.push(region);
      }
    }
    return out;
  }

  /** The offset at an instant, from the transition table. */
  #tableOffsetAt(instant: EpochMs): number {
    const year = this.#yearTransitions(yearOf(instant));
    let offset = year.startOffset;
    for (const transition of year.transitions) {
      if (transition.at > instant) break;
      offset = transition.offsetAfter;
    }
    return offset;
  }

  #regionsOfLocalYear(year: number): readonly LocalRegion[] {
    const known = this.#regionsByLocalYear.get(year);
    if (known !== undefined) return known;
    // Local readings of the year name instants within about a day of it; two days of margin.
    const from = yearStart(year) - 2 * DAY_MS;
    const to = yearStart(year + 1) + 2 * DAY_MS;
    const regions: LocalRegion[] = [];
    let offset = this.#tableOffsetAt(from);
    // Exact stretches are cut at the year's bounds: regionAt remembers the last region it
    // found, which must never answer for a reading of another year.
    const yearEnd = yearStart(year + 1);
    let start = yearStart(year);
    for (let y = yearOf(from); y <= yearOf(to); y++) {
      for (const { at, offsetBefore, offsetAfter } of this.#yearTransitions(y).transitions) {
        if (at <= from || at > to) continue;
        const low = at + Math.min(offsetBefore, offsetAfter);
        const high = at + Math.max(offsetBefore, offsetAfter);
        if (low >= yearEnd) break;
        if (high <= yearStart(year)) {
          offset = offsetAfter;
          continue;
        }
        if (low > start) regions.push(exactRegion(start, low, offset));
        regions.push({
          kind: offsetAfter > offsetBefore ? 'gap' : 'overlap',
          start: low,
          end: high,
          offsetBefore,
          offsetAfter,
          transition: at,
        });
        start = high;
        offset = offsetAfter;
      }
    }
    if (start < yearEnd) regions.push(exactRegion(start, yearEnd, offset));
    this.#regionsByLocalYear.set(year, regions);
    return regions;
  }

  #yearTransitions(year: number): YearTransitions {
    const known = this.#years.get(year);
    if (known !== undefined) return known;
    const start = yearStart(year);
    const end = yearStart(year + 1);
    const startOffset = this.offsetAt(start);
    const transitions: Transition[] = [];
    // Sampled daily: real zones never change offset twice within a day.
    let offset = startOffset;
    for (let low = start; low < end; low += DAY_MS) {
      const high = Math.min(low + DAY_MS, end);
      const next = this.offsetAt(high);
      if (next === offset) continue;
      const at = this.#findTransition(low, high, offset);
      transitions.push({ at, offsetBefore: offset, offsetAfter: this.offsetAt(at) });
      offset = next;
    }
    const table = { startOffset, transitions };
    this.#years.set(year, table);
    return table;
  }

  /** Binary search for the first instant in (low, high] whose offset is not `lowOffset`. */
  #findTransition(low: EpochMs, high: EpochMs, lowOffset: number): EpochMs {
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

const zonesByName = new Map<string, TimeZone>();

function exactRegion(start: number, end: number, offset: number): LocalRegion {
  return { kind: 'exact', start, end, offsetBefore: offset, offsetAfter: offset, transition: Number.NaN };
}

function yearOf(msSinceEpoch: number): number {
  return civilFromDays(Math.floor(msSinceEpoch / DAY_MS)).year;
}

function yearStart(year: number): EpochMs {
  return daysFromCivil(year, 1, 1) * DAY_MS;
}
