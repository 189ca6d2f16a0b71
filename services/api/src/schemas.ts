import { type TSchema, Type } from '@sinclair/typebox';
import { ScheduleSchema, TASK_ID_PATTERN, TaskSpecSchema } from '@nono/domain';

/**
 * Route schemas, in TypeBox: the same objects drive request validation (see
 * request-validation.ts) and the OpenAPI document. Bodies marked `x-validated-by: handler`
 * are documented here but checked by the domain in the handler (parseTaskSpec names
 * every bad field and knows what a schedule means), not by the route compiler.
 */
const byHandler = <T extends TSchema>(schema: T): T => ({ ...schema, 'x-validated-by': 'handler' });

export const TaskIdParams = Type.Object(
  { id: Type.String({ pattern: TASK_ID_PATTERN, description: 'task id' }) },
  { additionalProperties: false },
);

export const CreateTaskBody = byHandler(
  Type.Composite(
    [Type.Object({ id: Type.String({ pattern: TASK_ID_PATTERN }) }), Type.Partial(TaskSpecSchema)],
    {
      description: 'A task spec plus its id; omitted fields take their defaults',
    },
  ),
);
export const ReplaceTaskBody = byHandler(
  Type.Composite(
    [
      Type.Object({ id: Type.Optional(Type.String({ pattern: TASK_ID_PATTERN })) }),
      Type.Partial(TaskSpecSchema),
    ],
    {
      description: 'The whole spec (a full replace: omitted fields take their defaults)',
    },
  ),
);
export const PatchTaskBody = byHandler(
  Type.Object({}, { additionalProperties: true, description: 'RFC 7396 JSON merge patch of the spec' }),
);

export const ListTasksQuery = Type.Object(
  {
    label: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String())], {
        description: 'key:value; repeat to require several',
      }),
    ),
    paused: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
    owner: Type.Optional(Type.String({ description: 'scheduler id from /assignment' })),
    after: Type.Optional(Type.String({ description: 'cursor: the last id of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);

export const PauseBody = byHandler(
  Type.Object({ note: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
);
export const EmptyBody = byHandler(Type.Object({}, { additionalProperties: false }));
export const TriggerBody = byHandler(
  Type.Object(
    {
      requestId: Type.Optional(
        Type.String({
          pattern: '^[A-Za-z0-9_-]{1,64}$',
          description: 'client-chosen id: retrying with the same id stays one fire',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);

export const PreviewQuery = Type.Object(
  { count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })) },
  { additionalProperties: false },
);
export const PreviewBody = byHandler(
  Type.Object(
    {
      schedule: ScheduleSchema,
      count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
      after: Type.Optional(Type.String({ description: 'RFC 3339 instant; default now' })),
    },
    { additionalProperties: false },
  ),
);

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);
