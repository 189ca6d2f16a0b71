import { ApiError, ApiErrorCode } from '../errors.js';

/**
 * The ETag of a task is its revision, the number its body shows (`revision`), so there is one
 * number everywhere. Writes are still compare-and-sets at the znode version read together
 * with it, so a tag that matched cannot be overtaken by a write in between.
 */
export function etagOf(revision: number): string {
  return `"${revision}"`;
}

/**
 * Checks an If-Match header against the current revision: `*` matches anything that
 * exists; otherwise one of the listed (strong or weak) tags must be the revision.
 */
export function checkIfMatch(header: string | undefined, revision: number): void {
  if (header === undefined) return;
  const tags = header.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (tags.includes('*') || tags.includes(etagOf(revision))) return;
  throw new ApiError(
    ApiErrorCode.PreconditionFailed,
    `If-Match ${header} does not match the current revision ${etagOf(revision)}`,
  );
}
