import { CliError, ExitCode } from './cli-error.js';

const DAY_MS = 86_400_000;
const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|z|[+-]\d{2}:\d{2})$/;

/** `--since 15m | 2h | 7d | 2026-11-22T00:00:00Z` → the RFC 3339 instant it names (`15m`: 15 minutes ago). */
export function parseSince(text: string, now: number, option = '--since'): string {
  const relative = /^(\d+)([smhd])$/.exec(text.trim());
  if (relative !== null) {
    const [, amount = '0', unit = 's'] = relative;
    return new Date(now - Number(amount) * (UNIT_MS[unit] ?? 0)).toISOString();
  }
  if (RFC3339.test(text.trim()) && !Number.isNaN(Date.parse(text)))
    return new Date(Date.parse(text)).toISOString();
  throw new CliError(
    ExitCode.Usage,
    `${option} "${text}" is not valid: expected a duration like 30s, 15m, 2h, 7d or an RFC 3339 instant like 2026-11-22T08:00:00Z`,
  );
}

/** The UTC days (YYYY-MM-DD) of the last `days` days, newest first, today included. */
export function lastUtcDays(days: number, now: number): string[] {
  return Array.from({ length: days }, (_, i) => new Date(now - i * DAY_MS).toISOString().slice(0, 10));
}

/** `--for 30m | 2h | 1d` → milliseconds. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (match !== null) {
    const [, amount = '0', unit = 's'] = match;
    const ms = Number(amount) * (UNIT_MS[unit] ?? 0);
    if (ms > 0) return ms;
  }
  throw new CliError(
    ExitCode.Usage,
    `${option} "${text}" is not valid: expected a duration like 30m, 2h or 1d`,
  );
}

/** `--expires 30d | 12h | 2027-01-01T00:00:00Z` → the RFC 3339 instant it names (`30d`: 30 days from now). */
export function parseExpiry(text: string, now: number, option = '--expires'): string {
  if (/^\d+[smhd]$/.test(text.trim())) return new Date(now + parseDuration(text, option)).toISOString();
  if (RFC3339.test(text.trim()) && !Number.isNaN(Date.parse(text)))
    return new Date(Date.parse(text)).toISOString();
  throw new CliError(
    ExitCode.Usage,
    `${option} "${text}" is not valid: expected a duration like 12h, 30d or an RFC 3339 instant like 2027-01-01T00:00:00Z`,
  );
}
