import {
  type Schedule,
  type SchedulerTask,
  TimeZone,
  formatInstant,
  nextFireTimes,
  parseInstant,
  parseSchedule,
} from '@nono/domain';
import { type Static } from '@sinclair/typebox';
import { type FastifyInstance } from 'fastify';
import { ApiError, ApiErrorCode } from '../errors.js';
import { parseBody } from '../request-validation.js';
import {
  FirePreviewResponse,
  PreviewBody,
  PreviewQuery,
  TaskIdParams,
  TaskPreviewResponse,
} from '../schemas.js';
import { loadTask } from '../tasks/task-write.js';
import { type RouteDeps } from './route-deps.js';

export interface FirePreview {
  readonly timeZone: string;
  readonly after: string;
  readonly fireTimes: ReadonlyArray<{ readonly utc: string; readonly local: string }>;
}

/** `2026-03-29T03:00:00.000+02:00`: the instant as a wall clock in `zone` reads it. */
export function formatLocal(instant: number, zone: TimeZone): string {
  const offsetMs = zone.offsetAt(instant);
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.abs(offsetMs) / 60_000;
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = String(minutes % 60).padStart(2, '0');
  return `${new Date(instant + offsetMs).toISOString().slice(0, -1)}${sign}${hh}:${mm}`;
}

/** The next `count` nominal instants of a schedule after `after`, within the task's bounds. */
export function boundedFireTimes(
  schedule: Schedule,
  after: number,
  count: number,
  bounds: Pick<SchedulerTask, 'startAt' | 'endAt'> = {},
): number[] {
  const startAt = bounds.startAt === undefined ? undefined : parseInstant(bounds.startAt);
  const endAt = bounds.endAt === undefined ? undefined : parseInstant(bounds.endAt);
  const from = startAt !== undefined && startAt - 1 > after ? startAt - 1 : after;
  return nextFireTimes(schedule, from, count).filter((instant) => endAt === undefined || instant <= endAt);
}

/** The next nominal instants of a schedule, within the task's bounds when there is a task. */
export function previewFireTimes(
  schedule: Schedule,
  after: number,
  count: number,
  bounds: Pick<SchedulerTask, 'startAt' | 'endAt'> = {},
): FirePreview {
  const zone = new TimeZone(schedule.kind === 'cron' ? schedule.timeZone : 'UTC');
  const instants = boundedFireTimes(schedule, after, count, bounds);
  return {
    timeZone: zone.name,
    after: formatInstant(after),
    fireTimes: instants.map((instant) => ({
      utc: formatInstant(instant),
      local: formatLocal(instant, zone),
    })),
  };
}

/**
 * The task's next nominal instant after `now` within its bounds, or undefined (paused
 * tasks included: the instant they would fire at is still what a person wants to see).
 */
export function nextFireInstant(task: SchedulerTask, now: number): number | undefined {
  return boundedFireTimes(task.schedule, now, 1, task)[0];
}

export function registerPreviewRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const tags = ['preview'];

  app.get<{ Params: Static<typeof TaskIdParams>; Querystring: Static<typeof PreviewQuery> }>(
    '/tasks/:id/preview',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: "A task's next fire times",
        params: TaskIdParams,
        querystring: PreviewQuery,
        response: { 200: TaskPreviewResponse },
      },
    },
    async (request) => {
      const { task } = await loadTask(deps.store, request.params.id);
      return {
        taskId: task.id,
        ...previewFireTimes(task.schedule, deps.clock.now(), request.query.count ?? 10, task),
      };
    },
  );

  app.post(
    '/preview',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'Next fire times of an unsaved schedule',
        body: PreviewBody,
        response: { 200: FirePreviewResponse },
      },
    },
    (request, reply) => {
      const raw = (request.body ?? {}) as { schedule?: unknown };
      const schedule = parseSchedule(raw.schedule);
      if (!schedule.ok) throw new ApiError(ApiErrorCode.InvalidSchedule, undefined, schedule.issues);
      const body = parseBody(PreviewBody, { ...raw, schedule: schedule.value });
      let after = deps.clock.now();
      if (body.after !== undefined) {
        const parsed = parseInstant(body.after);
        if (parsed === undefined)
          throw new ApiError(ApiErrorCode.InvalidInput, undefined, [
            { field: 'after', message: 'must be an RFC 3339 instant with an offset' },
          ]);
        after = parsed;
      }
      return reply.send(previewFireTimes(schedule.value, after, body.count ?? 10));
    },
  );
}
