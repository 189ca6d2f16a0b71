import { ManualClock } from '@nono/domain';
import { createLogger } from '@nono/runtime';
import { describe, expect, it } from 'vitest';
import { type ForwardedResponse } from '../history/history-client.js';
import { HistoryReplicas } from '../history/history-replicas.js';
import { ApiError, ApiErrorCode } from '../errors.js';
import { BackendStatus, type BackendState } from './backend-status.js';

const T0 = Date.parse('2026-11-22T00:00:00Z');

/** One history replica answering its probes with `answer`; `calls` counts them. */
function history(answer: () => ForwardedResponse): Pick<HistoryReplicas, 'probe'> & { calls: number } {
  const client = {
    calls: 0,
    get: () => {
      client.calls += 1;
      return Promise.resolve().then(answer);
    },
  };
  const replicas = new HistoryReplicas({
    replicas: [client],
    clock: new ManualClock(T0),
    log: createLogger('test', 'silent'),
    maxLag: 1_000,
    probeIntervalMs: 2_000,
    probeTimeoutMs: 2_000,
  });
  return {
    probe: () => replicas.probe(),
    get calls() {
      return client.calls;
    },
  };
}

const ok = (status: number, body: unknown): ForwardedResponse => ({
  status,
  contentType: 'application/json',
  body: Buffer.from(JSON.stringify(body)),
});
const unreachable = (): ForwardedResponse => {
  throw new ApiError(ApiErrorCode.HistoryUnavailable, 'the history service did not answer');
};
const kafkaUp = (): Promise<BackendState> => Promise.resolve({ reachable: true, detail: '1 broker(s)' });
const kafkaDown = (): Promise<BackendState> =>
  Promise.resolve({ reachable: false, detail: 'no broker answered' });

describe('BackendStatus', () => {
  it.each([
    {
      case: 'all up',
      zk: 'connected',
      historyAnswer: () => ok(200, { status: 'ready' }),
      kafka: kafkaUp,
      expected: { zookeeper: true, kafka: true, history: true },
      historyDetail: 'ready',
      replicaState: 'current',
    },
    {
      case: 'history lagging is reachable, with its lag',
      zk: 'connected',
      historyAnswer: () => ok(503, { status: 'not-ready', lag: 42 }),
      kafka: kafkaUp,
      expected: { zookeeper: true, kafka: true, history: true },
      historyDetail: 'catching up, 42 events behind',
      replicaState: 'behind',
    },
    {
      case: 'everything down',
      zk: 'disconnected',
      historyAnswer: unreachable,
      kafka: kafkaDown,
      expected: { zookeeper: false, kafka: false, history: false },
      historyDetail: 'the history service did not answer',
      replicaState: 'down',
    },
  ])('$case', async ({ zk, historyAnswer, kafka, expected, historyDetail, replicaState }) => {
    const status = new BackendStatus({
      readiness: () => ({ ready: zk === 'connected', detail: { zookeeper: zk } }),
      history: history(historyAnswer),
      kafka,
      clock: new ManualClock(T0),
    });
    const report = await status.report();
    expect({
      zookeeper: report.zookeeper.reachable,
      kafka: report.kafka.reachable,
      history: report.history.reachable,
    }).toEqual(expected);
    expect(report.history.detail).toBe(historyDetail);
    expect(report.historyReplicas).toHaveLength(1);
    expect(report.historyReplicas[0]).toMatchObject({ replica: 1, state: replicaState, readsHere: true });
    expect(report.zookeeper.detail).toBe(`session ${zk}`);
    expect(report.checkedAt).toBe('2026-11-22T00:00:00.000Z');
  });

  it('probes at most once per maxAgeMs, and concurrent callers share one probe', async () => {
    const clock = new ManualClock(T0);
    const client = history(() => ok(200, {}));
    const status = new BackendStatus({
      readiness: () => ({ ready: true, detail: { zookeeper: 'connected' } }),
      history: client,
      kafka: kafkaUp,
      clock,
      maxAgeMs: 3_000,
    });
    await Promise.all([status.report(), status.report(), status.report()]);
    expect(client.calls).toBe(1);
    clock.advance(2_999);
    await status.report();
    expect(client.calls).toBe(1);
    clock.advance(1);
    await status.report();
    expect(client.calls).toBe(2);
  });

  it('reports Kafka as not probed when no probe is wired', async () => {
    const status = new BackendStatus({
      readiness: () => ({ ready: true, detail: {} }),
      history: history(() => ok(200, {})),
      clock: new ManualClock(T0),
    });
    expect((await status.report()).kafka).toEqual({ reachable: true, detail: 'not probed by this process' });
  });
});
