import { ApiError, ApiErrorCode } from '../errors.js';

/** The ETag of a task is its znode version: every write is a compare-and-set at it. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * Checks an If-Match header against the current version: `*` matches anything that
 * exists; otherwise one of the listed (strong or weak) tags must be the version.
 */
export function checkIfMatch(header: string | undefined, version: number): void {
  if (header === undefined) return;
  const tags = header.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (tags.includes('*') || tags.includes(etagOf(version))) return;
  throw new ApiError(
    ApiErrorCode.PreconditionFailed,
    `If-Match ${header} does not match the current version ${etagOf(version)}`,
  );
}
