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

/** Filters, sorts by id and cuts one page. `ownerOf` comes from /assignment. */
export function selectTasks(
  tasks: readonly VersionedTask[],
  query: TaskQuery,
  ownerOf: (taskId: string) => string | undefined,
): TaskPage {
  const matching = tasks
    .filter(({ task }) => query.labels.every(([key, value]) => task.labels[key] === value))
    .filter(({ task }) => query.paused === undefined || task.paused === query.paused)
    .filter(({ task }) => query.owner === undefined || ownerOf(task.id) === query.owner)
    .filter(({ task }) => query.after === undefined || task.id > query.after)
    .sort((a, b) => (a.task.id < b.task.id ? -1 : a.task.id > b.task.id ? 1 : 0));
  const items = matching.slice(0, query.limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: matching.length > query.limit && last !== undefined ? last.task.id : undefined,
  };
}
