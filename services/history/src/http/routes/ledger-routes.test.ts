import {
  type NonoEvent,
  ManualClock,
  createEvent,
  formatInstant,
  manualExecutionId,
  scheduledExecutionId,
  uuidV5,
} from '@nono/domain';
import { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenDatabase } from '../../store/open-database.js';
import { executionMeta, taskFor } from '../../testing/event-stream.js';
import { openMemoryDatabase } from '../../testing/memory-store.js';
import { projectEvents } from '../../testing/project-events.js';
import { READ_HEADERS, queryApp } from '../../testing/query-app.js';
import { DEFAULT_LEDGER } from '../http-app.js';

const reader = READ_HEADERS;

/**
 * The ledger over HTTP, from events projected by the real projector: a task every minute,
 * five instants of which one never fired, one fired by two schedulers (the second `fired`
 * has the same derived event id, so only the owner actions table can see it), and a manual run.
 */
const T0 = Date.parse('2026-11-20T00:00:00Z');
const MIN = 60_000;
const TASK = 'ledger-task';
const LIMITED = 'ledger-max-runs';
let open: OpenDatabase;
let app: FastifyInstance;

function fire(
  nominal: number,
  schedulerId: string,
  fencingToken: number,
  executionId?: string,
  taskId = TASK,
): NonoEvent[] {
  const ref = {
    taskId,
    executionId: executionId ?? scheduledExecutionId(taskId, nominal),
    nominalTime: formatInstant(nominal),
    schedulerId,
    fencingToken,
    reason: executionId === undefined ? ('scheduled' as const) : ('manual' as const),
  };
  return [
    createEvent(
      'nono.execution.fired.v1',
      {
        ...ref,
        attempt: 1,
        firedAt: formatInstant(nominal + 2),
        lateMs: 2,
        targetUrl: 'http://127.0.0.1:9/',
      },
      executionMeta('nono.execution.fired.v1', ref, 1, nominal + 2),
    ),
    createEvent(
      'nono.execution.succeeded.v1',
      { ...ref, attempt: 1, finishedAt: formatInstant(nominal + 50), durationMs: 48, httpStatus: 200 },
      executionMeta('nono.execution.succeeded.v1', ref, 1, nominal + 50),
    ),
  ];
}

beforeAll(async () => {
  open = openMemoryDatabase();
  const task = taskFor(TASK, T0 - 10 * MIN);
  const manual = manualExecutionId(TASK, 'req-1');
  const events: NonoEvent[] = [
    createEvent(
      'nono.task.defined.v1',
      { taskId: TASK, actor: { id: 'alice', kind: 'user' }, revision: 1, after: task },
      { id: uuidV5(`defined|${TASK}`), source: 'nono://api', subject: TASK, time: T0 - 10 * MIN },
    ),
    createEvent(
      'nono.task.triggered.v1',
      { taskId: TASK, actor: { id: 'bob', kind: 'user' }, triggerRequestId: 'req-1', executionId: manual },
      { id: uuidV5(`triggered|${TASK}`), source: 'nono://api', subject: TASK, time: T0 + 90_000 },
    ),
    ...fire(T0, 's1', 10),
    ...fire(T0 + MIN, 's1', 11),
    // T0 + 2 min: nothing at all.
    ...fire(T0 + 3 * MIN, 's1', 13),
    ...fire(T0 + 3 * MIN, 's2', 14),
    ...fire(T0 + 4 * MIN, 's2', 15),
    ...fire(T0 + 90_100, 's2', 12, manual),
    // A task allowed 3 runs: two before the window, the last at T0.
    createEvent(
      'nono.task.defined.v1',
      {
        taskId: LIMITED,
        actor: { id: 'alice', kind: 'user' },
        revision: 1,
        after: { ...taskFor(LIMITED, T0 - 10 * MIN), maxRuns: 3 },
      },
      { id: uuidV5(`defined|${LIMITED}`), source: 'nono://api', subject: LIMITED, time: T0 - 10 * MIN },
    ),
    ...[T0 - 2 * MIN, T0 - MIN, T0].flatMap((nominal, n) => fire(nominal, 's1', n + 1, undefined, LIMITED)),
  ];
  projectEvents(open.db, events);
  app = await queryApp(open.db, { ledger: { ...DEFAULT_LEDGER, clock: new ManualClock(T0 + 10 * MIN) } });
});

afterAll(async () => {
  await app.close();
  open.close();
});

interface LedgerBody {
  summary: Record<string, unknown>;
  entries: { nominalTime: string; kind: string; outcome: string; flags: string[]; actions: unknown[] }[];
}

describe('GET /tasks/:id/ledger', () => {
  it('lists every due instant and the manual run, flags the one unaccounted and the one doubled', async () => {
    const response = await app.inject({
      url: `/tasks/${TASK}/ledger?from=${formatInstant(T0)}&to=${formatInstant(T0 + 5 * MIN)}`,
      headers: reader,
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<LedgerBody>();
    expect(body.entries.map((e) => [e.nominalTime.slice(11, 19), e.kind, e.outcome, e.flags])).toEqual([
      ['00:00:00', 'scheduled', 'succeeded', []],
      ['00:01:00', 'scheduled', 'succeeded', []],
      ['00:01:30', 'manual', 'succeeded', []],
      ['00:02:00', 'scheduled', 'unaccounted', ['unaccounted']],
      ['00:03:00', 'scheduled', 'succeeded', ['doubled']],
      ['00:04:00', 'scheduled', 'succeeded', []],
    ]);
    expect(body.entries[4]?.actions).toHaveLength(2);
    expect(body.summary).toMatchObject({
      due: 5,
      fired: 5,
      succeeded: 5,
      manual: 1,
      unaccounted: 1,
      doubled: 1,
    });
  });

  it('lists no instant after the last run a maxRuns task allows, counting the runs before the window', async () => {
    const response = await app.inject({
      url: `/tasks/${LIMITED}/ledger?from=${formatInstant(T0)}&to=${formatInstant(T0 + 5 * MIN)}`,
      headers: reader,
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<LedgerBody>();
    expect(body.entries.map((e) => [e.nominalTime.slice(11, 19), e.outcome])).toEqual([
      ['00:00:00', 'succeeded'],
    ]);
    expect(body.summary).toMatchObject({ due: 1, unaccounted: 0 });
  });

  it.each([
    ['from is missing', `to=${formatInstant(T0)}`, 'from', 400],
    ['to is malformed', `from=${formatInstant(T0)}&to=yesterday`, 'to', 400],
    ['to has no month 13', `from=${formatInstant(T0)}&to=2026-13-45T00:00:00Z`, 'to', 400],
    [
      'a parameter is unknown',
      `from=${formatInstant(T0)}&to=${formatInstant(T0 + MIN)}&limit=5`,
      'limit',
      400,
    ],
    ['to is an impossible date', `from=${formatInstant(T0)}&to=2026-02-30T00:00:00Z`, 'to', 422],
    ['to is not after from', `from=${formatInstant(T0)}&to=${formatInstant(T0)}`, 'to', 422],
    [
      'the window is longer than 7 days',
      `from=${formatInstant(T0)}&to=${formatInstant(T0 + 8 * 86_400_000)}`,
      'to',
      422,
    ],
  ])('answers problem+json naming the parameter when %s (%i)', async (_what, query, field, status) => {
    const response = await app.inject({ url: `/tasks/${TASK}/ledger?${query}`, headers: reader });
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = response.json<{ code: string; errors: { field: string }[] }>();
    expect(body.code).toBe(status === 400 ? 'NONO_HISTORY_INVALID_QUERY' : 'NONO_HISTORY_IMPOSSIBLE_QUERY');
    expect(body.errors.map((e) => e.field)).toContain(field);
  });

  it('lists the longest window allowed (7 days of a task every minute: 10,080 instants)', async () => {
    // More instants than the limit (a 100 ms task) is refused: buildLedger's tests.
    const ok = await app.inject({
      url: `/tasks/${TASK}/ledger?from=${formatInstant(T0)}&to=${formatInstant(T0 + 7 * 86_400_000)}`,
      headers: reader,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json<LedgerBody>().summary).toMatchObject({ due: 10_080 });
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(doc.paths)).toContain('/tasks/{id}/ledger');
  });
});
