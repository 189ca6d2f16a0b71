import { describe, expect, it } from 'vitest';
import {
  createTask,
  nextTaskFireTime,
  parseStoredTask,
  parseTaskSpec,
  reviseTask,
  taskSpecOf,
} from './task.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const minimal = {
  name: 'nightly report',
  schedule: { kind: 'cron', expression: '0 3 * * *', timeZone: 'Europe/Paris' },
  target: { url: 'http://127.0.0.1:8080/jobs/report' },
};

describe('parseTaskSpec', () => {
  it('applies the documented defaults', () => {
    const result = parseTaskSpec(minimal, NOW);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({
      description: '',
      paused: false,
      overlap: 'skip',
      rerunLost: false,
      labels: {},
      target: { method: 'POST', headers: {}, timeoutMs: 30_000, success: {} },
      retry: { maxAttempts: 1, initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2 },
      misfire: { policy: 'fire-once', catchUpWindowMs: 3_600_000, maxCatchUp: 100 },
    });
  });

  it('does not modify its input', () => {
    const input = structuredClone(minimal);
    parseTaskSpec(input, NOW);
    expect(input).toEqual(minimal);
  });

  it.each([
    ['no name', { ...minimal, name: undefined }, 'name'],
    ['an empty name', { ...minimal, name: '' }, 'name'],
    ['a relative URL', { ...minimal, target: { url: '/jobs' } }, 'target.url'],
    ['a file URL', { ...minimal, target: { url: 'file:///etc/passwd' } }, 'target.url'],
    ['an unknown method', { ...minimal, target: { ...minimal.target, method: 'TRACE' } }, 'target.method'],
    ['a timeout of 0', { ...minimal, target: { ...minimal.target, timeoutMs: 0 } }, 'target.timeoutMs'],
    [
      'a status code out of range',
      { ...minimal, target: { ...minimal.target, success: { statusCodes: [700] } } },
      'target.success.statusCodes[0]',
    ],
    [
      'a broken body pattern',
      { ...minimal, target: { ...minimal.target, success: { bodyPattern: '(' } } },
      'target.success.bodyPattern',
    ],
    [
      'a header name with a space',
      { ...minimal, target: { ...minimal.target, headers: { 'x y': '1' } } },
      'target.headers.x y',
    ],
    ['zero attempts', { ...minimal, retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
    [
      'a backoff cap below the start',
      { ...minimal, retry: { initialBackoffMs: 5000, maxBackoffMs: 10 } },
      'retry.maxBackoffMs',
    ],
    ['an unknown misfire policy', { ...minimal, misfire: { policy: 'later' } }, 'misfire.policy'],
    ['an unknown overlap policy', { ...minimal, overlap: 'queue' }, 'overlap'],
    [
      'an end before the start',
      { ...minimal, startAt: '2026-07-01T00:00:00Z', endAt: '2026-06-15T00:00:00Z' },
      'endAt',
    ],
    ['an end in the past', { ...minimal, endAt: '2026-05-01T00:00:00Z' }, 'endAt'],
    ['a start that is not an instant', { ...minimal, startAt: 'soon' }, 'startAt'],
    [
      'a one-shot in the past',
      { ...minimal, schedule: { kind: 'once', at: '2026-06-01T11:59:59Z' } },
      'schedule.at',
    ],
    ['a pause note while not paused', { ...minimal, pausedNote: 'why' }, 'pausedNote'],
    ['an unknown top-level field', { ...minimal, cron: '* * * * *' }, 'cron'],
    [
      'a bad cron among other errors',
      { ...minimal, schedule: { kind: 'cron', expression: 'nope' } },
      'schedule.expression',
    ],
    ['a label key with spaces', { ...minimal, labels: { 'a b': 'c' } }, 'labels.a b'],
    [
      'a jitter as long as the spacing of a per-second cron (fires would run out of order)',
      { ...minimal, schedule: { kind: 'cron', expression: '* * * * * *', jitterMs: 5000 } },
      'schedule.jitterMs',
    ],
    [
      'a jitter as long as the spacing of 0,50 * * * *',
      { ...minimal, schedule: { kind: 'cron', expression: '0,50 * * * *', jitterMs: 600_000 } },
      'schedule.jitterMs',
    ],
    [
      'a jitter as long as an interval',
      { ...minimal, schedule: { kind: 'interval', everyMs: 1000, jitterMs: 1000 } },
      'schedule.jitterMs',
    ],
  ])('rejects %s, naming %s', (_name, input, field) => {
    const result = parseTaskSpec(input, NOW);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(
      result.issues.map((i) => i.field),
      JSON.stringify(result.issues),
    ).toContain(field);
  });

  it.each([
    ['* * * * * *', 999],
    ['0,50 * * * *', 599_999],
    ['*/15 * * * *', 899_999],
    ['0 3 * * *', 3_600_000],
  ])('accepts %s with a jitter of %i ms, smaller than its spacing', (expression, jitterMs) => {
    expect(parseTaskSpec({ ...minimal, schedule: { kind: 'cron', expression, jitterMs } }, NOW).ok).toBe(
      true,
    );
  });

  it('reports every bad field at once', () => {
    const result = parseTaskSpec(
      { schedule: { kind: 'interval', everyMs: 0 }, target: { url: 'ftp://x' } },
      NOW,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.field)).toEqual(expect.arrayContaining(['schedule.everyMs', 'name']));
  });

  it.each([null, [], 'task', 42])('rejects a non-object (%s)', (input) => {
    expect(parseTaskSpec(input, NOW)).toMatchObject({ ok: false, issues: [{ field: '' }] });
  });
});

describe('task lifecycle', () => {
  const spec = (() => {
    const result = parseTaskSpec(minimal, NOW);
    if (!result.ok) throw new Error('fixture');
    return result.value;
  })();

  it('creates at revision 1 and revises forward, keeping identity', () => {
    const task = createTask('nightly-report', spec, NOW);
    expect(task).toMatchObject({ id: 'nightly-report', revision: 1, createdAt: '2026-06-01T12:00:00.000Z' });
    const revised = reviseTask(task, { ...spec, name: 'renamed' }, NOW + 1000);
    expect(revised).toMatchObject({
      id: 'nightly-report',
      revision: 2,
      name: 'renamed',
      createdAt: task.createdAt,
      updatedAt: '2026-06-01T12:00:01.000Z',
    });
    expect(taskSpecOf(revised)).toEqual({ ...spec, name: 'renamed' });
    expect(parseStoredTask(JSON.parse(JSON.stringify(revised)))).toEqual({ ok: true, value: revised });
  });

  it.each(['Upper', '-lead', 'trail-', 'a b', '', 'x'.repeat(129)])('refuses the id %j', (id) => {
    expect(() => createTask(id, spec, NOW)).toThrow(/id: must be/);
  });

  it('reports stored JSON that is not a task', () => {
    expect(parseStoredTask({ id: 'x' })).toMatchObject({ ok: false });
  });

  it('respects start and end bounds', () => {
    const task = createTask(
      'bounded',
      {
        ...spec,
        schedule: { kind: 'interval', everyMs: 60_000, jitterMs: 0 },
        startAt: '2026-06-02T00:00:00Z',
        endAt: '2026-06-02T00:02:00Z',
      },
      NOW,
    );
    expect(nextTaskFireTime(task, NOW)).toBe(Date.parse('2026-06-02T00:00:00Z'));
    expect(nextTaskFireTime(task, Date.parse('2026-06-02T00:01:00Z'))).toBe(
      Date.parse('2026-06-02T00:02:00Z'),
    );
    expect(nextTaskFireTime(task, Date.parse('2026-06-02T00:02:00Z'))).toBeUndefined();
  });
});
