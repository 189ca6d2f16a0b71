import { type NonoEvent, type Result, createEvent, fail, parseEvent, uuidV5 } from '@nono/domain';
import { describe, expect, it } from 'vitest';
import { completeCheckedTypes, decodeEvent, encodeEvent } from './kafka.js';

/** decodeEvent as it was before its fast path: every value through parseEvent (copy, defaults, check). */
function decodeByParsing(value: Buffer | null): Result<NonoEvent> {
  if (value === null) return fail([{ field: '', message: 'record has no value (tombstone)' }]);
  try {
    return parseEvent(JSON.parse(value.toString('utf8')));
  } catch (error) {
    return fail([{ field: '', message: `not JSON: ${(error as Error).message}` }]);
  }
}

const fired = (n: number): NonoEvent =>
  createEvent(
    'nono.execution.fired.v1',
    {
      taskId: `task-${n}`,
      executionId: uuidV5(`e|${n}`),
      nominalTime: '2026-12-01T10:00:00.000Z',
      attempt: 1,
      schedulerId: 's1',
      fencingToken: n,
      reason: 'scheduled',
      firedAt: '2026-12-01T10:00:00.010Z',
      lateMs: 10,
      targetUrl: 'http://127.0.0.1:9/run',
    },
    { id: uuidV5(`f|${n}`), source: 'nono://scheduler/s1', subject: `task-${n}`, time: 0 },
  );

describe('decodeEvent', () => {
  const valid = Array.from({ length: 20 }, (_, n) => Buffer.from(String(encodeEvent(fired(n)).value)));

  it('checks execution facts without copying, but parses task definitions (their specs have defaults)', () => {
    expect(completeCheckedTypes()).toContain('nono.execution.succeeded.v1');
    expect(completeCheckedTypes()).not.toContain('nono.task.defined.v1');
  });

  it.each([
    ['valid facts', valid],
    [
      'malformed and invalid records',
      [
        null,
        Buffer.from('{not json'),
        Buffer.from('null'),
        Buffer.from(JSON.stringify({ type: 'nono.execution.fired.v9', id: 'x' })),
        Buffer.from(JSON.stringify({ type: 'nono.execution.fired.v1', id: 'x', data: {} })),
        ...valid.map((value) => {
          const json = JSON.parse(value.toString('utf8')) as { data: Record<string, unknown> };
          return Buffer.from(JSON.stringify({ ...json, data: { ...json.data, attempt: -1 }, extra: true }));
        }),
      ],
    ],
  ])('answers exactly what parsing every value answers, for %s', (_name, values) => {
    for (const value of values) expect(decodeEvent(value)).toEqual(decodeByParsing(value));
  });
});
