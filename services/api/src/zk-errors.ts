import { OutboxStageError, type ZkOutbox, isZkError } from '@nono/coordination';
import { type NonoEvent } from '@nono/domain';
import { ApiError, ApiErrorCode } from './errors.js';

/**
 * Maps ZooKeeper failures to the catalogue. A connection problem during a write means the
 * outcome is unknown (the server may have applied it): the client is told so, not lied to.
 */
export function mapZkError(error: unknown, during: 'read' | 'write', taskId?: string): unknown {
  if (error instanceof ApiError || !isZkError(error)) return error;
  if (error.isNoNode)
    return new ApiError(ApiErrorCode.TaskNotFound, taskId === undefined ? undefined : `no task "${taskId}"`);
  if (error.isNodeExists)
    return new ApiError(
      ApiErrorCode.TaskExists,
      taskId === undefined ? undefined : `task "${taskId}" already exists`,
    );
  if (error.isBadVersion) return new ApiError(ApiErrorCode.RevisionConflict);
  if (error.isConnectionProblem) {
    return new ApiError(
      during === 'write' ? ApiErrorCode.OutcomeUnknown : ApiErrorCode.CoordinationUnavailable,
    );
  }
  return error;
}

/**
 * A change with its audit event through the outbox (stage, change, commit), its ZooKeeper
 * failures mapped by `map`. A failure to stage means nothing was attempted: the outcome is known.
 */
export async function recordWithOutbox<T>(
  outbox: ZkOutbox,
  event: NonoEvent,
  change: () => Promise<T>,
  map: (error: unknown, during: 'read' | 'write') => unknown,
): Promise<T> {
  try {
    return await outbox.record(event, change);
  } catch (error) {
    if (error instanceof OutboxStageError) throw map(error.cause, 'read');
    throw map(error, 'write');
  }
}
