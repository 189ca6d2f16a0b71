import { isZkError } from '@nono/coordination';
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
