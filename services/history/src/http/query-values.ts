import { type FieldIssue, parseInstant } from '@nono/domain';
import { type FastifyRequest } from 'fastify';
import { impossibleQuery } from './problem.js';

/**
 * Checks the schema cannot express: a well-formed but impossible date (2026-13-45),
 * a range that ends before it starts. Returns epoch ms bounds.
 */
export function parseRange(query: { from?: string; to?: string }): { from?: number; to?: number } {
  const issues: FieldIssue[] = [];
  const from = query.from === undefined ? undefined : parseInstant(query.from);
  const to = query.to === undefined ? undefined : parseInstant(query.to);
  if (query.from !== undefined && from === undefined)
    issues.push({ field: 'from', message: 'not a valid RFC 3339 instant' });
  if (query.to !== undefined && to === undefined)
    issues.push({ field: 'to', message: 'not a valid RFC 3339 instant' });
  if (from !== undefined && to !== undefined && to < from)
    issues.push({ field: 'to', message: 'must not be before from' });
  if (issues.length > 0) throw impossibleQuery(issues);
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}

export function parseDay(day: string): string {
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day)
    throw impossibleQuery([{ field: 'day', message: 'not a valid calendar day (YYYY-MM-DD)' }]);
  return day;
}

export function wantsCsv(request: FastifyRequest, format: 'json' | 'csv' | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  return /\btext\/csv\b/.test(request.headers.accept ?? '');
}

/** Drops undefined members: the query filters are exactOptionalPropertyTypes objects. */
export function defined<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
