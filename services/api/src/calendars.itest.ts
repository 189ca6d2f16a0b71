import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, auth, sampleTask, startHarness } from './testing/harness.js';

describe('exclusion calendars over real ZooKeeper', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-calendars');
  });
  afterAll(async () => {
    await h?.close();
  });

  const put = (name: string, payload: unknown, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'PUT',
      url: `/api/v1/calendars/${name}`,
      headers: { ...auth('admin'), ...headers },
      payload: payload as object,
    });

  it('creates, reads, replaces with If-Match and deletes a calendar; refuses to delete one a task uses', async () => {
    const created = await put('fr-holidays', { timeZone: 'Europe/Paris', dates: ['2026-12-25'] });
    expect(created.statusCode).toBe(201);
    expect(created.headers.etag).toBe('"1"');
    expect(created.json()).toMatchObject({
      name: 'fr-holidays',
      revision: 1,
      dates: ['2026-12-25'],
      ranges: [],
    });

    const replaced = await put(
      'fr-holidays',
      { timeZone: 'Europe/Paris', dates: ['2026-12-25'], ranges: [{ from: '2026-08-01', to: '2026-08-15' }] },
      { 'if-match': '"1"' },
    );
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({ revision: 2 });
    const stale = await put('fr-holidays', { timeZone: 'UTC' }, { 'if-match': '"1"' });
    expect(stale.statusCode).toBe(412);

    const list = await h.app.inject({ method: 'GET', url: '/api/v1/calendars', headers: auth('viewer') });
    expect(list.json()).toMatchObject({ items: [{ name: 'fr-holidays', revision: 2 }] });

    // A task may reference it; one that names a calendar that does not exist is refused.
    const unknown = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: sampleTask('cal-task', { calendars: ['fr-holidays', 'nope'] }),
    });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json()).toMatchObject({ errors: [{ field: 'calendars[1]' }] });
    const task = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: sampleTask('cal-task', { calendars: ['fr-holidays'] }),
    });
    expect(task.statusCode).toBe(201);

    const inUse = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/calendars/fr-holidays',
      headers: auth('admin'),
    });
    expect(inUse.statusCode).toBe(409);
    expect(inUse.json()).toMatchObject({ code: 'NONO_CALENDAR_IN_USE' });
    expect(JSON.stringify(inUse.json())).toContain('cal-task');

    expect(
      (await h.app.inject({ method: 'DELETE', url: '/api/v1/tasks/cal-task', headers: auth('admin') }))
        .statusCode,
    ).toBe(204);
    const deleted = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/calendars/fr-holidays',
      headers: auth('admin'),
    });
    expect(deleted.statusCode).toBe(204);
    const gone = await h.app.inject({
      method: 'GET',
      url: '/api/v1/calendars/fr-holidays',
      headers: auth('viewer'),
    });
    expect(gone.statusCode).toBe(404);
  });

  it('names each bad field, and only admins change calendars', async () => {
    const bad = await put('bad', {
      timeZone: 'Mars/Olympus',
      dates: ['2026-02-30'],
      ranges: [{ from: '2026-12-31', to: '2026-12-01' }],
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(bad.json<{ errors: Array<{ field: string }> }>().errors.map((e) => e.field)).toEqual([
      'timeZone',
      'dates[0]',
      'ranges[0].to',
    ]);
    const shape = await put('bad', { timeZone: 'UTC', dates: '2026-12-25' });
    expect(shape.statusCode).toBe(422);
    const viewer = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/calendars/mine',
      headers: auth('viewer'),
      payload: { timeZone: 'UTC' },
    });
    expect(viewer.statusCode).toBe(403);
    const badName = await put('Not_A_Name', { timeZone: 'UTC' });
    expect(badName.statusCode).toBe(400);
  });
});
