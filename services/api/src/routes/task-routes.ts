import { createTask, nextTaskFireTime, taskSpecOf } from '@nono/domain';
import { type Static } from '@sinclair/typebox';
import { type FastifyInstance } from 'fastify';
import { definedEvent, deletedEvent } from '@nono/domain';
import { ownerIndex } from '../cluster/cluster-view.js';
import {
  CreateTaskBody,
  ListTasksQuery,
  NoContent,
  PatchTaskBody,
  ReplaceTaskBody,
  TaskIdParams,
  TaskListResponse,
  TaskResponse,
} from '../schemas.js';
import { etagOf } from '../tasks/etag.js';
import { applyMergePatch } from '../tasks/merge-patch.js';
import { parseSpecBody } from '../tasks/task-input.js';
import { parseTaskQuery, selectTasks } from '../tasks/task-query.js';
import { loadTask, sendTask, writeTask } from '../tasks/task-write.js';
import { NextFireCache } from '../tasks/next-fire-cache.js';
import { ApiError, ApiErrorCode } from '../errors.js';
import { missingCalendars } from './calendar-routes.js';
import { type RouteDeps, auditContextOf, replaceWithAudit } from './route-deps.js';

type IdParams = { Params: Static<typeof TaskIdParams> };

/** CRUD on task definitions: /tasks and /tasks/:id. */
export function registerTaskRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store } = deps;
  const tags = ['tasks'];
  const nextFires = new NextFireCache(nextTaskFireTime);

  app.post(
    '/tasks',
    {
      config: { minRole: 'admin' },
      schema: { tags, summary: 'Define a task', body: CreateTaskBody, response: { 201: TaskResponse } },
    },
    async (request, reply) => {
      const now = deps.clock.now();
      const { id, spec } = parseSpecBody(request.body, {
        now,
        policy: deps.targetPolicy,
        id: { required: true },
      });
      await requireCalendars(deps, spec.calendars);
      const task = createTask(id, spec, now);
      const created = await store.create(task, definedEvent(task, auditContextOf(request, deps)));
      return sendTask(
        reply.header('location', `${request.url.replace(/\/+$/, '')}/${encodeURIComponent(id)}`),
        created,
        201,
      );
    },
  );

  app.get<{ Querystring: Static<typeof ListTasksQuery> }>(
    '/tasks',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'List tasks (filter by label, paused, owner; page by id)',
        querystring: ListTasksQuery,
        response: { 200: TaskListResponse },
      },
    },
    async (request) => {
      const query = parseTaskQuery(request.query);
      const [tasks, assignment] = await Promise.all([store.list(), deps.cluster.assignment()]);
      const owners = ownerIndex(assignment);
      const now = deps.clock.now();
      const page = selectTasks(tasks, query, (taskId) => owners.get(taskId));
      return {
        items: page.items.map(({ task }) => ({
          etag: etagOf(task.revision),
          owner: owners.get(task.id) ?? null,
          nextFireAt: nextFires.nextFireAt(task, now),
          task,
        })),
        nextCursor: page.nextCursor ?? null,
      };
    },
  );

  app.get<IdParams>(
    '/tasks/:id',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'Read a task (ETag = znode version)',
        params: TaskIdParams,
        response: { 200: TaskResponse },
      },
    },
    async (request, reply) => sendTask(reply, await loadTask(store, request.params.id)),
  );

  app.put<IdParams>(
    '/tasks/:id',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Replace a task (honours If-Match)',
        params: TaskIdParams,
        body: ReplaceTaskBody,
        response: { 200: TaskResponse },
      },
    },
    async (request, reply) => {
      const taskId = request.params.id;
      const now = deps.clock.now();
      const { spec } = parseSpecBody(request.body, {
        now,
        policy: deps.targetPolicy,
        id: { required: false, expected: taskId },
      });
      await requireCalendars(deps, spec.calendars);
      const saved = await writeTask(request, store, taskId, (current) => {
        return replaceWithAudit(request, deps, current, spec, 'nono.task.updated.v1');
      });
      return sendTask(reply, saved);
    },
  );

  app.patch<IdParams>(
    '/tasks/:id',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Merge-patch a task spec (RFC 7396), re-validated whole',
        params: TaskIdParams,
        body: PatchTaskBody,
        response: { 200: TaskResponse },
      },
    },
    async (request, reply) => {
      const taskId = request.params.id;
      const now = deps.clock.now();
      const saved = await writeTask(request, store, taskId, async (current) => {
        const merged = applyMergePatch(taskSpecOf(current.task), request.body);
        const { spec } = parseSpecBody(merged, {
          now,
          policy: deps.targetPolicy,
          id: { required: false, expected: taskId },
        });
        await requireCalendars(deps, spec.calendars);
        return replaceWithAudit(request, deps, current, spec, 'nono.task.updated.v1');
      });
      return sendTask(reply, saved);
    },
  );

  app.delete<IdParams>(
    '/tasks/:id',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Delete a task (honours If-Match)',
        params: TaskIdParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await writeTask(request, store, request.params.id, (current) =>
        store.remove(current, deletedEvent(current.task, auditContextOf(request, deps))),
      );
      return reply.code(204).send();
    },
  );
}

/** A task may only name calendars that exist: 422 naming each `calendars[i]` that does not. */
async function requireCalendars(deps: RouteDeps, names: readonly string[] | undefined): Promise<void> {
  const issues = await missingCalendars(deps.calendars, names);
  if (issues.length > 0) throw new ApiError(ApiErrorCode.InvalidTask, undefined, issues);
}
