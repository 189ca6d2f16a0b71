/**
 * Instants are epoch milliseconds inside the domain and RFC 3339 strings (always UTC,
 * millisecond precision) on the wire and in ZooKeeper.
 */
export type EpochMs = number;

// An explicit offset is required: a bare "2026-03-29T02:30" means a different instant on every machine.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

export function parseInstant(text: string): EpochMs | undefined {
  if (!RFC3339.test(text)) return undefined;
  // Date.parse rolls February 30 over into March: a day the month does not have is refused here.
  const [year = 0, month = 0, day = 0] = text.slice(0, 10).split('-').map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** setUTCFullYear, not Date.UTC: the latter reads years 0-99 as 1900-1999. */
function daysInMonth(year: number, month: number): number {
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year, month, 0);
  return lastDay.getUTCDate();
}

/**
 * The last instants formatted: a scheduler formats the same few instants (this tick, this
 * second's nominal instant) for every one of a burst of fires, and a Date plus an ISO
 * string each time is a measurable share of the CPU per fire.
 */
const recentlyFormatted: { ms: EpochMs; text: string }[] = [
  { ms: NaN, text: '' },
  { ms: NaN, text: '' },
];
let nextSlot = 0;

export function formatInstant(ms: EpochMs): string {
  const [a, b] = recentlyFormatted as [{ ms: EpochMs; text: string }, { ms: EpochMs; text: string }];
  if (a.ms === ms) return a.text;
  if (b.ms === ms) return b.text;
  const text = new Date(ms).toISOString();
  const slot = recentlyFormatted[nextSlot] as { ms: EpochMs; text: string };
  slot.ms = ms;
  slot.text = text;
  nextSlot ^= 1;
  return text;
}

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
