import {
  type DstEffect,
  type TaskTiming,
  TimeZone,
  type InstantChanges,
  describeDstEffects,
  diffSchedules,
  formatInstant,
  nextTaskFireTimes,
  parseInstant,
  parseSchedule,
  usesHash,
} from '@nono/domain';
import { type Static } from '@sinclair/typebox';
import { type FastifyInstance } from 'fastify';
import { ApiError, ApiErrorCode } from '../errors.js';
import { parseBody } from '../request-validation.js';
import {
  FirePreviewResponse,
  PreviewBody,
  PreviewQuery,
  ReplaceTaskBody,
  ScheduleDiffQuery,
  ScheduleDiffResponse,
  TaskIdParams,
  TaskPreviewResponse,
} from '../schemas.js';
import { parseSpecBody } from '../tasks/task-input.js';
import { loadTask } from '../tasks/task-write.js';
import { type RouteDeps } from './route-deps.js';

export interface FirePreview {
  readonly timeZone: string;
  readonly after: string;
  readonly fireTimes: ReadonlyArray<{ readonly utc: string; readonly local: string }>;
  readonly dstEffects: readonly DstEffect[];
}

/** DST transitions within this long after `after` are described, whatever the number of instants listed. */
const DST_LOOKAHEAD_MS = 366 * 86_400_000;

/** `2026-03-29T03:00:00.000+02:00`: the instant as a wall clock in `zone` reads it. */
export function formatLocal(instant: number, zone: TimeZone): string {
  const offsetMs = zone.offsetAt(instant);
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.abs(offsetMs) / 60_000;
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = String(minutes % 60).padStart(2, '0');
  return `${new Date(instant + offsetMs).toISOString().slice(0, -1)}${sign}${hh}:${mm}`;
}

/**
 * The next nominal instants of a task (or of an unsaved schedule with the id it would have),
 * within its bounds, and what the DST transitions of the coming year do to it.
 */
export function previewFireTimes(task: TaskTiming, after: number, count: number): FirePreview {
  const zone = TimeZone.of(task.schedule.kind === 'cron' ? task.schedule.timeZone : 'UTC');
  const instants = nextTaskFireTimes(task, after, count);
  const until = Math.max(after + DST_LOOKAHEAD_MS, instants.at(-1) ?? after);
  return {
    timeZone: zone.name,
    after: formatInstant(after),
    fireTimes: instants.map((instant) => ({
      utc: formatInstant(instant),
      local: formatLocal(instant, zone),
    })),
    dstEffects: describeDstEffects(task.schedule, task.id, after, until),
  };
}

/** The instants of a window a change of timing adds and removes, each in UTC and in the new zone. */
export function describeScheduleDiff(
  before: TaskTiming,
  after: TaskTiming,
  from: number,
  days: number,
  listLimit: number,
): Static<typeof ScheduleDiffResponse> {
  const zone = TimeZone.of(after.schedule.kind === 'cron' ? after.schedule.timeZone : 'UTC');
  const diff = diffSchedules(before, after, from, from + days * 86_400_000, { listLimit });
  const shown = (changes: InstantChanges) => ({
    count: changes.count,
    first: changes.first.map((instant) => ({
      utc: formatInstant(instant),
      local: formatLocal(instant, zone),
    })),
  });
  return {
    taskId: after.id,
    timeZone: zone.name,
    from: formatInstant(diff.from),
    until: formatInstant(diff.until),
    checkedUntil: formatInstant(diff.checkedUntil),
    complete: diff.checkedUntil === diff.until,
    added: shown(diff.added),
    removed: shown(diff.removed),
    kept: diff.kept,
  };
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
        ...previewFireTimes(task, deps.clock.now(), request.query.count ?? 10),
      };
    },
  );

  app.post<{ Params: Static<typeof TaskIdParams>; Querystring: Static<typeof ScheduleDiffQuery> }>(
    '/tasks/:id/schedule-diff',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'The instants a proposed replacement of a task adds and removes (nothing is saved)',
        description:
          "The body is what PUT /tasks/{id} would take. Compares the saved task's nominal instants with the proposal's over the next `days` days.",
        params: TaskIdParams,
        querystring: ScheduleDiffQuery,
        body: ReplaceTaskBody,
        response: { 200: ScheduleDiffResponse },
      },
    },
    async (request) => {
      const taskId = request.params.id;
      const now = deps.clock.now();
      const { spec } = parseSpecBody(request.body, {
        now,
        policy: deps.targetPolicy,
        id: { required: false, expected: taskId },
      });
      const { task } = await loadTask(deps.store, taskId);
      return describeScheduleDiff(
        task,
        { ...spec, id: taskId },
        now,
        request.query.days ?? 7,
        request.query.count ?? 20,
      );
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
      if (body.taskId === undefined && usesHash(schedule.value)) {
        throw new ApiError(ApiErrorCode.InvalidSchedule, undefined, [
          {
            field: 'taskId',
            message: 'is required: the schedule uses H, whose values come from the task id',
          },
        ]);
      }
      const task = { id: body.taskId ?? '', schedule: schedule.value };
      return reply.send(previewFireTimes(task, after, body.count ?? 10));
    },
  );
}
