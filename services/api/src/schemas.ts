import { API_TOKEN_NAME_PATTERN, WEBHOOK_SECRET_HOST_PATTERN } from '@nono/coordination';
import { type TSchema, Type } from '@sinclair/typebox';
import {
  CALENDAR_NAME_PATTERN,
  EXECUTION_ID_PATTERN,
  CalendarSchema,
  CalendarSpecSchema,
  GROUP_NAME_PATTERN,
  MEMBER_ID_PATTERN,
  MEMBER_URL_MAX_LENGTH,
  type WorkerGroup,
  WorkerGroupSchema,
  WorkerGroupSpecSchema,
  type SchedulerTask,
  ScheduleSchema,
  SchedulerTaskSchema,
  INSTANT_PATTERN,
  TASK_ID_PATTERN,
  TaskSpecSchema,
  TriggerParametersSchema,
} from '@nono/domain';

/**
 * Route schemas, in TypeBox: the same objects drive request validation (see
 * request-validation.ts) and the OpenAPI document. Bodies marked `x-validated-by: handler`
 * are documented here but checked by the domain in the handler (parseTaskSpec names
 * every bad field and knows what a schedule means), not by the route compiler.
 */
export const byHandler = <T extends TSchema>(schema: T): T => ({ ...schema, 'x-validated-by': 'handler' });

export const TaskIdParams = Type.Object(
  { id: Type.String({ pattern: TASK_ID_PATTERN, description: 'task id' }) },
  { additionalProperties: false },
);

/**
 * A request body as a client may write it: every field with a default may be left out (the
 * domain fills it in), every other stays required, at every depth. The stored schema
 * requires them all, since a stored task has its defaults applied.
 */
function omittableDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(omittableDefaults);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: Record<string, unknown> = Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [key, omittableDefaults(value)]),
  );
  const properties = copy['properties'] as Record<string, { default?: unknown }> | undefined;
  if (Array.isArray(copy['required']) && properties !== undefined)
    copy['required'] = (copy['required'] as string[]).filter(
      (name) => properties[name]?.default === undefined,
    );
  return copy;
}

export const CreateTaskBody = byHandler(
  Type.Unsafe(
    omittableDefaults(
      Type.Composite([Type.Object({ id: Type.String({ pattern: TASK_ID_PATTERN }) }), TaskSpecSchema], {
        description: 'A task spec plus its id; omitted fields take their defaults',
      }),
    ) as TSchema,
  ),
);
export const ReplaceTaskBody = byHandler(
  Type.Unsafe(
    omittableDefaults(
      Type.Composite(
        [Type.Object({ id: Type.Optional(Type.String({ pattern: TASK_ID_PATTERN })) }), TaskSpecSchema],
        { description: 'The whole spec (a full replace: omitted fields take their defaults)' },
      ),
    ) as TSchema,
  ),
);
export const PatchTaskBody = byHandler(
  Type.Object({}, { additionalProperties: true, description: 'RFC 7396 JSON merge patch of the spec' }),
);

/** `key:value`: a key as labels have them (the value may be anything, colons included). */
const LabelFilter = Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9._/-]{0,62}:' });

export const ListTasksQuery = Type.Object(
  {
    label: Type.Optional(
      Type.Union([LabelFilter, Type.Array(LabelFilter)], {
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
      parameters: Type.Optional(TriggerParametersSchema),
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
      after: Type.Optional(
        Type.String({ pattern: INSTANT_PATTERN, description: 'RFC 3339 instant; default now' }),
      ),
      taskId: Type.Optional(
        Type.String({
          pattern: TASK_ID_PATTERN,
          description: 'the id the task will have: required when the cron uses H',
        }),
      ),
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

/*
 * Success responses. Fastify serialises each with fast-json-stringify compiled from
 * these schemas (only the properties named here leave the process), and the OpenAPI
 * document shows them. The fuzz test checks every 2xx body against the document.
 */

/** The stored task; shared as `Task` so the document names it once. */
export const TaskSchema: TSchema = { ...SchedulerTaskSchema, $id: 'Task', description: 'A task as stored' };
const TaskRef = Type.Unsafe<SchedulerTask>({ $ref: 'Task#' });
const NullableString = (description: string) => Type.Union([Type.String(), Type.Null()], { description });

/** Every answer that is one task (GET, create, replace, patch, pause, resume). */
export const TaskResponse = TaskRef;

export const TaskListResponse = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          etag: Type.String({ description: 'the ETag a write of this task must match (If-Match)' }),
          owner: NullableString('the scheduler that owns the task in /assignment; null if none yet'),
          nextFireAt: NullableString(
            'the next nominal instant within startAt/endAt, paused or not; null if it will not fire again',
          ),
          task: TaskRef,
        },
        { additionalProperties: false },
      ),
    ),
    nextCursor: NullableString('pass as `after` for the next page; null on the last page'),
  },
  { additionalProperties: false, description: 'One page of tasks, in id order' },
);

export const ExecutionParams = Type.Object(
  {
    id: Type.String({ pattern: TASK_ID_PATTERN, description: 'task id' }),
    executionId: Type.String({ pattern: EXECUTION_ID_PATTERN }),
  },
  { additionalProperties: false },
);
export const CancelBody = byHandler(
  Type.Object(
    { note: Type.Optional(Type.String({ maxLength: 500, description: 'why: on the cancelled fact' })) },
    { additionalProperties: false },
  ),
);
export const CancelResponse = Type.Object(
  {
    taskId: Type.String(),
    executionId: Type.String(),
    duplicate: Type.Boolean({ description: 'true when a cancel of this execution was already requested' }),
  },
  { additionalProperties: false },
);

export const TriggerResponse = Type.Object(
  {
    taskId: Type.String(),
    requestId: Type.String(),
    executionId: Type.String({ description: 'manualExecutionId(taskId, requestId): the Idempotency-Key' }),
    duplicate: Type.Boolean({ description: 'true when a request with this requestId already existed' }),
  },
  { additionalProperties: false },
);

export const FirePreviewResponse = Type.Object(
  {
    timeZone: Type.String(),
    after: Type.String({ description: 'RFC 3339: the instants listed are strictly after it' }),
    fireTimes: Type.Array(
      Type.Object(
        {
          utc: Type.String({ description: 'RFC 3339, UTC' }),
          local: Type.String({ description: 'the same instant with the zone offset' }),
        },
        { additionalProperties: false },
      ),
    ),
    dstEffects: Type.Array(
      Type.Object(
        {
          transitionAt: Type.String({ description: 'RFC 3339: when the zone offset changes' }),
          kind: Type.Union([Type.Literal('gap'), Type.Literal('overlap')]),
          readings: Type.Integer({ description: 'matching wall-clock times skipped or repeated' }),
          message: Type.String({
            description: 'e.g. "on 2026-10-25 02:30 occurs twice (...); fires at the first only"',
          }),
        },
        { additionalProperties: false },
      ),
      { description: 'what the DST transitions of the coming year (or the listed span) do to the schedule' },
    ),
  },
  { additionalProperties: false },
);

export const CalendarNameParams = Type.Object(
  { name: Type.String({ pattern: CALENDAR_NAME_PATTERN, description: 'calendar name' }) },
  { additionalProperties: false },
);
export const CalendarBody = byHandler(Type.Unsafe(omittableDefaults(CalendarSpecSchema) as TSchema));
export const CalendarResponse = CalendarSchema;
export const CalendarListResponse = Type.Object(
  { items: Type.Array(CalendarSchema) },
  { additionalProperties: false },
);

export const ScheduleDiffQuery = Type.Object(
  {
    days: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 31, default: 7, description: 'the window compared, from now' }),
    ),
    count: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'instants listed per side' }),
    ),
  },
  { additionalProperties: false },
);

const ChangedInstants = Type.Object(
  {
    count: Type.Integer({ minimum: 0 }),
    first: Type.Array(
      Type.Object(
        {
          utc: Type.String({ description: 'RFC 3339, UTC' }),
          local: Type.String({ description: "the same instant with the proposal's zone offset" }),
        },
        { additionalProperties: false },
      ),
      { description: 'the earliest ones' },
    ),
  },
  { additionalProperties: false },
);

export const ScheduleDiffResponse = Type.Object(
  {
    taskId: Type.String(),
    timeZone: Type.String({ description: "the proposal's zone (UTC for intervals and one-shots)" }),
    from: Type.String({ description: 'RFC 3339: instants strictly after it are compared' }),
    until: Type.String({ description: 'RFC 3339: the end of the window' }),
    checkedUntil: Type.String({
      description:
        'RFC 3339: how far both were compared; before `until` when a schedule has more than 100,000 instants in the window',
    }),
    complete: Type.Boolean({ description: 'whether the whole window was compared' }),
    added: ChangedInstants,
    removed: ChangedInstants,
    kept: Type.Integer({ minimum: 0, description: 'instants both have' }),
  },
  { additionalProperties: false },
);

export const TaskPreviewResponse = Type.Composite(
  [Type.Object({ taskId: Type.String() }), FirePreviewResponse],
  { additionalProperties: false },
);

export const SchedulersResponse = Type.Object(
  {
    generation: Type.Union([Type.Integer(), Type.Null()], {
      description: 'of /assignment; null before a leader wrote one',
    }),
    updatedAt: NullableString('when the leader last wrote /assignment'),
    schedulers: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          host: Type.Optional(Type.String()),
          pid: Type.Optional(Type.Integer()),
          version: Type.Optional(Type.String()),
          startedAt: Type.Optional(Type.String()),
          opsUrl: Type.Optional(Type.String()),
          tasks: Type.Array(Type.String(), { description: 'ids of the tasks it owns' }),
        },
        { additionalProperties: false },
      ),
    ),
    departed: Type.Array(Type.String(), {
      description: 'owners named in /assignment that are no longer live',
    }),
  },
  { additionalProperties: false },
);

const BackendState = Type.Object(
  { reachable: Type.Boolean(), detail: Type.String() },
  { additionalProperties: false },
);
const HistoryReplicaState = Type.Object(
  {
    replica: Type.Integer({ minimum: 1, description: 'its position in NONO_HISTORY_URLS, from 1' }),
    name: Type.Optional(Type.String({ description: "the replica's own name (NONO_HISTORY_REPLICA)" })),
    state: Type.Union(
      [Type.Literal('current'), Type.Literal('behind'), Type.Literal('down'), Type.Literal('unknown')],
      {
        description:
          'current: ready and within NONO_HISTORY_MAX_LAG; behind: answers, stale; down: its probe or a read failed; unknown: not probed yet',
      },
    ),
    lag: Type.Optional(Type.Integer({ minimum: 0, description: 'records it had not projected yet' })),
    readsHere: Type.Boolean({ description: 'the next read goes to this replica first' }),
    detail: Type.String(),
    checkedAt: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export const StatusResponse = Type.Object(
  {
    checkedAt: Type.String(),
    zookeeper: BackendState,
    kafka: BackendState,
    history: BackendState,
    historyReplicas: Type.Array(HistoryReplicaState),
  },
  { additionalProperties: false },
);

/** History's JSON, passed through as bytes (never re-serialised); its README documents the shapes. */
export const ForwardedResponse = {
  description:
    "the history service's answer, as is (services/history/README.md); lists also as CSV (format=csv)",
  content: {
    'application/json': { schema: {} },
    'text/csv': { schema: { type: 'string' } },
  },
};

export const NoContent = Type.Null({ description: 'no content' });

/* Named API tokens (`/tokens`, admin only). */

const TokenName = Type.String({
  pattern: API_TOKEN_NAME_PATTERN,
  description: 'lower-case letters, digits, ".", "_", "-"; at most 63; what audit entries call the holder',
});
const TokenRole = Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]);

export const TokenNameParams = Type.Object({ name: TokenName }, { additionalProperties: false });

export const CreateTokenBody = byHandler(
  Type.Object(
    {
      name: TokenName,
      role: TokenRole,
      expiresAt: Type.Optional(
        Type.String({
          pattern: INSTANT_PATTERN,
          description: 'RFC 3339 instant, in the future; from then on the token gets 401. Absent: never',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);

const tokenInfoProperties = {
  name: TokenName,
  role: TokenRole,
  createdAt: Type.String({ description: 'RFC 3339' }),
  createdBy: Type.String({ description: 'the actor id of the admin who created it' }),
  expiresAt: NullableString('RFC 3339; null: never expires'),
  expired: Type.Boolean({ description: 'true from expiresAt on: the token is refused' }),
  lastUsedAt: NullableString(
    'RFC 3339, to the minute (rewritten at most once a minute per API process); null: never used',
  ),
};

export const TokenInfo = Type.Object(tokenInfoProperties, {
  additionalProperties: false,
  description: 'A named token: never its secret nor its hash',
});

export const TokenListResponse = Type.Object(
  { items: Type.Array(TokenInfo) },
  { additionalProperties: false, description: 'Every named token, by name' },
);

export const CreatedTokenResponse = Type.Object(
  {
    ...tokenInfoProperties,
    token: Type.String({ description: 'the secret: shown in this answer only, never again' }),
  },
  { additionalProperties: false },
);

/* Webhook secrets per task or host (`/webhook-secrets`, admin only, write-only). */

export const WebhookSecretTaskParams = Type.Object(
  { id: Type.String({ pattern: TASK_ID_PATTERN, description: 'task id' }) },
  { additionalProperties: false },
);
export const WebhookSecretHostParams = Type.Object(
  {
    host: Type.String({
      pattern: WEBHOOK_SECRET_HOST_PATTERN,
      description:
        'lower-case host name or IPv4 address, optionally :port (then it applies to that port only)',
    }),
  },
  { additionalProperties: false },
);
const SecretId = Type.String({ pattern: '^[0-9a-f]{8}$', description: 'the id the secret was given' });
export const WebhookSecretTaskIdParams = Type.Object(
  { ...WebhookSecretTaskParams.properties, secretId: SecretId },
  { additionalProperties: false },
);
export const WebhookSecretHostIdParams = Type.Object(
  { ...WebhookSecretHostParams.properties, secretId: SecretId },
  { additionalProperties: false },
);

export const AddWebhookSecretBody = byHandler(
  Type.Object(
    {
      secret: Type.String({
        pattern: '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$',
        description:
          'whsec_ and the base64 of 24 to 64 random bytes (`echo whsec_$(openssl rand -base64 32)`); written, never returned',
      }),
    },
    { additionalProperties: false },
  ),
);

export const WebhookSecretsInfoSchema = Type.Object(
  {
    scope: Type.Union([Type.Literal('task'), Type.Literal('host')]),
    key: Type.String({ description: 'the task id or host[:port]' }),
    secrets: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          createdAt: Type.String({ description: 'RFC 3339' }),
          createdBy: Type.String({ description: 'the actor id of the admin who added it' }),
        },
        { additionalProperties: false },
      ),
      { description: 'oldest first; the schedulers sign with each (two while rotating)' },
    ),
  },
  {
    additionalProperties: false,
    description: 'The active secrets of a task or host: never the secrets themselves',
  },
);

export const WebhookSecretsListResponse = Type.Object(
  { items: Type.Array(WebhookSecretsInfoSchema) },
  { additionalProperties: false },
);

/* Worker groups (`/worker-groups`): definitions (admin), members and their health (viewer), dynamic members' leases (operator). */

const GroupName = Type.String({ pattern: GROUP_NAME_PATTERN, description: 'worker group name' });
const MemberId = Type.String({
  pattern: MEMBER_ID_PATTERN,
  description: "a dynamic member's id, chosen by the worker (its host and port, say)",
});

export const GroupNameParams = Type.Object({ name: GroupName }, { additionalProperties: false });
export const MemberParams = Type.Object(
  { name: GroupName, memberId: MemberId },
  { additionalProperties: false },
);

export const CreateWorkerGroupBody = byHandler(
  Type.Unsafe(
    omittableDefaults(
      Type.Composite([Type.Object({ name: GroupName }), WorkerGroupSpecSchema], {
        description: 'A worker group spec plus its name; omitted fields take their defaults',
      }),
    ) as TSchema,
  ),
);
export const ReplaceWorkerGroupBody = byHandler(
  Type.Unsafe(
    omittableDefaults(
      Type.Composite([Type.Object({ name: Type.Optional(GroupName) }), WorkerGroupSpecSchema], {
        description: 'The whole spec (a full replace: omitted fields take their defaults)',
      }),
    ) as TSchema,
  ),
);

/** The stored group; shared as `WorkerGroup` so the document names it once. */
export const WorkerGroupDocumentSchema: TSchema = {
  ...WorkerGroupSchema,
  $id: 'WorkerGroup',
  description: 'A worker group as stored',
};
export const WorkerGroupResponse = Type.Unsafe<WorkerGroup>({ $ref: 'WorkerGroup#' });

export const WorkerGroupListResponse = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          etag: Type.String({ description: 'the ETag a write of this group must match (If-Match)' }),
          liveMembers: Type.Integer({
            minimum: 0,
            description: 'static members plus dynamic members whose lease is current',
          }),
          group: WorkerGroupResponse,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'Every worker group, by name' },
);

export const RegisterMemberBody = byHandler(
  Type.Object(
    {
      url: Type.String({
        minLength: 1,
        maxLength: MEMBER_URL_MAX_LENGTH,
        description:
          "the member's base URL (http or https, no query), allowed by NONO_ALLOWED_TARGET_HOSTS like a task URL",
      }),
    },
    { additionalProperties: false },
  ),
);

export const MemberLeaseResponse = Type.Object(
  {
    group: Type.String(),
    memberId: Type.String(),
    url: Type.String(),
    leaseMs: Type.Integer({
      description: 'renew (PUT again) well within it: a third of it is a good interval',
    }),
    registeredAt: Type.String({ description: 'RFC 3339: when the member joined at this URL' }),
    renewedAt: Type.String({ description: 'RFC 3339: this registration' }),
    expiresAt: Type.String({ description: 'RFC 3339: the member leaves the group then unless it renews' }),
  },
  { additionalProperties: false },
);

export const GroupMembersResponse = Type.Object(
  {
    group: Type.String(),
    leaseMs: Type.Integer(),
    checkedAt: Type.String({ description: "RFC 3339: the API's clock, against which leases were judged" }),
    members: Type.Array(
      Type.Object(
        {
          url: Type.String(),
          source: Type.Union([Type.Literal('static'), Type.Literal('dynamic')]),
          memberId: NullableString("a dynamic member's id; null for a static member"),
          state: Type.Union([Type.Literal('static'), Type.Literal('live'), Type.Literal('lapsed')], {
            description:
              'static: listed in the definition; live: a dynamic member whose lease is current; lapsed: its lease ran out (it gets no calls; the record goes after another lease period)',
          }),
          registeredAt: NullableString('RFC 3339 (dynamic members)'),
          renewedAt: NullableString('RFC 3339: the last heartbeat (dynamic members)'),
          expiresAt: NullableString('RFC 3339: when the lease runs out (dynamic members)'),
          health: Type.Union([Type.Literal('in'), Type.Literal('out')], {
            description:
              "out: at least one live scheduler's health checks (its calls, or its probes) took it out (see takenOutBy)",
          }),
          takenOutBy: Type.Array(
            Type.Object(
              {
                schedulerId: Type.String(),
                cause: Type.Union([Type.Literal('passive'), Type.Literal('probe')], {
                  description:
                    'passive: failed calls; probe: failed health probes (the group has activeHealth)',
                }),
                until: Type.String({
                  description:
                    'RFC 3339. passive: no calls before it; probe: when the next probe decides (out until probes pass)',
                }),
                failures: Type.Integer({ description: 'consecutive failed calls or probes' }),
                lastError: Type.String(),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
      { description: 'static members in order, then live dynamic members by registration, then lapsed ones' },
    ),
  },
  { additionalProperties: false },
);
