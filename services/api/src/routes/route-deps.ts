import { type Clock } from '@nono/domain';
import { type FastifyRequest } from 'fastify';
import { type AuditContext } from '../audit/audit-events.js';
import { principalOf } from '../auth/authenticate.js';
import { type ClusterView } from '../cluster/cluster-view.js';
import { type HistoryClient } from '../history/history-client.js';
import { type TargetPolicy } from '../tasks/target-policy.js';
import { type TaskStore } from '../tasks/task-store.js';

/** What the route plugins need; assembled once by buildApp. */
export interface RouteDeps {
  readonly store: TaskStore;
  readonly cluster: ClusterView;
  readonly history: HistoryClient;
  readonly clock: Clock;
  readonly targetPolicy: TargetPolicy;
  /** CloudEvents `source` of audit events, e.g. nono://api/host-1234. */
  readonly eventSource: string;
}

export function auditContextOf(request: FastifyRequest, deps: RouteDeps): AuditContext {
  return { actor: principalOf(request).actor, source: deps.eventSource, now: deps.clock.now() };
}
