import { describe, expect, it } from 'vitest';
import { type Schedule, parseSchedule } from './schedule.js';
import { diffSchedules } from './schedule-diff.js';
import { type TaskTiming } from './task.js';

const schedule = (raw: unknown): Schedule => {
  const parsed = parseSchedule(raw);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
};
const cron = (expression: string, timeZone = 'UTC'): TaskTiming => ({
  id: 'diffed',
  schedule: schedule({ kind: 'cron', expression, timeZone }),
});
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('diffSchedules', () => {
  it('lists the instants a change adds and removes, and counts those it keeps', () => {
    // Every 15 minutes → every 20 minutes, over one hour: :00 kept; :15, :30, :45 removed; :20, :40 added.
    const diff = diffSchedules(
      cron('*/15 * * * *'),
      cron('*/20 * * * *'),
      at('2026-06-01T09:59:59Z'),
      at('2026-06-01T10:59:59Z'),
    );
    expect(diff.kept).toBe(1);
    expect(diff.removed.first.map(iso)).toEqual([
      '2026-06-01T10:15:00.000Z',
      '2026-06-01T10:30:00.000Z',
      '2026-06-01T10:45:00.000Z',
    ]);
    expect(diff.added.first.map(iso)).toEqual(['2026-06-01T10:20:00.000Z', '2026-06-01T10:40:00.000Z']);
    expect(diff.checkedUntil).toBe(diff.until);
  });

  it('sees what a time-zone change does on a DST day', () => {
    // 02:30 daily, UTC → Paris, over 2026-03-28..30: Paris has no 02:30 on 03-29 (shifted past the gap).
    const diff = diffSchedules(
      cron('30 2 * * *'),
      cron('30 2 * * *', 'Europe/Paris'),
      at('2026-03-28T00:00:00Z'),
      at('2026-03-30T23:59:59Z'),
    );
    expect(diff.removed.count).toBe(3);
    expect(diff.added.count).toBe(3);
    expect(diff.added.first.map(iso)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('takes the bounds into account: an end date removes what follows it', () => {
    const before = cron('0 * * * *');
    const after: TaskTiming = { ...before, endAt: '2026-06-01T12:00:00Z' };
    const diff = diffSchedules(before, after, at('2026-06-01T10:30:00Z'), at('2026-06-01T15:30:00Z'));
    expect(diff.kept).toBe(2);
    expect(diff.removed.first.map(iso)).toEqual([
      '2026-06-01T13:00:00.000Z',
      '2026-06-01T14:00:00.000Z',
      '2026-06-01T15:00:00.000Z',
    ]);
    expect(diff.added.count).toBe(0);
  });

  it('stops at the bound on instants and says how far it compared', () => {
    const diff = diffSchedules(
      cron('* * * * * *'),
      cron('*/2 * * * * *'),
      at('2026-06-01T00:00:00Z'),
      at('2026-06-08T00:00:00Z'),
      {
        maxInstants: 1_000,
        listLimit: 3,
      },
    );
    expect(diff.checkedUntil).toBeLessThan(diff.until);
    // Up to where it stopped, every odd second is removed and every even one kept.
    const instants = Math.floor((diff.checkedUntil - diff.from) / 1000);
    expect(diff.removed.count).toBe(Math.ceil(instants / 2));
    expect(diff.kept).toBe(Math.floor(instants / 2));
    expect(diff.added.count).toBe(0);
    expect(diff.removed.first).toHaveLength(3);
  });
});
