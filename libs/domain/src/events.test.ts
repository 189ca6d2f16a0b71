import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, categoryOf, createEvent, executionEventId, parseEvent } from './events.js';

const fired = () =>
  createEvent(
    'nono.execution.fired.v1',
    {
      taskId: 'nightly-report',
      executionId: 'e-1',
      nominalTime: '2026-06-01T03:00:00.000Z',
      attempt: 1,
      schedulerId: 'sched-a',
      fencingToken: 42,
      reason: 'scheduled',
      firedAt: '2026-06-01T03:00:00.004Z',
      lateMs: 4,
      targetUrl: 'http://127.0.0.1:8080/jobs/report',
    },
    {
      id: 'evt-1',
      source: 'nono://scheduler/sched-a',
      subject: 'nightly-report',
      time: Date.parse('2026-06-01T03:00:00.004Z'),
    },
  );

describe('event contracts', () => {
  it('builds CloudEvents 1.0 envelopes that survive the wire', () => {
    const event = fired();
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'nono.execution.fired.v1',
      time: '2026-06-01T03:00:00.004Z',
      datacontenttype: 'application/json',
    });
    expect(parseEvent(JSON.parse(JSON.stringify(event)))).toEqual({ ok: true, value: event });
  });

  it('carries the group member an attempt went to, and reads facts written without one', () => {
    const member = { group: 'renderers', url: 'http://127.0.0.1:7761' };
    const withMember = { ...fired(), data: { ...fired().data, member } };
    expect(parseEvent(JSON.parse(JSON.stringify(withMember)))).toEqual({ ok: true, value: withMember });
    // A fact from before worker groups: no member field at all.
    expect(parseEvent(JSON.parse(JSON.stringify(fired()))).ok).toBe(true);
    const badMember = { ...fired(), data: { ...fired().data, member: { url: 'http://x' } } };
    expect(parseEvent(badMember)).toMatchObject({ ok: false, issues: [{ field: 'data.member.group' }] });
  });

  it('refuses to build an event that breaks its contract', () => {
    expect(() =>
      createEvent(
        'nono.scheduler.left.v1',
        { schedulerId: 's', reason: 'bored' as 'shutdown', detectedBy: 's' },
        { id: 'x', source: 's', subject: 's', time: 0 },
      ),
    ).toThrow(/contract breach.*data.reason/);
  });

  it.each([
    [
      'an unknown version',
      { ...fired(), type: 'nono.execution.fired.v9' },
      'type',
      /unknown event type or version/,
    ],
    ['no type', { id: 'x' }, 'type', /missing event type/],
    [
      'a missing fencing token',
      { ...fired(), data: { ...fired().data, fencingToken: undefined } },
      'data.fencingToken',
      /./,
    ],
    ['a bad reason', { ...fired(), data: { ...fired().data, reason: 'whim' } }, 'data.reason', /./],
    ['an extra envelope attribute', { ...fired(), extra: 1 }, 'extra', /unknown field/],
  ])('reports %s', (_name, input, field, message) => {
    const result = parseEvent(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.find((i) => i.field === field)?.message, JSON.stringify(result.issues)).toMatch(
      message,
    );
  });

  it('routes every type to a topic category', () => {
    expect(EVENT_TYPES.map(categoryOf)).not.toContain(undefined);
    expect(categoryOf('nono.task.paused.v1')).toBe('tasks');
    expect(categoryOf('nono.worker-group.updated.v1')).toBe('tasks');
    expect(categoryOf('nono.execution.lost.v1')).toBe('executions');
    expect(categoryOf('nono.ownership.changed.v1')).toBe('cluster');
  });

  it('derives the same event id for the same fact, so a republished event is recognisable', () => {
    expect(executionEventId('e-1', 'nono.execution.fired.v1', 1)).toBe(
      executionEventId('e-1', 'nono.execution.fired.v1', 1),
    );
    expect(executionEventId('e-1', 'nono.execution.fired.v1', 2)).not.toBe(
      executionEventId('e-1', 'nono.execution.fired.v1', 1),
    );
  });
});
