import { ManualClock } from '@nono/domain';
import { createLogger } from '@nono/runtime';
import { describe, expect, it } from 'vitest';
import {
  OpenExecutions,
  type OpenExecutionsRecord,
  type OpenExecutionsStore,
  endedPerRecord,
  toRanges,
} from './open-executions.js';

class Store implements OpenExecutionsStore {
  readonly writes: OpenExecutionsRecord[] = [];
  readonly previous = new Map<string, OpenExecutionsRecord>();
  failNext = 0;
  write(_schedulerId: string, record: OpenExecutionsRecord): Promise<void> {
    if (this.failNext-- > 0) return Promise.reject(new Error('connection loss'));
    this.writes.push(record);
    return Promise.resolve();
  }
  read(schedulerId: string): Promise<OpenExecutionsRecord | undefined> {
    return Promise.resolve(this.previous.get(schedulerId));
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function setup(eventsDurable: () => Promise<void> = () => Promise.resolve()) {
  const clock = new ManualClock(0);
  const store = new Store();
  const open = new OpenExecutions({
    schedulerId: 's1',
    store,
    clock,
    log: createLogger('open-executions-test', 'silent'),
    flushIntervalMs: 200,
    eventsDurable,
    incarnation: 'inc-2',
  });
  const advance = async (ms: number): Promise<void> => {
    clock.advanceTo(clock.now() + ms);
    await settle();
  };
  return { clock, store, open, advance };
}

describe('OpenExecutions', () => {
  it('numbers claims and writes, once per interval, which are still open', async () => {
    const { store, open, advance } = setup();
    expect(open.open('a', 'e1')).toEqual({ incarnation: 'inc-2', seq: 1 });
    expect(open.open('b', 'e2')).toEqual({ incarnation: 'inc-2', seq: 2 });
    open.close('a', ['e1']);
    await advance(199);
    expect(store.writes).toHaveLength(0);
    await advance(1);
    expect(store.writes).toEqual([{ incarnation: 'inc-2', seq: 2, open: [[2, 2]] }]);
    await advance(1_000);
    expect(store.writes).toHaveLength(1); // nothing changed, nothing written
  });

  it('writes only once the events appended before are durable', async () => {
    let durable: () => void = () => undefined;
    const { store, open, advance } = setup(() => new Promise((resolve) => (durable = resolve)));
    open.open('a', 'e1');
    open.close('a', ['e1']);
    await advance(200);
    expect(store.writes).toHaveLength(0);
    durable();
    await settle();
    expect(store.writes).toHaveLength(1);
  });

  it('retries a failed write, and stop() writes what is left', async () => {
    const { store, open, advance } = setup();
    store.failNext = 1;
    open.open('a', 'e1');
    await advance(200);
    expect(store.writes).toHaveLength(0);
    await advance(200);
    expect(store.writes.at(-1)?.open).toEqual([[1, 1]]);
    open.close('a', ['e1']);
    await open.stop();
    expect(store.writes.at(-1)?.open).toEqual([]);
  });

  it('prune drops what the fire state no longer vouches for', async () => {
    const { store, open, advance } = setup();
    open.open('a', 'e1');
    open.open('a', 'e2');
    open.prune('a', (id) => id === 'e2');
    await advance(200);
    expect(store.writes.at(-1)?.open).toEqual([[2, 2]]);
  });

  it("keeps the previous process's record (same scheduler id) to judge its entries", async () => {
    const { store, open, advance } = setup();
    const previous = { incarnation: 'inc-1', seq: 7, open: [[3, 3]] as Array<[number, number]> };
    store.previous.set('s1', previous);
    open.open('a', 'e1');
    await advance(200);
    store.previous.set('s1', store.writes[0]!); // ours replaced it in ZooKeeper
    expect(await open.recordOf('s1')).toEqual(previous);
  });
});

describe('endedPerRecord', () => {
  const record = { incarnation: 'i', seq: 10, open: toRanges([3, 4, 5, 8]) };
  it('is true only for a claim the record covers and does not list', () => {
    expect(record.open).toEqual([
      [3, 5],
      [8, 8],
    ]);
    expect(endedPerRecord({ incarnation: 'i', seq: 10 }, record)).toBe(true);
    expect(endedPerRecord({ incarnation: 'i', seq: 6 }, record)).toBe(true);
    for (const open of [3, 4, 5, 8])
      expect(endedPerRecord({ incarnation: 'i', seq: open }, record)).toBe(false);
    expect(endedPerRecord({ incarnation: 'i', seq: 11 }, record)).toBe(false); // claimed after
    expect(endedPerRecord({ incarnation: 'other', seq: 6 }, record)).toBe(false);
    expect(endedPerRecord({}, record)).toBe(false); // written before records existed
    expect(endedPerRecord({ incarnation: 'i', seq: 6 }, undefined)).toBe(false);
  });
});
