import { type TopicNames } from '@nono/events';

/**
 * The topics history projects: tasks, executions and cluster, and alerts for the audit facts
 * of alert rule changes (its alert transitions are passed over: keepsNothingOf). The live
 * projector and both rebuilds read the same list, so a rebuilt database holds what the live
 * one does (as far back as each topic's retention: the alerts and cluster topics keep 30 days).
 */
export function projectedTopics(topics: TopicNames): string[] {
  return [topics.tasks, topics.executions, topics.cluster, topics.alerts];
}
