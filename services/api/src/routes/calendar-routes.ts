import {
  type Calendar,
  calendarDefinedEvent,
  calendarDeletedEvent,
  calendarUpdatedEvent,
  parseCalendarSpec,
} from '@nono/domain';
import { type Static } from '@sinclair/typebox';
import { type FastifyInstance, type FastifyReply } from 'fastify';
import { type VersionedCalendar, type ZkCalendars, nextCalendar } from '../calendars/zk-calendars.js';
import { ApiError, ApiErrorCode } from '../errors.js';
import {
  CalendarBody,
  CalendarListResponse,
  CalendarNameParams,
  CalendarResponse,
  NoContent,
} from '../schemas.js';
import { checkIfMatch, etagOf } from '../tasks/etag.js';
import { ifMatchOf } from '../tasks/task-write.js';
import { type RouteDeps, auditContextOf } from './route-deps.js';

type NameParams = { Params: Static<typeof CalendarNameParams> };

function send(reply: FastifyReply, versioned: VersionedCalendar, status = 200): FastifyReply {
  return reply.code(status).header('etag', etagOf(versioned.calendar.revision)).send(versioned.calendar);
}

/**
 * Exclusion calendars: named sets of local dates on which the tasks that reference them do not
 * fire (each instant is recorded as skipped, reason `calendar`). Read by viewers, changed by
 * admins with If-Match like tasks; a calendar a task references cannot be deleted.
 */
export function registerCalendarRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const tags = ['calendars'];
  const load = async (name: string): Promise<VersionedCalendar> => {
    const current = await deps.calendars.get(name);
    if (current === undefined) throw new ApiError(ApiErrorCode.CalendarNotFound, `no calendar "${name}"`);
    return current;
  };

  app.get(
    '/calendars',
    {
      config: { minRole: 'viewer' },
      schema: { tags, summary: 'Every exclusion calendar', response: { 200: CalendarListResponse } },
    },
    async () => ({ items: await deps.calendars.list() }),
  );

  app.get<NameParams>(
    '/calendars/:name',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'One exclusion calendar',
        params: CalendarNameParams,
        response: { 200: CalendarResponse },
      },
    },
    async (request, reply) => send(reply, await load(request.params.name)),
  );

  app.put<NameParams>(
    '/calendars/:name',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary:
          'Create or replace an exclusion calendar (honours If-Match; applies to the next claim of every task that references it)',
        params: CalendarNameParams,
        body: CalendarBody,
        response: { 200: CalendarResponse, 201: CalendarResponse },
      },
    },
    async (request, reply) => {
      const parsed = parseCalendarSpec(request.body);
      if (!parsed.ok) throw new ApiError(ApiErrorCode.InvalidCalendar, undefined, parsed.issues);
      const current = await deps.calendars.get(request.params.name);
      const ifMatch = ifMatchOf(request);
      if (current === undefined && ifMatch !== undefined)
        throw new ApiError(ApiErrorCode.PreconditionFailed, `no calendar "${request.params.name}" to match`);
      if (current !== undefined) checkIfMatch(ifMatch, current.calendar.revision);
      const context = auditContextOf(request, deps);
      const next = nextCalendar(request.params.name, parsed.value, current, context.now);
      const event =
        current === undefined
          ? calendarDefinedEvent(next, context)
          : calendarUpdatedEvent(current.calendar, next, context);
      const saved = await deps.calendars.put(next, current, event);
      return send(reply, saved, current === undefined ? 201 : 200);
    },
  );

  app.delete<NameParams>(
    '/calendars/:name',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Delete an exclusion calendar no task references (honours If-Match)',
        params: CalendarNameParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const current = await load(request.params.name);
      checkIfMatch(ifMatchOf(request), current.calendar.revision);
      const users = (await deps.store.list())
        .filter(({ task }) => task.calendars?.includes(request.params.name) === true)
        .map(({ task }) => task.id);
      if (users.length > 0)
        throw new ApiError(
          ApiErrorCode.CalendarInUse,
          `calendar "${request.params.name}" is referenced by ${users.length} task(s): ${users.slice(0, 10).join(', ')}`,
        );
      await deps.calendars.remove(
        current,
        calendarDeletedEvent(current.calendar, auditContextOf(request, deps)),
      );
      return reply.code(204).send();
    },
  );
}

/**
 * The task's calendars that do not exist, as issues on `calendars[i]`: a task may only
 * reference calendars that are defined (a missing one would silently exclude nothing).
 */
export async function missingCalendars(
  calendars: ZkCalendars,
  names: readonly string[] | undefined,
): Promise<Array<{ field: string; message: string }>> {
  if (names === undefined) return [];
  const issues: Array<{ field: string; message: string }> = [];
  for (const [i, name] of names.entries())
    if ((await calendars.get(name)) === undefined)
      issues.push({
        field: `calendars[${i}]`,
        message: `no calendar "${name}" (define it with PUT /calendars/${name})`,
      });
  return issues;
}

export type { Calendar };
