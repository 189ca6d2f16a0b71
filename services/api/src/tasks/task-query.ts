import { type FieldIssue } from '@nono/domain';
import { ApiError, ApiErrorCode } from '../errors.js';
import { type VersionedTask } from './task-store.js';

/** GET /tasks filters; all of them must hold. Paging is by task id (a stable, unique key). */
export interface TaskQuery {
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly paused: boolean | undefined;
  readonly owner: string | undefined;
  readonly after: string | undefined;
  readonly limit: number;
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;

export function parseTaskQuery(query: {
  label?: string | string[] | undefined;
  paused?: string | undefined;
  owner?: string | undefined;
  after?: string | undefined;
  limit?: number | undefined;
}): TaskQuery {
  const issues: FieldIssue[] = [];
  const rawLabels = query.label === undefined ? [] : Array.isArray(query.label) ? query.label : [query.label];
  const labels: Array<readonly [string, string]> = [];
  for (const raw of rawLabels) {
    const colon = raw.indexOf(':');
    if (colon <= 0) issues.push({ field: 'label', message: `"${raw}" must look like key:value` });
    else labels.push([raw.slice(0, colon), raw.slice(colon + 1)]);
  }
  let paused: boolean | undefined;
  if (query.paused === 'true') paused = true;
  else if (query.paused === 'false') paused = false;
  else if (query.paused !== undefined) issues.push({ field: 'paused', message: 'must be true or false' });
  if (issues.length > 0) throw new ApiError(ApiErrorCode.InvalidInput, undefined, issues);
  return { labels, paused, owner: query.owner, after: query.after, limit: query.limit ?? DEFAULT_PAGE_SIZE };
}

export interface TaskPage {
  readonly items: VersionedTask[];
  readonly nextCursor: string | undefined;
}

/**
 * Cuts one page from `sorted` (ascending ids, as the task index keeps them): starts after
 * the cursor by binary search and stops at the first match past the page, so a page costs
 * what it skips and returns, not a filter and sort of every task. `ownerOf` comes from
 * /assignment.
 */
export function selectTasks(
  sorted: readonly VersionedTask[],
  query: TaskQuery,
  ownerOf: (taskId: string) => string | undefined,
): TaskPage {
  const matches = ({ task }: VersionedTask): boolean =>
    query.labels.every(([key, value]) => task.labels[key] === value) &&
    (query.paused === undefined || task.paused === query.paused) &&
    (query.owner === undefined || ownerOf(task.id) === query.owner);
  const items: VersionedTask[] = [];
  let start = query.after === undefined ? 0 : lowerBound(sorted, query.after);
  if (query.after !== undefined && sorted[start]?.task.id === query.after) start++;
  for (let i = start; i < sorted.length; i++) {
    const entry = sorted[i];
    if (entry === undefined || !matches(entry)) continue;
    if (items.length === query.limit) {
      // One more match exists: the page is full and the client may ask for the next.
      return { items, nextCursor: items.at(-1)?.task.id };
    }
    items.push(entry);
  }
  return { items, nextCursor: undefined };
}

/** Index of the first entry whose id is not below `taskId` (ids compare as strings, as in paging). */
export function lowerBound(sorted: readonly VersionedTask[], taskId: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const id = sorted[mid]?.task.id ?? '';
    if (id < taskId) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
