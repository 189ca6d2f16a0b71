import { type Static, Type } from '@sinclair/typebox';
import { ActorSchema } from '@nono/domain';
import { defineDocument } from './document.js';

/** An instant of the plan claimed by a scheduler and not over yet. */
export const BackfillClaimSchema = Type.Object({
  schedulerId: Type.String(),
  incarnation: Type.String({
    description: 'the claiming process: a claim of a process that is gone was lost with it',
  }),
  claimedAt: Type.Number(),
});
export type BackfillClaim = Static<typeof BackfillClaimSchema>;

const Count = Type.Integer({ minimum: 0 });

/**
 * `/backfills/<taskId>@<backfillId>`: one backfill, planned by the API and run by the task's
 * owner. The plan (instants, attempt numbers) never changes; `cursor` and `inflight` are the
 * fence: an instant is claimed by moving it from the cursor into `inflight` with a
 * compare-and-set on this document before it is called, so a scheduler that takes over never
 * calls an instant another one claimed. Its in-flight claims are recorded lost, not refired.
 */
export const BackfillSchema = Type.Object({
  backfillId: Type.String(),
  taskId: Type.String(),
  taskIncarnation: Type.String({ description: 'the createdAt of the task it was planned for' }),
  revision: Type.Integer({ description: 'the task revision whose schedule named the instants' }),
  requestedBy: ActorSchema,
  requestedAt: Type.String({ description: 'ISO 8601' }),
  from: Type.String({ description: 'ISO 8601, inclusive' }),
  to: Type.String({ description: 'ISO 8601, inclusive' }),
  force: Type.Boolean(),
  ratePerSecond: Type.Number({ minimum: 0.01 }),
  concurrency: Type.Integer({ minimum: 1 }),
  instants: Type.Array(Type.Tuple([Type.Number(), Type.Number(), Type.Integer({ minimum: 1 })]), {
    description: 'the nominal instants to fire, oldest first, as runs [first, stepMs, count]',
  }),
  total: Count,
  alreadySucceeded: Count,
  attempts: Type.Array(
    Type.Tuple([Type.Integer(), Type.Integer({ minimum: 1 }), Type.Integer({ minimum: 1 })]),
    {
      description: "each instant's first attempt number as runs [firstIndex, attempt, count]; absent: 1",
    },
  ),
  state: Type.Union([
    Type.Literal('running'),
    Type.Literal('cancelled'),
    Type.Literal('finished'),
    Type.Literal('abandoned'),
  ]),
  cursor: Type.Integer({ minimum: 0, description: 'instants before this index are claimed' }),
  inflight: Type.Record(Type.String(), BackfillClaimSchema, {
    description: 'claimed and not over yet, by index in the plan',
  }),
  succeeded: Count,
  failed: Count,
  lost: Type.Array(Type.Number(), {
    description: 'nominal instants that were in flight on a scheduler that died: recorded lost, not refired',
  }),
  cancelledBy: Type.Optional(ActorSchema),
  note: Type.Optional(Type.String({ description: 'why it ended otherwise than finished' })),
  updatedAt: Type.String({ description: 'ISO 8601' }),
});
export type Backfill = Static<typeof BackfillSchema>;

export const backfillDocument = defineDocument('backfill', BackfillSchema);
