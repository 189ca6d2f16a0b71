export { type AppDeps, API_PREFIX, buildApp } from './app.js';
export { type AuditPublisher, OutboxRelay } from './audit/outbox-relay.js';
export { ZkOutbox, outboxRoot } from '@nono/coordination';
export {
  type Principal,
  type TokenEntry,
  type TokenCheck,
  checkToken,
  hashToken,
  parseTokenList,
} from './auth/token-registry.js';
export { type ClusterView, ZkClusterView } from './cluster/cluster-view.js';
export { type ApiConfig, loadApiConfig } from './config.js';
export { ApiErrorCode, ERROR_CATALOGUE } from './errors.js';
export { type HistoryClient, UndiciHistoryClient } from './history/history-client.js';
export {
  type HistoryReads,
  type HistoryReplicaReport,
  type HistoryReplicaStatus,
  HistoryReplicas,
} from './history/history-replicas.js';
export { type TaskStore, type VersionedTask } from './tasks/task-store.js';
export { ZkTaskStore } from './tasks/zk-task-store.js';
