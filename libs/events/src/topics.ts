import { type EventCategory, type NonoEvent, categoryOf } from '@nono/domain';

/**
 * Kafka topics: one per category, named `${prefix}${category}` (prefix default `nono.`).
 * Keys keep one task's facts (or one scheduler's) in one partition, hence in order.
 */
export interface TopicNames {
  readonly tasks: string;
  readonly executions: string;
  readonly cluster: string;
  /** Alert transitions (services/alerts publishes them; nothing else reads them inside nono). */
  readonly alerts: string;
}

export function topicNames(prefix: string): TopicNames {
  return {
    tasks: `${prefix}tasks`,
    executions: `${prefix}executions`,
    cluster: `${prefix}cluster`,
    alerts: `${prefix}alerts`,
  };
}

export function topicOf(event: Pick<NonoEvent, 'type'>, topics: TopicNames): string {
  return topics[categoryOf(event.type) satisfies EventCategory];
}

export interface TopicSpec {
  readonly topic: string;
  readonly numPartitions: number;
  /** -1 keeps records forever: the execution log is the system of record for history. */
  readonly retentionMs: number;
}

export function topicSpecs(topics: TopicNames, partitions: number): TopicSpec[] {
  return [
    { topic: topics.tasks, numPartitions: partitions, retentionMs: -1 },
    { topic: topics.executions, numPartitions: partitions, retentionMs: -1 },
    { topic: topics.cluster, numPartitions: 1, retentionMs: 30 * 24 * 3_600_000 },
    { topic: topics.alerts, numPartitions: partitions, retentionMs: 30 * 24 * 3_600_000 },
  ];
}

/**
 * How many copies of each partition a topic keeps, and how many must be in sync for a write
 * (`acks=all`) to succeed. Unset fields are derived from the brokers the cluster reports.
 */
export interface TopicReplication {
  readonly replicationFactor?: number | undefined;
  readonly minInsyncReplicas?: number | undefined;
}

export interface ResolvedReplication {
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
}

/**
 * The replication topics are created with. Derived: three copies, two in sync, from three
 * brokers on (one broker may be down, writes go on, and an acknowledged write is on two disks);
 * two and one on two brokers; one and one on a single broker. Configured values win; a factor
 * the cluster cannot hold (more copies than brokers) or a minimum above the factor is refused,
 * since Kafka would refuse every topic or, worse, every write.
 */
export function replicationFor(brokers: number, configured: TopicReplication = {}): ResolvedReplication {
  const derivedFactor = brokers >= 3 ? 3 : Math.max(1, brokers);
  const replicationFactor = configured.replicationFactor ?? derivedFactor;
  // A majority of the copies (2 of 3, 3 of 5); with fewer than three, one, or a single broker down stops writes.
  const minInsyncReplicas =
    configured.minInsyncReplicas ?? (replicationFactor >= 3 ? Math.floor(replicationFactor / 2) + 1 : 1);
  if (replicationFactor > brokers)
    throw new Error(
      `topics with replication factor ${replicationFactor} need ${replicationFactor} brokers; the cluster reports ${brokers}`,
    );
  if (minInsyncReplicas > replicationFactor)
    throw new Error(
      `min.insync.replicas ${minInsyncReplicas} is more than the replication factor ${replicationFactor}: no write could succeed`,
    );
  return { replicationFactor, minInsyncReplicas };
}

/** What an existing topic has: the fewest replicas of any of its partitions, its min.insync.replicas. */
export interface ExistingTopicReplication {
  readonly topic: string;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
}

/** An existing topic replicated less than nono is configured for: reported, never silently accepted. */
export interface ReplicationShortfall extends ExistingTopicReplication {
  readonly wanted: ResolvedReplication;
  readonly message: string;
}

export function replicationShortfalls(
  existing: readonly ExistingTopicReplication[],
  wanted: ResolvedReplication,
): ReplicationShortfall[] {
  return existing
    .filter(
      (topic) =>
        topic.replicationFactor < wanted.replicationFactor ||
        topic.minInsyncReplicas < wanted.minInsyncReplicas,
    )
    .map((topic) => ({
      ...topic,
      wanted,
      message:
        `topic ${topic.topic} has replication factor ${topic.replicationFactor} and min.insync.replicas ` +
        `${topic.minInsyncReplicas}, less than the ${wanted.replicationFactor} and ${wanted.minInsyncReplicas} ` +
        'configured: a broker loss can lose acknowledged events or stop writes. Raise them ' +
        '(kafka-reassign-partitions for the factor, kafka-configs for min.insync.replicas; docs/DEPLOYMENT.md)',
    }));
}
