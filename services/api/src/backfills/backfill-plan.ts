import {
  BACKFILL_HARD_MAX_INSTANTS,
  type EpochMs,
  type FieldIssue,
  type PriorExecution,
  type SchedulerTask,
  backfillInstants,
  formatInstant,
  parseInstant,
  scheduledExecutionId,
  selectBackfillFires,
  type BackfillSelection,
} from '@nono/domain';
import { ApiError, ApiErrorCode } from '../errors.js';
import { type HistoryClient } from '../history/history-client.js';

/** What a client asks for (validated by the route's schema first). */
export interface BackfillRequest {
  readonly from: string;
  readonly to: string;
  readonly force: boolean;
  readonly allowLargeWindow: boolean;
}

export interface BackfillWindow {
  readonly from: EpochMs;
  readonly to: EpochMs;
}

/**
 * Checks the window: both RFC 3339, `to` not before `from` nor in the future (a backfill
 * re-fires past instants; the schedule fires the future ones), and no longer than
 * `maxWindowMs` unless `allowLargeWindow`. A failure names the field at fault.
 */
export function checkBackfillWindow(
  request: BackfillRequest,
  now: EpochMs,
  maxWindowMs: number,
): BackfillWindow {
  const from = parseInstant(request.from);
  const to = parseInstant(request.to);
  const issues: FieldIssue[] = [];
  if (from === undefined) issues.push({ field: 'from', message: 'not a valid RFC 3339 instant' });
  if (to === undefined) issues.push({ field: 'to', message: 'not a valid RFC 3339 instant' });
  if (from !== undefined && to !== undefined && to < from)
    issues.push({ field: 'to', message: 'must not be before from' });
  if (to !== undefined && to > now)
    issues.push({ field: 'to', message: `must not be in the future (now is ${formatInstant(now)})` });
  if (issues.length > 0 || from === undefined || to === undefined)
    throw new ApiError(ApiErrorCode.InvalidBackfill, undefined, issues);
  if (to - from > maxWindowMs && !request.allowLargeWindow)
    throw new ApiError(ApiErrorCode.BackfillTooLarge, undefined, [
      {
        field: 'to',
        message: `the window spans ${to - from} ms, more than the bound of ${maxWindowMs} ms; set allowLargeWindow to go past it`,
      },
    ]);
  return { from, to };
}

/**
 * The instants of the task's current schedule in the window, less those history says
 * succeeded (unless forced), each with the attempt number its first call takes.
 */
export async function planBackfill(
  history: HistoryClient,
  task: SchedulerTask,
  window: BackfillWindow,
  force: boolean,
  actor: string,
): Promise<BackfillSelection & { instants: number }> {
  const listed = backfillInstants(task, window.from, window.to, BACKFILL_HARD_MAX_INSTANTS);
  if (!listed.ok)
    throw new ApiError(ApiErrorCode.BackfillTooLarge, undefined, [
      {
        field: 'from',
        message: `the schedule names more than ${BACKFILL_HARD_MAX_INSTANTS} instants in the window, the most one backfill may fire (split the window)`,
      },
    ]);
  const prior =
    listed.instants.length === 0 ? new Map() : await priorExecutions(history, task.id, window, actor);
  return { ...selectBackfillFires(listed.instants, prior, force), instants: listed.instants.length };
}

interface ExecutionPage {
  items: { executionId: string; nominalTime: string; status: string; attempts: number }[];
  nextCursor: string | null;
}

/** History's executions of the task's scheduled instants in the window, by nominal instant. */
async function priorExecutions(
  history: HistoryClient,
  taskId: string,
  window: BackfillWindow,
  actor: string,
): Promise<Map<EpochMs, PriorExecution>> {
  const prior = new Map<EpochMs, PriorExecution>();
  // History's `to` is exclusive; the backfill window is inclusive.
  const base = `/tasks/${encodeURIComponent(taskId)}/executions?from=${encodeURIComponent(formatInstant(window.from))}&to=${encodeURIComponent(formatInstant(window.to + 1))}&limit=500`;
  for (let cursor: string | null = null, pages = 0; pages < 100; pages++) {
    const response = await history.get(
      cursor === null ? base : `${base}&cursor=${encodeURIComponent(cursor)}`,
      {
        actor,
      },
    );
    if (response.status !== 200)
      throw new ApiError(
        ApiErrorCode.HistoryUnavailable,
        `history answered ${response.status}: a backfill is planned from what history says succeeded`,
      );
    const page = JSON.parse(response.body.toString('utf8')) as Partial<ExecutionPage>;
    for (const item of Array.isArray(page.items) ? page.items : []) {
      const nominal = parseInstant(item.nominalTime);
      // Only the instant's scheduled execution (a manual run has an id of its own).
      if (nominal === undefined || item.executionId !== scheduledExecutionId(taskId, nominal)) continue;
      prior.set(nominal, { status: item.status, attempts: item.attempts });
    }
    cursor = typeof page.nextCursor === 'string' ? page.nextCursor : null;
    if (cursor === null) break;
  }
  return prior;
}
