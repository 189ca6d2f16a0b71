import { ZkClient, type WatchEvent, ZnodeLayout, isZkError } from '@nono/coordination';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Isolation, eventually, isolate } from '../support/fixtures.js';

describe('ZooKeeper round trip (real server)', () => {
  let iso: Isolation;
  const clients: ZkClient[] = [];
  const connect = async (): Promise<ZkClient> => {
    const client = await ZkClient.connect({ connect: iso.zkConnect, sessionTimeoutMs: 6_000 });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    iso = await isolate('zk-roundtrip');
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  it('creates, reads and watches a node change', async () => {
    const a = await connect();
    const b = await connect();
    const layout = new ZnodeLayout('/nono');
    await a.ensurePath(layout.tasks);
    await a.create(layout.task('t1'), JSON.stringify({ v: 1 }));

    const events: WatchEvent[] = [];
    const first = await b.get(layout.task('t1'), (event) => events.push(event));
    expect(JSON.parse(first.data.toString())).toEqual({ v: 1 });

    const stat = await a.set(layout.task('t1'), JSON.stringify({ v: 2 }), first.stat.version);
    expect(stat.version).toBe(first.stat.version + 1);
    expect(stat.mzxid).toBeGreaterThan(first.stat.mzxid);
    await eventually(() => (events.length > 0 ? events : undefined), 5_000, 'the watch to fire');
    expect(events[0]).toEqual({ type: 'changed', path: '/nono/tasks/t1' });
  });

  it('refuses a write at a stale version (the compare-and-set the fence relies on)', async () => {
    const a = await connect();
    await a.ensurePath('/cas');
    await a.create('/cas/node', 'x');
    const { stat } = await a.get('/cas/node');
    await a.set('/cas/node', 'y', stat.version);
    const stale = await a.set('/cas/node', 'z', stat.version).catch((error: unknown) => error);
    expect(isZkError(stale) && stale.isBadVersion).toBe(true);
    expect((await a.get('/cas/node')).data.toString()).toBe('y');
  });

  it('removes an ephemeral node when its session closes, and tells child watchers', async () => {
    const owner = await connect();
    const observer = await connect();
    await owner.ensurePath('/members');
    await owner.create('/members/m1', 'alive', 'ephemeral');
    const changes: WatchEvent[] = [];
    expect(await observer.children('/members', (event) => changes.push(event))).toEqual(['m1']);
    owner.close();
    await eventually(() => (changes.length > 0 ? true : undefined), 5_000, 'the child watch');
    expect(await observer.children('/members')).toEqual([]);
    expect(await observer.exists('/members/m1')).toBeUndefined();
  });
});
