import { type Clock, type TargetPolicy, type TaskSpec, reviseTask } from '@nono/domain';
import { type FastifyRequest } from 'fastify';
import { type AuditContext, type TaskChangeType, changedEvent } from '@nono/domain';
import { principalOf } from '../auth/authenticate.js';
import { type ZkCalendars } from '../calendars/zk-calendars.js';
import { type ClusterView } from '../cluster/cluster-view.js';
import { type HistoryClient } from '../history/history-client.js';
import { type TaskStore, type VersionedTask } from '../tasks/task-store.js';

/** What the route plugins need; assembled once by buildApp. */
export interface RouteDeps {
  readonly store: TaskStore;
  readonly cluster: ClusterView;
  readonly history: HistoryClient;
  readonly clock: Clock;
  readonly targetPolicy: TargetPolicy;
  /** Exclusion calendars: a task may reference only those that exist. */
  readonly calendars: ZkCalendars;
  /** CloudEvents `source` of audit events, e.g. nono://api/host-1234. */
  readonly eventSource: string;
}

export function auditContextOf(request: FastifyRequest, deps: RouteDeps): AuditContext {
  return { actor: principalOf(request).actor, source: deps.eventSource, now: deps.clock.now() };
}

/**
 * Every change to an existing task: the next revision with `spec`, written at the version
 * read, with its audit event (the outbox makes the two one change).
 */
export function replaceWithAudit(
  request: FastifyRequest,
  deps: RouteDeps,
  current: VersionedTask,
  spec: TaskSpec,
  type: TaskChangeType,
  note?: string,
): Promise<VersionedTask> {
  const context = auditContextOf(request, deps);
  const next = reviseTask(current.task, spec, context.now);
  return deps.store.replace(current, next, changedEvent(type, current.task, next, context, note));
}
