import { randomUUID } from 'node:crypto';
import {
  type TaskSpec,
  checkTriggerParameters,
  formatInstant,
  manualExecutionId,
  taskSpecOf,
  triggeredEvent,
} from '@nono/domain';
import { ApiErrorCode, invalidInput } from '../errors.js';
import { type Static } from '@sinclair/typebox';
import { type FastifyInstance } from 'fastify';
import { parseBody } from '../request-validation.js';
import {
  CancelBody,
  CancelResponse,
  ExecutionParams,
  EmptyBody,
  PauseBody,
  TaskIdParams,
  TaskResponse,
  TriggerBody,
  TriggerResponse,
} from '../schemas.js';
import { loadTask, sendTask, writeTask } from '../tasks/task-write.js';
import { type RouteDeps, auditContextOf, replaceWithAudit } from './route-deps.js';

type IdParams = { Params: Static<typeof TaskIdParams> };

/** What operators do to a task without redefining it: pause, resume, fire now. */
export function registerTaskActionRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store } = deps;
  const tags = ['task actions'];

  app.post<IdParams>(
    '/tasks/:id/pause',
    {
      config: { minRole: 'operator' },
      schema: {
        tags,
        summary: 'Pause a task (idempotent)',
        params: TaskIdParams,
        body: PauseBody,
        response: { 200: TaskResponse },
      },
    },
    async (request, reply) => {
      const { note } = parseBody(PauseBody, request.body);
      const saved = await writeTask(request, store, request.params.id, async (current) => {
        // Already paused: a repeat changes nothing unless it brings a different note.
        if (current.task.paused && (note === undefined || note === current.task.pausedNote)) return current;
        const spec: TaskSpec = { ...taskSpecOf(current.task), paused: true };
        if (note === undefined) delete spec.pausedNote;
        else spec.pausedNote = note;
        return replaceWithAudit(request, deps, current, spec, 'nono.task.paused.v1', note);
      });
      return sendTask(reply, saved);
    },
  );

  app.post<IdParams>(
    '/tasks/:id/resume',
    {
      config: { minRole: 'operator' },
      schema: {
        tags,
        summary: 'Resume a paused task (idempotent)',
        params: TaskIdParams,
        body: EmptyBody,
        response: { 200: TaskResponse },
      },
    },
    async (request, reply) => {
      parseBody(EmptyBody, request.body);
      const saved = await writeTask(request, store, request.params.id, async (current) => {
        if (!current.task.paused) return current;
        const { pausedNote: _note, ...rest } = taskSpecOf(current.task);
        return replaceWithAudit(request, deps, current, { ...rest, paused: false }, 'nono.task.resumed.v1');
      });
      return sendTask(reply, saved);
    },
  );

  app.post<{ Params: Static<typeof ExecutionParams> }>(
    '/tasks/:id/executions/:executionId/cancel',
    {
      config: { minRole: 'operator' },
      schema: {
        tags,
        summary:
          'Stop a running execution (202: the scheduler running it aborts the call and records it cancelled, with who and why; no retry follows)',
        params: ExecutionParams,
        body: CancelBody,
        response: { 202: CancelResponse },
      },
    },
    async (request, reply) => {
      const { id: taskId, executionId } = request.params;
      await loadTask(store, taskId);
      const context = auditContextOf(request, deps);
      const { note } = parseBody(CancelBody, request.body ?? {});
      const created = await store.requestCancel(taskId, executionId, {
        actor: context.actor,
        requestedAt: formatInstant(context.now),
        ...(note === undefined ? {} : { note }),
      });
      return reply.code(202).send({ taskId, executionId, duplicate: !created });
    },
  );

  app.post<IdParams>(
    '/tasks/:id/trigger',
    {
      config: { minRole: 'operator' },
      schema: {
        tags,
        summary: 'Fire a task now, once (202: the owning scheduler fires it)',
        params: TaskIdParams,
        body: TriggerBody,
        response: { 202: TriggerResponse },
      },
    },
    async (request, reply) => {
      const body = parseBody(TriggerBody, request.body);
      const taskId = request.params.id;
      const current = await loadTask(store, taskId);
      const { parameters } = body;
      if (parameters !== undefined) {
        const checked = checkTriggerParameters(current.task, parameters);
        if (!checked.ok) throw invalidInput(checked.issues, ApiErrorCode.InvalidTriggerParameters);
      }
      const context = auditContextOf(request, deps);
      const requestId = body.requestId ?? randomUUID();
      const created = await store.requestTrigger(
        taskId,
        {
          requestId,
          actor: context.actor.id,
          requestedAt: formatInstant(context.now),
          ...(parameters === undefined ? {} : { parameters }),
        },
        triggeredEvent(taskId, requestId, context, parameters),
      );
      return reply
        .code(202)
        .send({ taskId, requestId, executionId: manualExecutionId(taskId, requestId), duplicate: !created });
    },
  );
}
