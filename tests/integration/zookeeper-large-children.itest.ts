import { type ZkClient } from '@nono/coordination';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectZk } from '../support/cluster.js';
import { type Isolation, isolate } from '../support/fixtures.js';

/**
 * A node with tens of thousands of children (the tasks of a large cluster under /tasks) is
 * listed in one response of several MiB, which the C client reads in many parts. The `zookeeper`
 * binding counted every part as "no response" and, at its default of 10 in a row, closed the
 * session as expired ("yield:zookeeper_process returned no response too many times: 11", seen
 * on 2026-12-02 with 80,000 children on loopback); a scheduler would rejoin and read the list
 * again, for ever. ZkClient raises the limit (see its `connect`).
 */
const CHILDREN = 30_000;
const NAME = 'x'.repeat(90);

describe('a node with many children (real ZooKeeper)', () => {
  let iso: Isolation;
  let zk: ZkClient;
  beforeAll(async () => {
    iso = await isolate('zk-large-children');
    zk = await connectZk(iso);
    await zk.ensurePath('/many');
    for (let i = 0; i < CHILDREN; i += 1_000)
      await Promise.all(
        Array.from({ length: Math.min(1_000, CHILDREN - i) }, (_, j) =>
          zk.create(`/many/${NAME}-${String(i + j).padStart(6, '0')}`, null),
        ),
      );
  }, 300_000);
  afterAll(async () => {
    await zk?.deleteTree('/many');
    zk?.close();
  }, 300_000);

  it('is listed again and again without the session being closed', async () => {
    const states: string[] = [];
    zk.on('state', (state) => states.push(state));
    for (let round = 0; round < 10; round++) expect(await zk.children('/many')).toHaveLength(CHILDREN);
    expect(states).toEqual([]);
    expect(zk.state).toBe('connected');
  });
});
