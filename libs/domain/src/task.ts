import { type Static, Type } from '@sinclair/typebox';
import { ErrorCode, type FieldIssue, type Result, ValidationError, fail, ok } from './errors.js';
import { CALENDAR_NAME_PATTERN, MAX_TASK_CALENDARS } from './calendar.js';
import { type EpochMs, formatInstant, parseInstant } from './instant.js';
import { ScheduleSchema, nextFireTime, parseSchedule, smallestSpacingMs } from './schedule.js';
import { type TargetPolicy } from './target-policy.js';
import { compileValidator, joinField } from './validation.js';
import { TriggerParametersSchema } from './trigger-parameters.js';
import { GROUP_NAME_PATTERN, MAX_SHARDS, WorkerRouteSchema } from './worker-group.js';

/**
 * The one limit on task ids. The API's routes, history's routes and ZooKeeper's znode names
 * all take ids of this length (the ids' alphabet needs no percent-encoding, so the path
 * parameter is as long as the id); tests pin it at the limit and one past it.
 */
export const TASK_ID_MAX_LENGTH = 128;
export const TASK_ID_PATTERN = `^[a-z0-9](?:[a-z0-9._-]{0,${TASK_ID_MAX_LENGTH - 2}}[a-z0-9])?$`;
export const TASK_ID_RULE = `must be 1-${TASK_ID_MAX_LENGTH} lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit`;

/**
 * Headers a task may not set, compared without case: nono sets them itself (the idempotency
 * key, the fencing token and every other `Nono-*` header, the trace context, the Standard
 * Webhooks signature), or they frame the HTTP message (a task that could set them could
 * smuggle a second request or make every call fail).
 */
export const RESERVED_HEADERS: readonly string[] = [
  'idempotency-key',
  'traceparent',
  'tracestate',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
  'expect',
];
export const RESERVED_HEADER_PREFIX = 'nono-';

/** Printable ASCII and tab: no CR, LF or NUL to split a header, nothing an HTTP client refuses. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

const HttpMethod = Type.Union(
  [
    Type.Literal('GET'),
    Type.Literal('POST'),
    Type.Literal('PUT'),
    Type.Literal('PATCH'),
    Type.Literal('DELETE'),
  ],
  { default: 'POST' },
);

export const SuccessContractSchema = Type.Object(
  {
    statusCodes: Type.Optional(
      Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
        minItems: 1,
        maxItems: 50,
        uniqueItems: true,
        description: 'HTTP statuses that mean success; any 2xx when absent',
      }),
    ),
    bodyPattern: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 500,
        description: 'a regular expression the response body must match',
      }),
    ),
  },
  { additionalProperties: false, default: {} },
);

const TargetHeadersSchema = Type.Record(
  Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$" }),
  Type.String({ maxLength: 4096 }),
  {
    default: {},
    maxProperties: 50,
    additionalProperties: false,
  },
);
const TargetBodySchema = Type.Optional(
  Type.String({ maxLength: 65_536, description: 'sent as is; nono adds its own JSON when absent' }),
);
const TimeoutMsSchema = Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 });

/**
 * Called (POST, best effort, short timeout) after an operator's cancel aborted a running call,
 * so the worker can stop the work it started; its answer is recorded on the cancelled fact.
 */
const CancelUrlSchema = Type.Optional(
  Type.String({
    minLength: 1,
    maxLength: 2048,
    description:
      'absolute http(s) URL nono POSTs { executionId, taskId, nominalTime, attempt } to after cancelling a running call (signed like the call when the task signs)',
  }),
);

/** The most of a response body a task may ask to keep with each attempt. */
export const MAX_CAPTURE_BODY_BYTES = 65_536;
/** What `capture.bodyBytes` is when a task asks for capture without saying how much. */
export const DEFAULT_CAPTURE_BODY_BYTES = 4_096;
/** How many response headers a task may ask to keep. */
export const MAX_CAPTURED_HEADERS = 20;

/**
 * What of the worker's answer is kept with each attempt (on its succeeded or failed fact, and
 * so in history). Absent: nothing is kept, and a call whose answer the success contract does
 * not need is drained unread. The kept body is never logged.
 */
const CaptureSchema = Type.Optional(
  Type.Object(
    {
      bodyBytes: Type.Integer({
        minimum: 0,
        maximum: MAX_CAPTURE_BODY_BYTES,
        default: DEFAULT_CAPTURE_BODY_BYTES,
        description: `the first bytes of the response body kept with each attempt (at most ${MAX_CAPTURE_BODY_BYTES}; 0 keeps headers only)`,
      }),
      headers: Type.Array(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$" }), {
        maxItems: MAX_CAPTURED_HEADERS,
        uniqueItems: true,
        default: [],
        description: 'response headers kept with each attempt (names, compared without case)',
      }),
    },
    { additionalProperties: false },
  ),
);

/** A target that is one URL. */
export const UrlTargetSchema = Type.Object(
  {
    method: HttpMethod,
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    headers: TargetHeadersSchema,
    body: TargetBodySchema,
    timeoutMs: TimeoutMsSchema,
    success: SuccessContractSchema,
    capture: CaptureSchema,
    cancelUrl: CancelUrlSchema,
  },
  { additionalProperties: false },
);

/** The characters RFC 3986 allows in a path and query: a target path needs no further encoding. */
export const TARGET_PATH_PATTERN = "^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$";

/** A target that is a worker group: each attempt goes to one of its members, chosen by `route`. */
export const GroupTargetSchema = Type.Object(
  {
    method: HttpMethod,
    group: Type.String({ pattern: GROUP_NAME_PATTERN, description: "the worker group's name" }),
    route: WorkerRouteSchema,
    shards: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_SHARDS,
        description: 'route shard only: how many shard executions each instant becomes',
      }),
    ),
    shardParameters: Type.Optional(
      Type.Array(TriggerParametersSchema, {
        maxItems: MAX_SHARDS,
        description:
          "route shard only: shard i's parameters (sent like a manual run's, under the default body's parameters); shards past the list get none",
      }),
    ),
    path: Type.Optional(
      Type.String({
        pattern: TARGET_PATH_PATTERN,
        maxLength: 2048,
        description: "appended to the member's URL (e.g. /jobs/report?full=1); absent: the member URL itself",
      }),
    ),
    headers: TargetHeadersSchema,
    body: TargetBodySchema,
    timeoutMs: TimeoutMsSchema,
    success: SuccessContractSchema,
    capture: CaptureSchema,
    cancelUrl: CancelUrlSchema,
  },
  { additionalProperties: false },
);

/** Either one URL (`url`) or a worker group (`group`, `route`); everything else is shared. */
export const TargetSchema = Type.Union([UrlTargetSchema, GroupTargetSchema]);
export type UrlTarget = Static<typeof UrlTargetSchema>;
export type GroupTarget = Static<typeof GroupTargetSchema>;
export type Target = Static<typeof TargetSchema>;

export function isGroupTarget(target: Target): target is GroupTarget {
  return 'group' in target;
}

const targetValidators = {
  url: compileValidator(UrlTargetSchema),
  group: compileValidator(GroupTargetSchema),
} as const;

/**
 * A target's shape, checked against the one variant it means (`group` present: a group
 * target; else a URL target): the union's own errors would only say "no variant matched".
 */
export function parseTarget(input: unknown, field = 'target'): Result<Target> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return fail([{ field, message: 'must be an object with a "url", or a "group" and a "route"' }]);
  const variant = Object.hasOwn(input, 'group') ? 'group' : 'url';
  if (variant === 'group' && Object.hasOwn(input, 'url'))
    return fail([{ field: joinField(field, 'url'), message: 'a target has a url or a group, not both' }]);
  return targetValidators[variant].parse(input, field);
}

export const RetryPolicySchema = Type.Object(
  {
    maxAttempts: Type.Integer({ minimum: 1, maximum: 100, default: 1, description: '1 means no retry' }),
    initialBackoffMs: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 1_000 }),
    maxBackoffMs: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 60_000 }),
    multiplier: Type.Number({ minimum: 1, maximum: 10, default: 2 }),
  },
  { additionalProperties: false, default: {} },
);

export const MisfirePolicySchema = Type.Object(
  {
    policy: Type.Union([Type.Literal('fire-once'), Type.Literal('fire-all'), Type.Literal('skip')], {
      default: 'fire-once',
    }),
    catchUpWindowMs: Type.Integer({
      minimum: 0,
      maximum: 31 * 86_400_000,
      default: 3_600_000,
      description: 'missed instants older than this are not caught up',
    }),
    maxCatchUp: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
  },
  { additionalProperties: false, default: {} },
);

export const OverlapPolicySchema = Type.Union(
  [
    Type.Literal('skip'),
    Type.Literal('buffer-one'),
    Type.Literal('buffer-all'),
    Type.Literal('cancel-running'),
    Type.Literal('allow'),
  ],
  { default: 'skip' },
);

const LabelKey = Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9._/-]{0,62}$' });

/** What a person writes: the definition without the fields nono manages. */
export const TaskSpecSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.String({ maxLength: 2000, default: '' }),
    schedule: ScheduleSchema,
    target: TargetSchema,
    retry: RetryPolicySchema,
    misfire: MisfirePolicySchema,
    overlap: OverlapPolicySchema,
    paused: Type.Boolean({ default: false }),
    pausedNote: Type.Optional(Type.String({ maxLength: 500 })),
    startAt: Type.Optional(
      Type.String({ description: 'RFC 3339 instant before which the task never fires' }),
    ),
    endAt: Type.Optional(Type.String({ description: 'RFC 3339 instant after which the task never fires' })),
    maxRuns: Type.Optional(Type.Integer({ minimum: 1 })),
    pauseAfterConsecutiveFailures: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description:
          'pause the task after this many executions in a row ended in failure (failed or timed out after their last attempt, or lost and not re-run); any change to the task, resuming included, starts the count again',
      }),
    ),
    calendars: Type.Optional(
      Type.Array(Type.String({ pattern: CALENDAR_NAME_PATTERN }), {
        maxItems: MAX_TASK_CALENDARS,
        uniqueItems: true,
        description:
          'exclusion calendars (by name): an instant on a date one of them excludes is skipped with reason calendar',
      }),
    ),
    rerunLost: Type.Boolean({
      default: false,
      description: 'run again an execution whose scheduler died mid-call',
    }),
    labels: Type.Record(LabelKey, Type.String({ maxLength: 200 }), {
      default: {},
      maxProperties: 50,
      additionalProperties: false,
    }),
  },
  { additionalProperties: false },
);
export type TaskSpec = Static<typeof TaskSpecSchema>;

/** The stored entity: a spec plus identity and bookkeeping. Lives as JSON in ZooKeeper. */
export const SchedulerTaskSchema = Type.Composite(
  [
    Type.Object({
      id: Type.String({ pattern: TASK_ID_PATTERN }),
      createdAt: Type.String(),
      updatedAt: Type.String(),
      revision: Type.Integer({ minimum: 1 }),
    }),
    TaskSpecSchema,
  ],
  { additionalProperties: false },
);
export type SchedulerTask = Static<typeof SchedulerTaskSchema>;

const specValidator = compileValidator(TaskSpecSchema);
const taskValidator = compileValidator(SchedulerTaskSchema);

/**
 * Turns untrusted input into a complete TaskSpec (defaults applied) or a list of issues,
 * one per bad field. `now` is needed only to reject a one-shot schedule in the past.
 */
export function parseTaskSpec(input: unknown, now: EpochMs): Result<TaskSpec> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail([{ field: '', message: 'a task must be a JSON object' }]);
  }
  // The schedule and the target are checked on their own first: their union errors are far
  // clearer that way.
  const schedule = parseSchedule((input as { schedule?: unknown }).schedule);
  const target = parseTarget((input as { target?: unknown }).target);
  const shaped = specValidator.parse(input);
  const issues: FieldIssue[] = [];
  if (!schedule.ok) issues.push(...schedule.issues);
  if (!target.ok) issues.push(...target.issues);
  if (!shaped.ok)
    issues.push(
      ...shaped.issues.filter(
        (issue) => !issue.field.startsWith('schedule') && !issue.field.startsWith('target'),
      ),
    );
  if (issues.length > 0 || !shaped.ok || !schedule.ok || !target.ok) return fail(issues);
  const spec: TaskSpec = { ...shaped.value, schedule: schedule.value, target: target.value };
  const meaning = [...checkDefinitionRules(spec), ...checkWriteOnlyRules(spec, now)];
  return meaning.length === 0 ? ok(spec) : fail(meaning);
}

/**
 * What a stored definition must satisfy before a scheduler runs it: the rules the API applied
 * when it was written, but for the write-only ones (see checkWriteOnlyRules), and the
 * deployment's target policy. Whoever can write ZooKeeper directly meets these too.
 */
export function checkRunnableTask(task: SchedulerTask, policy: TargetPolicy): FieldIssue[] {
  const { target } = task;
  return [
    ...checkDefinitionRules(task),
    ...(isGroupTarget(target) ? [] : policy.check(target.url)),
    ...(target.cancelUrl === undefined ? [] : policy.check(target.cancelUrl, 'target.cancelUrl')),
  ];
}

/** The rules of a definition that hold whenever it is read, not only when it is written. */
function checkDefinitionRules(spec: TaskSpec): FieldIssue[] {
  const { target } = spec;
  const issues: FieldIssue[] = checkTargetHeaders(target.headers);
  if (!isGroupTarget(target) && parseHttpUrl(target.url) === undefined)
    issues.push({ field: 'target.url', message: 'must be an absolute http:// or https:// URL' });
  if (isGroupTarget(target)) issues.push(...checkShardFields(target));
  if (target.cancelUrl !== undefined && parseHttpUrl(target.cancelUrl) === undefined)
    issues.push({ field: 'target.cancelUrl', message: 'must be an absolute http:// or https:// URL' });
  if (spec.target.success.bodyPattern !== undefined) {
    try {
      new RegExp(spec.target.success.bodyPattern);
    } catch (error) {
      issues.push({
        field: 'target.success.bodyPattern',
        message: `is not a valid regular expression: ${(error as Error).message}`,
      });
    }
  }
  if (spec.retry.maxBackoffMs < spec.retry.initialBackoffMs) {
    issues.push({ field: 'retry.maxBackoffMs', message: 'must be at least retry.initialBackoffMs' });
  }
  const startAt = checkOptionalInstant(spec.startAt, 'startAt', issues);
  const endAt = checkOptionalInstant(spec.endAt, 'endAt', issues);
  if (startAt !== undefined && endAt !== undefined && endAt <= startAt) {
    issues.push({ field: 'endAt', message: 'must be after startAt' });
  }
  return issues;
}

/** `shards` belongs to route shard, and shard parameters name no shard past the count. */
function checkShardFields(target: GroupTarget): FieldIssue[] {
  if (target.route !== 'shard') {
    return [
      ...(target.shards === undefined
        ? []
        : [{ field: 'target.shards', message: 'is for route shard only' }]),
      ...(target.shardParameters === undefined
        ? []
        : [{ field: 'target.shardParameters', message: 'is for route shard only' }]),
    ];
  }
  if (target.shards === undefined)
    return [{ field: 'target.shards', message: `route shard needs shards (1-${MAX_SHARDS})` }];
  if (target.shardParameters !== undefined && target.shardParameters.length > target.shards)
    return [
      {
        field: 'target.shardParameters',
        message: `lists ${target.shardParameters.length} shards; the task has ${target.shards}`,
      },
    ];
  return [];
}

function checkTargetHeaders(headers: Readonly<Record<string, string>>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.includes(lower) || lower.startsWith(RESERVED_HEADER_PREFIX))
      issues.push({
        field: `target.headers.${name}`,
        message: `is reserved: nono sets it itself or it frames the HTTP message (reserved: ${RESERVED_HEADERS.join(', ')}, ${RESERVED_HEADER_PREFIX}*)`,
      });
    else if (!HEADER_VALUE.test(value))
      issues.push({
        field: `target.headers.${name}`,
        message:
          'the value must be printable ASCII or tab (no CR, LF, NUL, other control or non-ASCII characters)',
      });
  }
  return issues;
}

/**
 * Rules only a write must meet: those about the clock (a one-shot is in the past once it
 * ran), bookkeeping that does not change what a call does (a note left on a resumed task),
 * and a jitter as long as the spacing (refused on write; a stored one keeps firing).
 */
function checkWriteOnlyRules(spec: TaskSpec, now: EpochMs): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (spec.pausedNote !== undefined && !spec.paused) {
    issues.push({ field: 'pausedNote', message: 'only allowed while paused is true' });
  }
  const endAt = spec.endAt === undefined ? undefined : parseInstant(spec.endAt);
  if (spec.schedule.kind === 'once') {
    const at = parseInstant(spec.schedule.at);
    if (at !== undefined && at <= now) {
      issues.push({
        field: 'schedule.at',
        message: `is in the past (${spec.schedule.at} is before now, ${formatInstant(now)})`,
      });
    }
  } else if (endAt !== undefined && endAt <= now) {
    issues.push({
      field: 'endAt',
      message: `is in the past (${formatInstant(endAt)}); the task could never fire`,
    });
  }
  // A jitter as long as the spacing lets a later instant fire before an earlier one.
  const spacingMs = smallestSpacingMs(spec.schedule);
  if (spec.schedule.jitterMs > 0 && spec.schedule.jitterMs >= spacingMs) {
    issues.push({
      field: 'schedule.jitterMs',
      message: `must be smaller than the schedule's smallest spacing (${spacingMs} ms), or fires could run out of order`,
    });
  }
  return issues;
}

function checkOptionalInstant(
  text: string | undefined,
  field: string,
  issues: FieldIssue[],
): EpochMs | undefined {
  if (text === undefined) return undefined;
  const instant = parseInstant(text);
  if (instant === undefined) issues.push({ field, message: 'must be an RFC 3339 instant with an offset' });
  return instant;
}

function parseHttpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

export function isValidTaskId(id: string): boolean {
  return new RegExp(TASK_ID_PATTERN).test(id);
}

/** A new task at revision 1. */
export function createTask(id: string, spec: TaskSpec, now: EpochMs): SchedulerTask {
  if (!isValidTaskId(id)) {
    throw new ValidationError(ErrorCode.InvalidTask, [{ field: 'id', message: TASK_ID_RULE }]);
  }
  const at = formatInstant(now);
  return { id, createdAt: at, updatedAt: at, revision: 1, ...spec };
}

/** The next revision of a task with a new spec; identity and creation time are kept. */
export function reviseTask(task: SchedulerTask, spec: TaskSpec, now: EpochMs): SchedulerTask {
  return {
    id: task.id,
    createdAt: task.createdAt,
    updatedAt: formatInstant(now),
    revision: task.revision + 1,
    ...spec,
  };
}

export function taskSpecOf(task: SchedulerTask): TaskSpec {
  const { id: _id, createdAt: _createdAt, updatedAt: _updatedAt, revision: _revision, ...spec } = task;
  return spec;
}

/** Reads a stored task (from ZooKeeper JSON); anything malformed is reported, never trusted. */
export function parseStoredTask(input: unknown): Result<SchedulerTask> {
  const shaped = taskValidator.parse(input);
  if (!shaped.ok) return shaped;
  const schedule = parseSchedule(shaped.value.schedule);
  return schedule.ok ? shaped : fail(schedule.issues);
}

/** What the instants of a task depend on: its id (for `H`), its schedule and its bounds. */
export type TaskTiming = Pick<SchedulerTask, 'id' | 'schedule' | 'startAt' | 'endAt'>;

/**
 * The task's next nominal instant strictly after `after`, within its start and end
 * bounds. Undefined when the task will never fire again by its own definition.
 * Run-count limits need the fire state and are the scheduler's decision. The one
 * function schedulers, the API's previews and `nextFireAt` all use.
 */
export function nextTaskFireTime(task: TaskTiming, after: EpochMs): EpochMs | undefined {
  const startAt = task.startAt === undefined ? undefined : parseInstant(task.startAt);
  const endAt = task.endAt === undefined ? undefined : parseInstant(task.endAt);
  const from = startAt !== undefined && startAt - 1 > after ? startAt - 1 : after;
  const next = nextFireTime(task.schedule, from, task.id);
  if (next === undefined || (endAt !== undefined && next > endAt)) return undefined;
  return next;
}

/** The task's next `count` nominal instants after `after`, within its bounds. */
export function nextTaskFireTimes(task: TaskTiming, after: EpochMs, count: number): EpochMs[] {
  const out: EpochMs[] = [];
  for (let cursor = after; out.length < count;) {
    const next = nextTaskFireTime(task, cursor);
    if (next === undefined) break;
    out.push(next);
    cursor = next;
  }
  return out;
}
