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
