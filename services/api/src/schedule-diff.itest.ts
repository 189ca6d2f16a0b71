import { ManualClock } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, auth, sampleTask, startHarness } from './testing/harness.js';

describe('schedule diff over real ZooKeeper', () => {
  let h: Harness;
  // A Monday in June, away from any transition; the window is the next 7 days.
  const clock = new ManualClock('2026-06-01T00:00:00Z');
  beforeAll(async () => {
    h = await startHarness('api-schedule-diff', { clock });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('shows the instants a proposed schedule adds and removes, and saves nothing', async () => {
    const daily = { kind: 'cron', expression: '0 9 * * *', timeZone: 'Europe/Paris' };
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: sampleTask('diff-1', { schedule: daily }),
    });
    expect(created.statusCode).toBe(201);

    // Weekdays only: the Saturday and the Sunday of the week go, nothing comes.
    const weekdays = { ...daily, expression: '0 9 * * 1-5' };
    const diff = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks/diff-1/schedule-diff?days=7',
      headers: auth('viewer'),
      payload: sampleTask('diff-1', { schedule: weekdays }),
    });
    expect(diff.statusCode).toBe(200);
    expect(diff.json()).toMatchObject({
      taskId: 'diff-1',
      timeZone: 'Europe/Paris',
      complete: true,
      kept: 5,
      added: { count: 0, first: [] },
      removed: {
        count: 2,
        first: [
          { utc: '2026-06-06T07:00:00.000Z', local: '2026-06-06T09:00:00.000+02:00' },
          { utc: '2026-06-07T07:00:00.000Z', local: '2026-06-07T09:00:00.000+02:00' },
        ],
      },
    });

    const stored = await h.app.inject({
      method: 'GET',
      url: '/api/v1/tasks/diff-1',
      headers: auth('viewer'),
    });
    expect(stored.json()).toMatchObject({ revision: 1, schedule: daily });
  });

  it('names the field of a bad proposal and answers 404 for an unknown task', async () => {
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks/diff-1/schedule-diff',
      headers: auth('viewer'),
      payload: sampleTask('diff-1', {
        schedule: { kind: 'cron', expression: '61 * * * *', timeZone: 'UTC' },
      }),
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(JSON.stringify(bad.json())).toContain('schedule');

    const tooLong = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks/diff-1/schedule-diff?days=400',
      headers: auth('viewer'),
      payload: sampleTask('diff-1'),
    });
    expect(tooLong.statusCode).toBe(400);
    expect(JSON.stringify(tooLong.json())).toContain('days');

    const unknown = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks/nope/schedule-diff',
      headers: auth('viewer'),
      payload: sampleTask('nope'),
    });
    expect(unknown.statusCode).toBe(404);
  });
});
