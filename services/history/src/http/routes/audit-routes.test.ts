import {
  type AlertRule,
  type NonoEvent,
  createEvent,
  formatInstant,
  parseAlertRuleSpec,
  uuidV5,
} from '@nono/domain';
import { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenDatabase } from '../../store/open-database.js';
import { taskFor } from '../../testing/event-stream.js';
import { openMemoryDatabase } from '../../testing/memory-store.js';
import { projectEvents } from '../../testing/project-events.js';
import { READ_HEADERS, queryApp } from '../../testing/query-app.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const ADMIN = { id: 'admin:0123456789ab', kind: 'token' } as const;

function ruleAt(revision: number, at: number, condition: Record<string, unknown>): AlertRule {
  const spec = parseAlertRuleSpec({ name: 'payments fail', scope: { kind: 'all' }, condition });
  if (!spec.ok) throw new TypeError(JSON.stringify(spec.issues));
  return {
    id: 'pay-fails',
    createdAt: formatInstant(T0),
    updatedAt: formatInstant(at),
    revision,
    ...spec.value,
  };
}

/** The facts the alerts service publishes on its topic: a rule's changes, and an alert's transitions between them. */
function alertsTopicFacts(): NonoEvent[] {
  const v1 = ruleAt(1, T0, { kind: 'failed' });
  const v2 = ruleAt(2, T0 + 2_000, { kind: 'consecutive-failures', count: 3 });
  const meta = (type: string, revision: number, at: number) => ({
    id: uuidV5(`audit|${type}|pay-fails|${v1.createdAt}|${revision}`),
    source: 'nono://alerts/test',
    subject: 'pay-fails',
    time: at,
  });
  return [
    createEvent(
      'nono.alert-rule.defined.v1',
      { ruleId: 'pay-fails', actor: ADMIN, revision: 1, after: v1 },
      meta('nono.alert-rule.defined.v1', 1, T0),
    ),
    createEvent(
      'nono.alert.opened.v1',
      {
        alertId: uuidV5('alert|pay-fails|pay|x'),
        ruleId: 'pay-fails',
        ruleRevision: 1,
        taskId: 'pay',
        condition: 'failed',
        summary: 'pay failed',
        openedAt: formatInstant(T0 + 1_000),
      },
      { id: uuidV5('alert-event|opened'), source: 'nono://alerts/test', subject: 'x', time: T0 + 1_000 },
    ),
    createEvent(
      'nono.alert-rule.updated.v1',
      { ruleId: 'pay-fails', actor: ADMIN, revision: 2, before: v1, after: v2 },
      meta('nono.alert-rule.updated.v1', 2, T0 + 2_000),
    ),
    createEvent(
      'nono.alert-rule.deleted.v1',
      { ruleId: 'pay-fails', actor: ADMIN, revision: 2, before: v2 },
      meta('nono.alert-rule.deleted.v1', 2, T0 + 4_000),
    ),
  ];
}

/** Task changes between the rule's: the audit must interleave both by time. */
function taskChanges(): NonoEvent[] {
  return [T0 - 1_000, T0 + 1_500, T0 + 3_000].map((at, i) =>
    createEvent(
      'nono.task.defined.v1',
      {
        taskId: `task-${i}`,
        actor: { id: 'alice', kind: 'user' },
        revision: 1,
        after: taskFor(`task-${i}`, at),
      },
      { id: uuidV5(`defined|task-${i}`), source: 'nono://api/test', subject: `task-${i}`, time: at },
    ),
  );
}

interface AuditItem {
  readonly subject: string;
  readonly taskId: string | null;
  readonly ruleId: string | null;
  readonly type: string;
  readonly actorId: string;
  readonly revision: number;
  readonly at: string;
  readonly before: { condition?: { kind: string } } | null;
  readonly after: { condition?: { kind: string } } | null;
}

let open: OpenDatabase;
let app: FastifyInstance;
const get = (url: string) => app.inject({ url, headers: READ_HEADERS });
const items = async (url: string): Promise<AuditItem[]> =>
  (await get(url)).json<{ items: AuditItem[] }>().items;

beforeAll(async () => {
  open = openMemoryDatabase();
  projectEvents(open.db, [...taskChanges(), ...alertsTopicFacts()]);
  app = await queryApp(open.db);
});
afterAll(async () => {
  await app.close();
  open.close();
});

describe('GET /audit with alert rule changes', () => {
  it('lists task and alert rule changes together, newest first, with who, when, what and the rule before and after', async () => {
    const all = await items('/audit');
    expect(all.map((item) => [item.subject, item.taskId ?? item.ruleId, item.type])).toEqual([
      ['alert-rule', 'pay-fails', 'nono.alert-rule.deleted.v1'],
      ['task', 'task-2', 'nono.task.defined.v1'],
      ['alert-rule', 'pay-fails', 'nono.alert-rule.updated.v1'],
      ['task', 'task-1', 'nono.task.defined.v1'],
      ['alert-rule', 'pay-fails', 'nono.alert-rule.defined.v1'],
      ['task', 'task-0', 'nono.task.defined.v1'],
    ]);
    const updated = all[2];
    expect(updated).toMatchObject({
      actorId: ADMIN.id,
      revision: 2,
      at: formatInstant(T0 + 2_000),
      taskId: null,
      before: { condition: { kind: 'failed' } },
      after: { condition: { kind: 'consecutive-failures' } },
    });
  });

  it('pages through both kinds with one cursor, without repeats or gaps', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await get(`/audit?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
      const body = response.json<{ items: AuditItem[]; nextCursor: string | null }>();
      seen.push(...body.items.map((item) => `${item.type}@${item.at}`));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual((await items('/audit')).map((item) => `${item.type}@${item.at}`));
  });

  it.each([
    ['/audit?subject=alert-rule', 3, 'alert-rule'],
    ['/audit?ruleId=pay-fails', 3, 'alert-rule'],
    ['/audit?subject=task', 3, 'task'],
    ['/audit?taskId=task-1', 1, 'task'],
    [`/audit?actor=${encodeURIComponent(ADMIN.id)}`, 3, 'alert-rule'],
  ])('%s lists %i entries, each with subject %s', async (url, count, subject) => {
    const listed = await items(url);
    expect(listed).toHaveLength(count);
    for (const item of listed) expect(item.subject).toBe(subject);
  });

  it.each([
    ['/audit?taskId=task-1&ruleId=pay-fails', 'ruleId'],
    ['/audit?taskId=task-1&subject=alert-rule', 'subject'],
    ['/audit?ruleId=pay-fails&subject=task', 'subject'],
  ])('%s is a 422 naming %s: no entry is about both', async (url, field) => {
    const response = await get(url);
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'NONO_HISTORY_IMPOSSIBLE_QUERY', errors: [{ field }] });
  });

  it('keeps nothing of alert transitions: not even their ids among the processed events', () => {
    const processed = open.sqlite.prepare<[], number>('select count(*) from processed_events').pluck().get();
    expect(processed).toBe(6);
  });
});
