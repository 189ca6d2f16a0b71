import { ManualClock } from '@nono/domain';
import { createLogger } from '@nono/runtime';
import { describe, expect, it } from 'vitest';
import { ApiError, ApiErrorCode } from '../errors.js';
import { type ForwardedResponse, type HistoryClient } from './history-client.js';
import { HistoryReplicas } from './history-replicas.js';

/**
 * The failover rules over fake replicas (the real processes: tests/history/replicas.itest.ts).
 * A fake answers reads with its `reads` behaviour and /readyz with `readyz`.
 */
type Behaviour = 'answers' | 'unreachable' | { status: number; body?: unknown };

class FakeReplica implements HistoryClient {
  reads: Behaviour = 'answers';
  readyz: Behaviour = { status: 200, body: { status: 'ready', lag: 0 } };
  readonly paths: string[] = [];

  constructor(readonly name: string) {}

  get(pathAndQuery: string): Promise<ForwardedResponse> {
    this.paths.push(pathAndQuery);
    const behaviour = pathAndQuery === '/readyz' ? this.readyz : this.reads;
    if (behaviour === 'unreachable')
      return Promise.reject(
        new ApiError(ApiErrorCode.HistoryUnavailable, 'the history service did not answer'),
      );
    const { status, body } = behaviour === 'answers' ? { status: 200, body: { from: this.name } } : behaviour;
    return Promise.resolve({
      status,
      contentType: 'application/json',
      body: Buffer.from(JSON.stringify(body ?? {})),
    });
  }

  get readCount(): number {
    return this.paths.filter((path) => path !== '/readyz').length;
  }
}

function setUp(count: number, clock = new ManualClock('2026-12-01T00:00:00Z')) {
  const fakes = Array.from({ length: count }, (_, i) => new FakeReplica(String.fromCharCode(97 + i)));
  const replicas = new HistoryReplicas({
    replicas: fakes,
    clock,
    log: createLogger('test', 'silent'),
    maxLag: 1_000,
    probeIntervalMs: 2_000,
    probeTimeoutMs: 2_000,
  });
  return { fakes, replicas, clock };
}

const answeredBy = (response: ForwardedResponse): unknown =>
  (JSON.parse(response.body.toString('utf8')) as { from?: unknown }).from;

describe('HistoryReplicas', () => {
  it('reads from the first replica and stays there while it answers', async () => {
    const { fakes, replicas } = setUp(2);
    for (let i = 0; i < 3; i += 1) {
      const response = await replicas.get('/executions');
      expect({ from: answeredBy(response), replica: response.replica }).toEqual({ from: 'a', replica: 1 });
    }
    expect(fakes[1]?.readCount).toBe(0);
  });

  it.each([
    ['does not answer', 'unreachable' as const],
    ['fails with 500', { status: 500, body: { secret: 'stack' } }],
    ['answers 503', { status: 503 }],
    ['refuses the API token', { status: 401 }],
  ])('moves a read to the next replica when one %s, and later reads too', async (_case, failure) => {
    const { fakes, replicas } = setUp(2);
    const [a, b] = fakes;
    if (a === undefined || b === undefined) throw new Error('two fakes');
    a.reads = failure;
    const response = await replicas.get('/executions?limit=5');
    expect({ status: response.status, from: answeredBy(response), replica: response.replica }).toEqual({
      status: 200,
      from: 'b',
      replica: 2,
    });
    expect(b.paths).toEqual(['/executions?limit=5']);
    // The failed replica is down until a probe finds it answering: the next read skips it.
    await replicas.get('/audit');
    expect(a.readCount).toBe(1);
    expect(replicas.report().replicas.map(({ state, readsHere }) => ({ state, readsHere }))).toEqual([
      { state: 'down', readsHere: false },
      { state: 'unknown', readsHere: true },
    ]);
  });

  it('passes an answer about the data (404) on without trying another replica', async () => {
    const { fakes, replicas } = setUp(2);
    const [a, b] = fakes;
    if (a === undefined || b === undefined) throw new Error('two fakes');
    a.reads = { status: 404, body: { code: 'NONO_EXECUTION_NOT_FOUND' } };
    expect((await replicas.get('/executions/x')).status).toBe(404);
    expect(b.readCount).toBe(0);
  });

  it('returns the last refusal, or throws unavailable, when every replica fails', async () => {
    const { fakes, replicas } = setUp(2);
    for (const fake of fakes) fake.reads = 'unreachable';
    await expect(replicas.get('/executions')).rejects.toMatchObject({
      code: ApiErrorCode.HistoryUnavailable,
    });
    const [a] = fakes;
    if (a === undefined) throw new Error('a fake');
    a.reads = { status: 500 };
    expect((await replicas.get('/executions')).status).toBe(500);
  });

  it('prefers a current replica to one behind, and sticks to it after the other catches up', async () => {
    const { fakes, replicas } = setUp(2);
    const [a, b] = fakes;
    if (a === undefined || b === undefined) throw new Error('two fakes');
    a.readyz = { status: 503, body: { status: 'not-ready', lag: 5_000, replica: 'a' } };
    b.readyz = { status: 200, body: { status: 'ready', lag: 3, replica: 'b' } };
    const report = await replicas.probe();
    expect(report).toMatchObject({
      reachable: true,
      detail: '1 of 2 replicas current; reads go to replica 2 (b)',
      replicas: [
        { replica: 1, name: 'a', state: 'behind', lag: 5_000, readsHere: false },
        { replica: 2, name: 'b', state: 'current', lag: 3, readsHere: true },
      ],
    });
    expect(answeredBy(await replicas.get('/executions'))).toBe('b');

    // a catches up: reads stay on b, so a client paging on reads one database throughout.
    a.readyz = { status: 200, body: { status: 'ready', lag: 0, replica: 'a' } };
    await replicas.probe();
    expect(answeredBy(await replicas.get('/executions'))).toBe('b');

    // b falls behind past the bound: reads move to a.
    b.readyz = { status: 200, body: { status: 'ready', lag: 1_001, replica: 'b' } };
    await replicas.probe();
    expect(answeredBy(await replicas.get('/executions'))).toBe('a');
  });

  it('reads from the least stale replica when none is current', async () => {
    const { fakes, replicas } = setUp(3);
    const lags = [9_000, 2_000, 4_000];
    fakes.forEach((fake, i) => (fake.readyz = { status: 503, body: { lag: lags[i] } }));
    await replicas.probe();
    expect(answeredBy(await replicas.get('/executions'))).toBe('b');
  });

  it('probes every replica on its timer until stopped, and finds a failed one again', async () => {
    const { fakes, replicas, clock } = setUp(2);
    const [a] = fakes;
    if (a === undefined) throw new Error('a fake');
    a.reads = 'unreachable';
    await replicas.get('/executions');
    expect(replicas.report().replicas[0]?.state).toBe('down');
    a.reads = 'answers';
    replicas.start();
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(replicas.report().replicas.map(({ state }) => state)).toEqual(['current', 'current']);
    const probes = (): number => a.paths.filter((path) => path === '/readyz').length;
    expect(probes()).toBe(1);
    clock.advance(2_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(probes()).toBe(2);
    replicas.stop();
    clock.advance(10_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(probes()).toBe(2);
  });
});
