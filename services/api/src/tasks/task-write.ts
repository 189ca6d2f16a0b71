import { type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiError, ApiErrorCode } from '../errors.js';
import { checkIfMatch, etagOf } from './etag.js';
import { type TaskStore, type VersionedTask } from './task-store.js';

/** Reads a task or fails with NONO_TASK_NOT_FOUND. */
export async function loadTask(store: TaskStore, taskId: string): Promise<VersionedTask> {
  const current = await store.get(taskId);
  if (current === undefined) throw new ApiError(ApiErrorCode.TaskNotFound, `no task "${taskId}"`);
  return current;
}

export function ifMatchOf(request: FastifyRequest): string | undefined {
  const header = request.headers['if-match'];
  return Array.isArray(header) ? header.join(',') : header;
}

/**
 * Loads the task, checks If-Match, then runs the versioned write. Without If-Match the
 * version just read is used, so a concurrent change still fails (409) instead of being
 * overwritten; with If-Match a lost race is the client's stale precondition (412).
 */
export async function writeTask<T>(
  request: FastifyRequest,
  store: TaskStore,
  taskId: string,
  write: (current: VersionedTask) => Promise<T>,
): Promise<T> {
  const current = await loadTask(store, taskId);
  return writeMatching(request, current.task.revision, 'task', () => write(current));
}

/**
 * Checks If-Match against the revision just read, then runs the versioned write; a write that
 * loses a race after a matching If-Match is the client's stale precondition (412), not a 409.
 * Tasks and worker groups both write through it.
 */
export async function writeMatching<T>(
  request: FastifyRequest,
  revision: number,
  what: string,
  write: () => Promise<T>,
): Promise<T> {
  const ifMatch = ifMatchOf(request);
  checkIfMatch(ifMatch, revision);
  try {
    return await write();
  } catch (error) {
    if (ifMatch !== undefined && error instanceof ApiError && error.code === ApiErrorCode.RevisionConflict) {
      throw new ApiError(
        ApiErrorCode.PreconditionFailed,
        `the ${what} changed after the version in If-Match`,
      );
    }
    throw error;
  }
}

export function sendTask(reply: FastifyReply, versioned: VersionedTask, status = 200): FastifyReply {
  return reply.code(status).header('etag', etagOf(versioned.task.revision)).send(versioned.task);
}
