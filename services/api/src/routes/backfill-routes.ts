import { randomUUID } from 'node:crypto';
import { type Backfill } from '@nono/coordination';
import {
  DEFAULT_BACKFILL_MAX_WINDOW_MS,
  backfillCancelledEvent,
  backfillRequestedEvent,
  decodeInstantRuns,
  encodeAttemptRuns,
  encodeInstantRuns,
  formatInstant,
  scheduledExecutionId as scheduledId,
} from '@nono/domain';
import { type Static, Type } from '@sinclair/typebox';
import { type FastifyInstance } from 'fastify';
import { checkBackfillWindow, planBackfill } from '../backfills/backfill-plan.js';
import { type ZkBackfills } from '../backfills/zk-backfills.js';
import { parseBody } from '../request-validation.js';
import { EmptyBody, TaskIdParams, byHandler } from '../schemas.js';
import { loadTask } from '../tasks/task-write.js';
import { type RouteDeps, auditContextOf } from './route-deps.js';

const Instant = Type.String({ description: 'RFC 3339 instant' });

export const BackfillBody = byHandler(
  Type.Object(
    {
      from: Type.String({ description: 'RFC 3339: the first instant of the window (inclusive)' }),
      to: Type.String({
        description: 'RFC 3339: the last instant of the window (inclusive), not in the future',
      }),
      force: Type.Optional(
        Type.Boolean({ description: 'fire the instants that already succeeded too (default false)' }),
      ),
      dryRun: Type.Optional(
        Type.Boolean({ description: 'answer the plan and fire nothing (default false)' }),
      ),
      ratePerSecond: Type.Optional(
        Type.Number({
          minimum: 0.01,
          maximum: 1000,
          description: 'starts per second at most, 0.01 to 1000 (default 10)',
        }),
      ),
      concurrency: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 100, description: 'calls in flight at most (default 4)' }),
      ),
      allowLargeWindow: Type.Optional(
        Type.Boolean({ description: 'allow a window longer than the bound (7 days); default false' }),
      ),
    },
    { additionalProperties: false },
  ),
);

const BackfillIdParams = Type.Object(
  {
    id: TaskIdParams.properties.id,
    backfillId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'backfill id' }),
  },
  { additionalProperties: false },
);

const ActorView = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('user'), Type.Literal('token'), Type.Literal('system')]),
});

export const BackfillPlanResponse = Type.Object(
  {
    taskId: Type.String(),
    dryRun: Type.Literal(true),
    from: Instant,
    to: Instant,
    force: Type.Boolean(),
    revision: Type.Integer({ description: 'the task revision whose schedule names the instants' }),
    instants: Type.Integer({ description: 'instants the schedule names in the window' }),
    alreadySucceeded: Type.Integer({ description: 'left out: they succeeded already (0 with force)' }),
    fires: Type.Array(
      Type.Object({ nominalTime: Instant, executionId: Type.String(), firstAttempt: Type.Integer() }),
      { description: 'what the backfill would fire, oldest first, under their original execution ids' },
    ),
  },
  { additionalProperties: false },
);

export const BackfillView = Type.Object(
  {
    backfillId: Type.String(),
    taskId: Type.String(),
    state: Type.Union([
      Type.Literal('running'),
      Type.Literal('cancelled'),
      Type.Literal('finished'),
      Type.Literal('abandoned'),
    ]),
    from: Instant,
    to: Instant,
    force: Type.Boolean(),
    revision: Type.Integer(),
    requestedBy: ActorView,
    requestedAt: Instant,
    ratePerSecond: Type.Number(),
    concurrency: Type.Integer(),
    total: Type.Integer({ description: 'instants to fire' }),
    alreadySucceeded: Type.Integer(),
    started: Type.Integer({ description: 'instants claimed (called, being called, or lost)' }),
    running: Type.Integer({ description: 'claimed and not over yet' }),
    succeeded: Type.Integer(),
    failed: Type.Integer({ description: 'failed, timed out or cancelled' }),
    lost: Type.Integer({
      description:
        'in flight on a scheduler that died: recorded lost, not refired (a new backfill picks them up)',
    }),
    lostInstants: Type.Array(Instant),
    notStarted: Type.Integer({ description: 'never claimed (left when cancelled)' }),
    cancelledBy: Type.Optional(ActorView),
    note: Type.Optional(Type.String()),
    updatedAt: Instant,
  },
  { additionalProperties: false },
);

const BackfillList = Type.Object({ items: Type.Array(BackfillView) }, { additionalProperties: false });

export function presentBackfill(b: Backfill): Static<typeof BackfillView> {
  const running = Object.keys(b.inflight).length;
  return {
    backfillId: b.backfillId,
    taskId: b.taskId,
    state: b.state,
    from: b.from,
    to: b.to,
    force: b.force,
    revision: b.revision,
    requestedBy: b.requestedBy,
    requestedAt: b.requestedAt,
    ratePerSecond: b.ratePerSecond,
    concurrency: b.concurrency,
    total: b.total,
    alreadySucceeded: b.alreadySucceeded,
    started: b.cursor,
    running,
    succeeded: b.succeeded,
    failed: b.failed,
    lost: b.lost.length,
    lostInstants: b.lost.map(formatInstant),
    notStarted: b.total - b.cursor,
    ...(b.cancelledBy === undefined ? {} : { cancelledBy: b.cancelledBy }),
    ...(b.note === undefined ? {} : { note: b.note }),
    updatedAt: b.updatedAt,
  };
}

type IdParams = { Params: Static<typeof TaskIdParams> };
type BackfillParams = { Params: Static<typeof BackfillIdParams> };

/**
 * Backfills: re-firing a task's past instants under their original execution ids
 * (docs/GETTING-STARTED.md, "Backfill"). The API plans, the task's owner runs.
 */
export function registerBackfillRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { backfills: ZkBackfills; maxBackfillWindowMs?: number },
): void {
  const tags = ['backfills'];
  const maxWindowMs = deps.maxBackfillWindowMs ?? DEFAULT_BACKFILL_MAX_WINDOW_MS;

  app.post<IdParams>(
    '/tasks/:id/backfills',
    {
      config: { minRole: 'operator' },
      schema: {
        tags,
        summary:
          "Re-fire the task's past instants in [from, to] under their original execution ids (202), or list them (dryRun: 200)",
        params: TaskIdParams,
        body: BackfillBody,
        response: { 200: BackfillPlanResponse, 202: BackfillView },
      },
    },
    async (request, reply) => {
      const body = parseBody(BackfillBody, request.body);
      const taskId = request.params.id;
      const context = auditContextOf(request, deps);
      const window = checkBackfillWindow(
        {
          from: body.from,
          to: body.to,
          force: body.force ?? false,
          allowLargeWindow: body.allowLargeWindow ?? false,
        },
        context.now,
        maxWindowMs,
      );
      const { task } = await loadTask(deps.store, taskId);
      const force = body.force ?? false;
      const plan = await planBackfill(deps.history, task, window, force, context.actor.id);
      if (body.dryRun === true)
        return reply.code(200).send({
          taskId,
          dryRun: true,
          from: formatInstant(window.from),
          to: formatInstant(window.to),
          force,
          revision: task.revision,
          instants: plan.instants,
          alreadySucceeded: plan.alreadySucceeded.length,
          fires: plan.fire.map((f) => ({
            nominalTime: formatInstant(f.nominal),
            executionId: scheduledId(taskId, f.nominal),
            firstAttempt: f.firstAttempt,
          })),
        });
      const backfillId = randomUUID();
      const instants = plan.fire.map((f) => f.nominal);
      const backfill: Backfill = {
        backfillId,
        taskId,
        taskIncarnation: task.createdAt,
        revision: task.revision,
        requestedBy: context.actor,
        requestedAt: formatInstant(context.now),
        from: formatInstant(window.from),
        to: formatInstant(window.to),
        force,
        ratePerSecond: body.ratePerSecond ?? 10,
        concurrency: body.concurrency ?? 4,
        instants: encodeInstantRuns(instants),
        total: instants.length,
        alreadySucceeded: plan.alreadySucceeded.length,
        attempts: encodeAttemptRuns(plan.fire).filter(([, attempt]) => attempt !== 1),
        state: instants.length === 0 ? 'finished' : 'running',
        cursor: 0,
        inflight: {},
        succeeded: 0,
        failed: 0,
        lost: [],
        updatedAt: formatInstant(context.now),
      };
      // The plan's encoding is exact (a unit test round-trips it); checked again here because
      // a scheduler fires what it decodes.
      if (decodeInstantRuns(backfill.instants).length !== instants.length)
        throw new Error('instant runs do not round-trip');
      await deps.backfills.create(
        backfill,
        backfillRequestedEvent(
          {
            taskId,
            backfillId,
            from: backfill.from,
            to: backfill.to,
            force,
            instants: backfill.total,
            alreadySucceeded: backfill.alreadySucceeded,
            ratePerSecond: backfill.ratePerSecond,
            concurrency: backfill.concurrency,
            revision: task.revision,
          },
          context,
        ),
      );
      return reply
        .code(202)
        .header('location', `/api/v1/tasks/${taskId}/backfills/${backfillId}`)
        .send(presentBackfill(backfill));
    },
  );

  app.get<IdParams>(
    '/tasks/:id/backfills',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: "The task's backfills with their progress, newest first",
        params: TaskIdParams,
        response: { 200: BackfillList },
      },
    },
    async (request) => {
      await loadTask(deps.store, request.params.id);
      return { items: (await deps.backfills.list(request.params.id)).map(presentBackfill) };
    },
  );

  app.get<BackfillParams>(
    '/tasks/:id/backfills/:backfillId',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'One backfill and its progress',
        params: BackfillIdParams,
        response: { 200: BackfillView },
      },
    },
    async (request) =>
      presentBackfill(await deps.backfills.get(request.params.id, request.params.backfillId)),
  );

  app.post<BackfillParams>(
    '/tasks/:id/backfills/:backfillId/cancel',
    {
      config: { minRole: 'operator' },
      schema: {
        tags,
        summary: 'Cancel a backfill: nothing more is claimed; calls already made finish (idempotent)',
        params: BackfillIdParams,
        body: EmptyBody,
        response: { 200: BackfillView },
      },
    },
    async (request) => {
      parseBody(EmptyBody, request.body);
      const { id: taskId, backfillId } = request.params;
      const context = auditContextOf(request, deps);
      const { backfill } = await deps.backfills.cancel(
        taskId,
        backfillId,
        context.actor,
        context.now,
        backfillCancelledEvent(taskId, backfillId, context),
      );
      return presentBackfill(backfill);
    },
  );
}
