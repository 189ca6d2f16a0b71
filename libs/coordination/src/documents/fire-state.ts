import { type Static, Type } from '@sinclair/typebox';
import { FireReasonSchema, TriggerParametersSchema } from '@nono/domain';
import { defineDocument } from './document.js';

/** An execution listed in its task's fire state from its claim until it is over. */
export const InflightExecutionSchema = Type.Object({
  nominal: Type.Number({ description: 'the nominal instant, epoch ms' }),
  schedulerId: Type.String(),
  startedAt: Type.Number(),
  deadlineAt: Type.Number({
    description: 'after this instant, an execution whose scheduler is gone counts as lost',
  }),
  reason: FireReasonSchema,
  fencingToken: Type.Number(),
  incarnation: Type.Optional(
    Type.String({
      description: 'the claiming process: its open-executions record says whether this one ended',
    }),
  ),
  seq: Type.Optional(Type.Number({ description: 'the claim number within that process' })),
  taskIncarnation: Type.Optional(
    Type.String({ description: 'the incarnation of the task that claimed it (its createdAt)' }),
  ),
  parameters: Type.Optional(TriggerParametersSchema),
  instantId: Type.Optional(
    Type.String({
      description:
        "a shard or broadcast execution's instant: all units of an instant are listed by the one write that claims it",
    }),
  ),
  shard: Type.Optional(
    Type.Object({ index: Type.Integer({ minimum: 0 }), count: Type.Integer({ minimum: 1 }) }),
  ),
  member: Type.Optional(
    Type.String({ description: "a broadcast execution's member (its URL): a re-run goes there too" }),
  ),
});
export type InflightExecution = Static<typeof InflightExecutionSchema>;

/**
 * `/fire-state/<taskId>`: the fence. Advanced only by compare-and-set; the winning write's
 * zxid is the fencing token.
 */
export const FireStateSchema = Type.Object({
  taskIncarnation: Type.Optional(
    Type.String({
      description:
        'the createdAt of the task this state belongs to: a task re-created under the same id starts a state of its own',
    }),
  ),
  lastNominal: Type.Number({
    description: 'every instant at or before this one has been handled (fired, skipped or expired)',
  }),
  runCount: Type.Integer({ minimum: 0, default: 0 }),
  firedBy: Type.Optional(Type.String({ description: 'the scheduler that made the last claim' })),
  inflight: Type.Record(Type.String(), InflightExecutionSchema, { default: {} }),
  consecutiveFailures: Type.Optional(
    Type.Object({
      count: Type.Integer({ minimum: 1 }),
      revision: Type.Integer({
        minimum: 1,
        description: 'the task revision they were counted under: a change to the task starts again',
      }),
    }),
  ),
  manualDone: Type.Array(Type.String(), {
    default: [],
    description:
      'the latest handled manual trigger request ids (a request whose znode outlived its fire is not fired again)',
  }),
});
export type FireState = Static<typeof FireStateSchema>;

export const fireStateDocument = defineDocument('fire state', FireStateSchema);
