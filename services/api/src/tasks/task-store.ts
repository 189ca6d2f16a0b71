import { type CancelRequest, type TriggerRequest } from '@nono/coordination';
import { type NonoEvent, type SchedulerTask } from '@nono/domain';

/** A task as stored, with the znode version every later write must match (the ETag). */
export interface VersionedTask {
  readonly task: SchedulerTask;
  readonly version: number;
}

/** What the API writes under /triggers/<taskId>@<requestId>; the owning scheduler fires it once (one schema, shared with the schedulers). */
export type { TriggerRequest } from '@nono/coordination';

/**
 * The port the routes use to read and change task definitions. Every change carries the
 * audit event that describes it, and the store guarantees the event is published if and
 * only if the change happened (see the outbox in README.md). Every change of an existing
 * task is a compare-and-set at `current.version`, so concurrent admins never overwrite
 * each other silently.
 *
 * Errors are ApiErrors: TaskNotFound, TaskExists, RevisionConflict (the version moved),
 * CoordinationUnavailable, OutcomeUnknown (the connection dropped mid-write).
 */
export interface TaskStore {
  get(taskId: string): Promise<VersionedTask | undefined>;
  /** Every task, in ascending id order (the order of cursor paging). */
  list(): Promise<readonly VersionedTask[]>;
  create(task: SchedulerTask, event: NonoEvent): Promise<VersionedTask>;
  replace(current: VersionedTask, next: SchedulerTask, event: NonoEvent): Promise<VersionedTask>;
  remove(current: VersionedTask, event: NonoEvent): Promise<void>;
  /** Returns false when a request with this id already exists (a retried request stays one fire). */
  requestTrigger(taskId: string, request: TriggerRequest, event: NonoEvent): Promise<boolean>;
  /**
   * Asks the scheduler running the execution to stop it. Returns false when the same execution's
   * cancel is already requested (the first request stands).
   */
  requestCancel(taskId: string, executionId: string, request: CancelRequest): Promise<boolean>;
}
