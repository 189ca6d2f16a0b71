import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, runNono, startApiProcess } from '../support/api.js';
import { HISTORY_READ_TOKEN, startHistoryProcess } from '../support/cluster.js';
import { createIsolatedTopics, eventually, isolate } from '../support/fixtures.js';

const ADMIN = 'calendar-audit-admin';

interface AuditEntry {
  subject: string;
  type: string;
  calendar: string | null;
  taskId: string | null;
  actorId: string;
  actorKind: string;
  revision: number;
  before: { revision: number; dates: string[] } | null;
  after: { revision: number; dates: string[] } | null;
}

/**
 * Calendar changes are audited like task changes, on real processes (API, ZooKeeper, Kafka,
 * history): creating, replacing and deleting a calendar through the API publishes audit facts
 * (through the outbox) that history projects into `GET /audit`, filterable by subject and
 * calendar, and that `nono audit` prints.
 */
describe('calendar audit', () => {
  let api: ApiProcess;
  let history: Awaited<ReturnType<typeof startHistoryProcess>>;

  beforeAll(async () => {
    const iso = await isolate('calendar-audit');
    await createIsolatedTopics(iso);
    history = await startHistoryProcess(iso);
    api = await startApiProcess(
      iso,
      { admin: ADMIN },
      { NONO_HISTORY_URL: history.url, NONO_HISTORY_READ_TOKEN: HISTORY_READ_TOKEN },
    );
  });
  afterAll(async () => {
    await api?.kill();
    await history?.kill();
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${api.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };

  it('records who created, replaced and deleted a calendar, and shows it in GET /audit and nono audit', async () => {
    const spec = { timeZone: 'Europe/Paris', dates: ['2026-12-25'] };
    expect((await call('PUT', '/calendars/holidays', spec)).status).toBe(201);
    expect(
      (
        await call(
          'PUT',
          '/calendars/holidays',
          { ...spec, dates: ['2026-12-25', '2027-01-01'] },
          { 'if-match': '"1"' },
        )
      ).status,
    ).toBe(200);
    expect((await call('DELETE', '/calendars/holidays', undefined, { 'if-match': '"2"' })).status).toBe(204);
    // A task change too, to show the filters keep the kinds apart.
    expect(
      (
        await call('POST', '/tasks', {
          id: 'audited-task',
          name: 'audited',
          schedule: { kind: 'interval', everyMs: 3_600_000 },
          target: { url: 'http://127.0.0.1:7599/ok' },
        })
      ).status,
    ).toBe(201);

    const entries = await eventually(
      async () => {
        const { body } = await call('GET', '/audit?subject=calendar');
        const items = (body as { items: AuditEntry[] }).items;
        return items.length === 3 ? items : undefined;
      },
      30_000,
      'three calendar entries in history',
    );
    expect(entries.map((e) => [e.type, e.revision])).toEqual([
      ['nono.calendar.deleted.v1', 2],
      ['nono.calendar.updated.v1', 2],
      ['nono.calendar.defined.v1', 1],
    ]);
    for (const entry of entries) {
      expect(entry).toMatchObject({
        subject: 'calendar',
        calendar: 'holidays',
        taskId: null,
        actorKind: 'token',
      });
      expect(entry.actorId).toMatch(/^admin:/);
    }
    expect(entries[1]?.before?.dates).toEqual(['2026-12-25']);
    expect(entries[1]?.after?.dates).toEqual(['2026-12-25', '2027-01-01']);
    expect(entries[0]?.after).toBeNull();

    const byName = (await call('GET', '/audit?calendar=holidays')).body as { items: AuditEntry[] };
    expect(byName.items).toHaveLength(3);
    const all = await eventually(
      async () => {
        const items = ((await call('GET', '/audit')).body as { items: AuditEntry[] }).items;
        return items.some((e) => e.subject === 'task') ? items : undefined;
      },
      30_000,
      'the task entry',
    );
    expect(new Set(all.map((e) => e.subject))).toEqual(new Set(['task', 'calendar']));
    expect((await call('GET', '/audit?calendar=holidays&taskId=audited-task')).status).toBe(422);

    const cli = await runNono(api.url, ADMIN, ['audit', '--calendar', 'holidays']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout.match(/calendar:holidays/g)).toHaveLength(3);
    expect(cli.stdout).toContain('calendar.deleted');
    const bySubject = await runNono(api.url, ADMIN, ['audit', '--subject', 'calendar', '--json']);
    expect((JSON.parse(bySubject.stdout) as AuditEntry[]).every((e) => e.subject === 'calendar')).toBe(true);
  });
});
