import { ManualClock, type NonoEvent } from '@nono/domain';
import { encodeEvent } from '@nono/events';
import { BatchProjector } from '../projector/batch-projector.js';
import { ProjectionStore } from '../projector/projection-store.js';
import { type HistoryDb } from '../store/open-database.js';

/** Projects events, encoded as on the wire, as one batch of one partition with the real projector. */
export function projectEvents(db: HistoryDb, events: readonly NonoEvent[]): void {
  new BatchProjector(new ProjectionStore(db), new ManualClock(0)).project({
    topic: 't',
    partition: 0,
    records: events.map((event, offset) => ({
      offset,
      key: null,
      value: Buffer.from(String(encodeEvent(event).value)),
    })),
  });
}
