import { ManualClock } from '@nono/domain';
import { encodeEvent } from '@nono/events';
import { describe, expect, it } from 'vitest';
import { BatchProjector } from '../projector/batch-projector.js';
import { decodeValue } from '../projector/event-decoder.js';
import { ProjectionStore } from '../projector/projection-store.js';
import { type SourceRecord } from '../projector/source-record.js';
import { generateStream } from '../testing/event-stream.js';
import { openMemoryDatabase } from '../testing/memory-store.js';
import { dumpTables } from '../testing/table-dump.js';
import { decodeChunk, encodeChunk } from './decoded-chunk.js';

const events = generateStream({ executions: 300, tasks: 7, seed: 11 });
const raw: SourceRecord[] = [
  ...events.map((event, offset) => ({
    offset,
    key: event.subject,
    value: Buffer.from(String(encodeEvent(event).value)),
  })),
  { offset: events.length, key: null, value: null },
  { offset: events.length + 1, key: 'bad', value: Buffer.from('{"not": "an event"') },
  {
    offset: events.length + 2,
    key: 'v9',
    value: Buffer.from('{"specversion":"1.0","type":"nono.execution.fired.v9"}'),
  },
  // A repeat of an event id at a later offset (a republished fact).
  ...republished(events.length + 3),
];

function republished(offset: number): SourceRecord[] {
  const first = events.find((event) => event.type.startsWith('nono.execution.'));
  if (first === undefined) throw new Error('the stream has no execution event');
  return [{ offset, key: first.subject, value: Buffer.from(String(encodeEvent(first).value)) }];
}

describe('a decoded chunk (the rebuild fetch thread hands these to the SQLite thread)', () => {
  const records = decodeChunk(encodeChunk(raw));

  it('gives every record what decoding its value on this thread gives, with the same bytes', () => {
    expect(records.map(({ offset, key }) => ({ offset, key }))).toEqual(
      raw.map(({ offset, key }) => ({ offset, key })),
    );
    for (const [i, record] of records.entries()) {
      const source = raw[i];
      expect(record.value).toEqual(source?.value);
      expect(record.decoded).toStrictEqual(decodeValue(source?.value ?? null));
    }
    expect(new Set(records.map((record) => record.decoded?.kind))).toEqual(
      new Set(['fact', 'event', 'invalid']),
    );
  });

  it('projects into the same tables, dead letters included, as the raw records', () => {
    const project = (batch: readonly SourceRecord[]): Record<string, unknown[]> => {
      const open = openMemoryDatabase();
      try {
        const projector = new BatchProjector(new ProjectionStore(open.db), new ManualClock(0));
        for (let from = 0; from < batch.length; from += 97)
          projector.project({ topic: 't', partition: 0, records: batch.slice(from, from + 97) });
        return dumpTables(open.sqlite);
      } finally {
        open.close();
      }
    };
    const expected = project(raw);
    expect(expected['dead_letters']).toHaveLength(3);
    expect(project(records)).toEqual(expected);
  });
});
