import { calendarDocument } from '@nono/coordination';
import { type Calendar, type NonoEvent } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTask, layout, putTask, type TestCluster, startClusterWithFacts } from '../support/cluster.js';
import { eventually, isolate } from '../support/fixtures.js';

/**
 * Exclusion calendars on a real scheduler: a task that references a calendar excluding today
 * is not called, each of its instants recorded as skipped (reason `calendar`); a change to the
 * calendar applies to the next claims without a restart, and the task fires again.
 */
describe('exclusion calendars', () => {
  let cluster: TestCluster;
  let facts: NonoEvent[];
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ cluster, facts, stop } = await startClusterWithFacts(await isolate('calendars'), ['c1']));
  });
  afterAll(() => stop?.());

  const calendar = (dates: string[], revision: number): Calendar => ({
    name: 'maintenance',
    description: 'test',
    timeZone: 'Pacific/Kiritimati',
    dates,
    ranges: [],
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    revision,
  });
  // The local date in the calendar's zone (UTC+14), today and the days either side: whatever
  // the time of day, every instant of the next minutes falls on an excluded date.
  const around = [-1, 0, 1].map((days) =>
    new Date(Date.now() + 14 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10),
  );

  it('skips every instant on an excluded date, and fires again once the calendar changes', async () => {
    const { zk, worker } = cluster;
    await zk.create(layout.calendar('maintenance'), calendarDocument.encode(calendar(around, 1)));
    await putTask(
      zk,
      buildTask('closed', {
        schedule: { kind: 'interval', everyMs: 1_000 },
        target: { url: `${worker.url}/ok/closed`, timeoutMs: 1_000 },
        calendars: ['maintenance'],
      }),
    );
    const skipped = () =>
      facts.filter(
        (e) =>
          e.type === 'nono.execution.skipped.v1' &&
          e.subject === 'closed' &&
          (e.data as { skipReason: string }).skipReason === 'calendar',
      );
    await eventually(async () => (skipped().length >= 4 ? true : undefined), 20_000, 'four calendar skips');
    expect((await worker.calls()).filter((c) => c.taskId === 'closed')).toEqual([]);
    expect((skipped()[0]?.data as { detail: string }).detail).toBe('excluded by calendar maintenance');
    expect(facts.filter((e) => e.type === 'nono.execution.fired.v1' && e.subject === 'closed')).toEqual([]);

    // The calendar emptied: the scheduler's watch applies it, and the next instants fire.
    const { stat } = await zk.get(layout.calendar('maintenance'));
    await zk.set(layout.calendar('maintenance'), calendarDocument.encode(calendar([], 2)), stat.version);
    await eventually(
      async () =>
        (await worker.calls()).filter((c) => c.taskId === 'closed').length >= 2 ? true : undefined,
      20_000,
      'calls once the calendar no longer excludes today',
    );
    // No instant is both skipped and fired.
    const skippedIds = new Set(skipped().map((e) => (e.data as { executionId: string }).executionId));
    const firedIds = facts
      .filter((e) => e.type === 'nono.execution.fired.v1' && e.subject === 'closed')
      .map((e) => (e.data as { executionId: string }).executionId);
    expect(firedIds.filter((id) => skippedIds.has(id))).toEqual([]);
  });
});
