export { type JobContext, JobError } from './call-context.js';
export { GroupMembership, type GroupMembershipOptions } from './group-membership.js';
export {
  type CompletedCall,
  type FencingStore,
  type FencingVerdict,
  type IdempotencyStore,
  type KeyClaim,
  MemoryFencingStore,
  MemoryIdempotencyStore,
} from './stores.js';
export {
  type CallOutcome,
  type JobHandler,
  NonoWorker,
  type WorkerLog,
  type WorkerOptions,
  type WorkerState,
  compileWorkerOptions,
  createWorker,
} from './worker.js';
