import { describe, expect, it } from 'vitest';
import { replicationFor, replicationShortfalls } from './topics.js';

describe('the replication of the topics nono creates', () => {
  it.each([
    [1, { replicationFactor: 1, minInsyncReplicas: 1 }],
    [2, { replicationFactor: 2, minInsyncReplicas: 1 }],
    [3, { replicationFactor: 3, minInsyncReplicas: 2 }],
    [5, { replicationFactor: 3, minInsyncReplicas: 2 }],
  ])('follows the cluster size when not configured: %i broker(s)', (brokers, expected) => {
    expect(replicationFor(brokers)).toEqual(expected);
  });

  it('takes the configured values, deriving the other (a majority in sync)', () => {
    expect(replicationFor(5, { replicationFactor: 5 })).toEqual({
      replicationFactor: 5,
      minInsyncReplicas: 3,
    });
    expect(replicationFor(3, { minInsyncReplicas: 3 })).toEqual({
      replicationFactor: 3,
      minInsyncReplicas: 3,
    });
    expect(replicationFor(3, { replicationFactor: 2, minInsyncReplicas: 2 })).toEqual({
      replicationFactor: 2,
      minInsyncReplicas: 2,
    });
  });

  it('refuses what Kafka would refuse for every topic or every write', () => {
    expect(() => replicationFor(1, { replicationFactor: 3 })).toThrow(
      'topics with replication factor 3 need 3 brokers; the cluster reports 1',
    );
    expect(() => replicationFor(3, { replicationFactor: 2, minInsyncReplicas: 3 })).toThrow(
      'min.insync.replicas 3 is more than the replication factor 2',
    );
  });

  it('reports an existing topic replicated less than configured, and only those', () => {
    const wanted = { replicationFactor: 3, minInsyncReplicas: 2 };
    const shortfalls = replicationShortfalls(
      [
        { topic: 'nono.executions', replicationFactor: 1, minInsyncReplicas: 1 },
        { topic: 'nono.tasks', replicationFactor: 3, minInsyncReplicas: 1 },
        { topic: 'nono.cluster', replicationFactor: 3, minInsyncReplicas: 2 },
      ],
      wanted,
    );
    expect(shortfalls.map((s) => s.topic)).toEqual(['nono.executions', 'nono.tasks']);
    expect(shortfalls[0]?.message).toContain(
      'topic nono.executions has replication factor 1 and min.insync.replicas 1, less than the 3 and 2 configured',
    );
  });
});
