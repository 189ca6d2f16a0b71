import { encodeEvent } from '@nono/events';
import { decodeEvent } from '@nono/events';
import { describe, expect, it } from 'vitest';
import { generateStream } from '../testing/event-stream.js';
import { decodeRecord, fastDecodedTypes } from './event-decoder.js';

describe('decodeRecord', () => {
  const events = generateStream({ executions: 300, tasks: 4 });
  const valid = events.map((event) => Buffer.from(String(encodeEvent(event).value)));

  it('takes the compiled-check path for execution facts but not for task definitions (their specs have defaults)', () => {
    expect(fastDecodedTypes()).toContain('nono.execution.succeeded.v1');
    expect(fastDecodedTypes()).not.toContain('nono.task.defined.v1');
  });

  it.each([
    ['every event of a generated stream', valid],
    [
      'malformed and invalid records',
      [
        null,
        Buffer.from('{not json'),
        Buffer.from('null'),
        Buffer.from(JSON.stringify({ type: 'nono.execution.fired.v9', id: 'x' })),
        Buffer.from(JSON.stringify({ type: 'nono.execution.fired.v1', id: 'x', data: {} })),
        ...valid.slice(0, 50).map((value) => {
          const json = JSON.parse(value.toString('utf8')) as { data: Record<string, unknown> };
          return Buffer.from(JSON.stringify({ ...json, data: { ...json.data, attempt: -1 }, extra: true }));
        }),
      ],
    ],
  ])('answers exactly what decodeEvent answers for %s', (_name, values) => {
    for (const value of values) expect(decodeRecord(value)).toEqual(decodeEvent(value));
  });
});
