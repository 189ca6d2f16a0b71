import { ZkClient, type WatchEvent, ZnodeLayout, isZkError } from '@nono/coordination';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Isolation, eventually, isolate } from '../support/fixtures.js';

describe('ZooKeeper round trip (real server)', () => {
  let iso: Isolation;
  const clients: ZkClient[] = [];
  const connect = async (auth?: string): Promise<ZkClient> => {
    const client = await ZkClient.connect({ connect: iso.zkConnect, sessionTimeoutMs: 6_000, auth });
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

  it('closes a tree written before credentials were set, once, children first', async () => {
    const open = await connect();
    await open.ensurePath('/legacy/tasks');
    await open.create('/legacy/tasks/t1', '{}');
    await open.create('/legacy/other', '{}');
    const owner = await connect('nono:legacy-tree-secret');
    expect(await owner.closeTree('/legacy')).toEqual({ closed: 4 });
    expect(await owner.closeTree('/legacy')).toEqual({ closed: 0 });
    const refused = async (work: Promise<unknown>): Promise<string> =>
      work.then(
        () => 'allowed',
        (error: unknown) => (isZkError(error) ? error.codeName : String(error)),
      );
    expect(await refused(open.set('/legacy/tasks/t1', '{"planted":true}', -1))).toBe('ZNOAUTH');
    expect(await refused(open.create('/legacy/tasks/t2', '{}'))).toBe('ZNOAUTH');
    expect(await refused(open.get('/legacy/other'))).toBe('ZNOAUTH');
    expect((await owner.get('/legacy/tasks/t1')).data.toString()).toBe('{}');
  });
});
