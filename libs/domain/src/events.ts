import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { type Result, fail } from './errors.js';
import { type EpochMs, formatInstant } from './instant.js';
import { uuidV5 } from './occurrence.js';
import { AlertRuleSchema } from './alert-rule.js';
import { CalendarSchema } from './calendar.js';
import { type SkipReason, SkipReasonSchema } from './skip-reason.js';
import { SchedulerTaskSchema } from './task.js';
import { TriggerParametersSchema } from './trigger-parameters.js';
import { WorkerGroupSchema } from './worker-group.js';
import { type Validator, compileValidator } from './validation.js';

/**
 * Event contracts: CloudEvents 1.0 envelopes whose `type` names the fact in the past
 * tense and its schema version (`nono.execution.fired.v1`). Producers and consumers
 * validate against these same schemas; a consumer that meets an unknown type or version
 * dead-letters it instead of guessing.
 */

const Instant = Type.String({ description: 'RFC 3339 UTC instant' });
const Id = Type.String({ minLength: 1, maxLength: 200 });

export const FireReasonSchema = Type.Union([
  Type.Literal('scheduled'),
  Type.Literal('misfire-catch-up'),
  Type.Literal('failover'),
  Type.Literal('manual'),
  Type.Literal('backfill'),
]);
export type FireReason = Static<typeof FireReasonSchema>;

/** What every execution event carries: which occurrence, which attempt, who fired it under which fence. */
const ExecutionRef = {
  taskId: Id,
  executionId: Id,
  nominalTime: Instant,
  attempt: Type.Integer({
    minimum: 0,
    description: '0 for an occurrence that never got an attempt (skipped, misfired)',
  }),
  schedulerId: Id,
  fencingToken: Type.Integer({ minimum: 0 }),
  reason: FireReasonSchema,
  instantId: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        "a shard or broadcast execution's instant: the execution id a plain task's instant would have (absent for plain executions)",
    }),
  ),
  shard: Type.Optional(
    Type.Object(
      { index: Type.Integer({ minimum: 0 }), count: Type.Integer({ minimum: 1 }) },
      { description: 'the shard this execution runs (route shard)' },
    ),
  ),
};

/**
 * The group member an attempt of a group-targeted task went to. Optional, so facts written
 * before worker groups (and facts of URL targets) read as they are.
 */
const MemberRefSchema = Type.Optional(
  Type.Object(
    {
      group: Id,
      url: Type.String({ description: "the member's URL (the call went to it with the target's path)" }),
    },
    { description: 'the worker group member the attempt went to (group targets only)' },
  ),
);

/**
 * What was kept of the worker's answer to one attempt, as the task's `target.capture` asked:
 * the first bytes of the body (UTF-8 text, or base64 when those bytes are not UTF-8) and the
 * chosen headers. Optional, so facts of tasks that capture nothing carry no field.
 */
export const CapturedOutputSchema = Type.Object(
  {
    body: Type.String({ description: 'the kept bytes of the body, as text or base64 (see encoding)' }),
    encoding: Type.Union([Type.Literal('utf8'), Type.Literal('base64')]),
    bytes: Type.Integer({ minimum: 0, description: 'the size of the whole body as received' }),
    truncated: Type.Boolean({ description: 'the body was longer than what was kept' }),
    headers: Type.Record(Type.String(), Type.String(), {
      description: 'the chosen response headers that were present (lower-case names)',
    }),
  },
  { additionalProperties: false },
);
export type CapturedOutput = Static<typeof CapturedOutputSchema>;

/** How the task's cancel URL answered after an operator's cancel (best effort: recorded, never retried). */
export const CancelCallSchema = Type.Object(
  {
    url: Type.String(),
    httpStatus: Type.Optional(Type.Integer({ description: 'its answer, when it answered' })),
    error: Type.Optional(
      Type.String({
        description: 'why there was no answer (timeout, refused connection, no usable signing secrets)',
      }),
    ),
    durationMs: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type CancelCall = Static<typeof CancelCallSchema>;

export const ActorSchema = Type.Object(
  { id: Id, kind: Type.Union([Type.Literal('user'), Type.Literal('token'), Type.Literal('system')]) },
  { additionalProperties: false },
);
export type Actor = Static<typeof ActorSchema>;

export { SkipReasonSchema, type SkipReason };

/** The alert conditions (see alert-rule.ts); listed here so alert events name them exactly. */
export const AlertConditionKindSchema = Type.Union([
  Type.Literal('failed'),
  Type.Literal('timed-out'),
  Type.Literal('lost'),
  Type.Literal('skipped'),
  Type.Literal('misfired'),
  Type.Literal('consecutive-failures'),
  Type.Literal('success-rate'),
  Type.Literal('duration-above'),
  Type.Literal('lateness-above'),
  Type.Literal('no-scheduler'),
  Type.Literal('scheduler-left'),
  Type.Literal('consumer-lag'),
  Type.Literal('dead-man'),
]);

/** What every alert transition carries: which alert, opened by which rule, about which task. */
const AlertRef = {
  alertId: Id,
  ruleId: Id,
  ruleRevision: Type.Integer({ minimum: 1 }),
  taskId: Id,
  condition: AlertConditionKindSchema,
  summary: Type.String({ maxLength: 2000 }),
  /** The occurrence that caused the transition (an execution, or a due instant for dead-man), when there is one. */
  executionId: Type.Optional(Id),
  nominalTime: Type.Optional(Instant),
};

/** How far a backfill got, in every progress fact. */
const BackfillCounts = {
  schedulerId: Id,
  total: Type.Integer({ minimum: 0 }),
  started: Type.Integer({ minimum: 0, description: 'instants claimed and called (or being called)' }),
  succeeded: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0, description: 'failed, timed out or cancelled' }),
  lost: Type.Integer({
    minimum: 0,
    description: 'in flight on a scheduler that died: recorded lost, not refired',
  }),
};

const dataSchemas = {
  'nono.task.defined.v1': Type.Object({
    taskId: Id,
    actor: ActorSchema,
    revision: Type.Integer(),
    after: SchedulerTaskSchema,
  }),
  'nono.task.updated.v1': Type.Object({
    taskId: Id,
    actor: ActorSchema,
    revision: Type.Integer(),
    before: SchedulerTaskSchema,
    after: SchedulerTaskSchema,
  }),
  'nono.task.paused.v1': Type.Object({
    taskId: Id,
    actor: ActorSchema,
    revision: Type.Integer(),
    note: Type.Optional(Type.String()),
    before: SchedulerTaskSchema,
    after: SchedulerTaskSchema,
  }),
  'nono.task.resumed.v1': Type.Object({
    taskId: Id,
    actor: ActorSchema,
    revision: Type.Integer(),
    before: SchedulerTaskSchema,
    after: SchedulerTaskSchema,
  }),
  'nono.task.deleted.v1': Type.Object({
    taskId: Id,
    actor: ActorSchema,
    revision: Type.Integer(),
    before: SchedulerTaskSchema,
  }),
  'nono.task.triggered.v1': Type.Object({
    taskId: Id,
    actor: ActorSchema,
    triggerRequestId: Id,
    executionId: Id,
    parameters: Type.Optional(TriggerParametersSchema),
  }),

  // Backfills (docs/GETTING-STARTED.md, "Backfill"): requested and cancelled are audit facts
  // (the API, through its outbox); progressed and finished come from the scheduler running it.
  'nono.task.backfill-requested.v1': Type.Object({
    taskId: Id,
    actor: ActorSchema,
    backfillId: Id,
    from: Instant,
    to: Instant,
    force: Type.Boolean(),
    instants: Type.Integer({ minimum: 0, description: 'instants the backfill fires' }),
    alreadySucceeded: Type.Integer({ minimum: 0, description: 'instants left out: they succeeded already' }),
    ratePerSecond: Type.Number(),
    concurrency: Type.Integer({ minimum: 1 }),
    revision: Type.Integer({ description: 'the task revision whose schedule named the instants' }),
  }),
  'nono.task.backfill-cancelled.v1': Type.Object({
    taskId: Id,
    actor: ActorSchema,
    backfillId: Id,
  }),
  'nono.task.backfill-progressed.v1': Type.Object({ taskId: Id, backfillId: Id, ...BackfillCounts }),
  'nono.task.backfill-finished.v1': Type.Object({
    taskId: Id,
    backfillId: Id,
    state: Type.Union([Type.Literal('finished'), Type.Literal('cancelled'), Type.Literal('abandoned')]),
    ...BackfillCounts,
  }),

  // Audit facts of worker group changes (the API, through its outbox), on the tasks topic.
  'nono.worker-group.defined.v1': Type.Object({
    group: Id,
    actor: ActorSchema,
    revision: Type.Integer({ minimum: 1 }),
    after: WorkerGroupSchema,
  }),
  'nono.worker-group.updated.v1': Type.Object({
    group: Id,
    actor: ActorSchema,
    revision: Type.Integer({ minimum: 1 }),
    before: WorkerGroupSchema,
    after: WorkerGroupSchema,
  }),
  'nono.worker-group.deleted.v1': Type.Object({
    group: Id,
    actor: ActorSchema,
    revision: Type.Integer({ minimum: 1 }),
    before: WorkerGroupSchema,
  }),
  'nono.worker-group.member-joined.v1': Type.Object({
    group: Id,
    actor: ActorSchema,
    memberId: Id,
    url: Type.String(),
    registeredAt: Instant,
    leaseMs: Type.Integer({ minimum: 1 }),
  }),
  'nono.worker-group.member-left.v1': Type.Object({
    group: Id,
    actor: ActorSchema,
    memberId: Id,
    url: Type.String(),
    registeredAt: Instant,
  }),

  // Audit facts of exclusion calendar changes (the API, through its outbox), on the tasks topic.
  'nono.calendar.defined.v1': Type.Object({
    calendar: Id,
    actor: ActorSchema,
    revision: Type.Integer({ minimum: 1 }),
    after: CalendarSchema,
  }),
  'nono.calendar.updated.v1': Type.Object({
    calendar: Id,
    actor: ActorSchema,
    revision: Type.Integer({ minimum: 1 }),
    before: CalendarSchema,
    after: CalendarSchema,
  }),
  'nono.calendar.deleted.v1': Type.Object({
    calendar: Id,
    actor: ActorSchema,
    revision: Type.Integer({ minimum: 1 }),
    before: CalendarSchema,
  }),

  'nono.execution.fired.v1': Type.Object({
    ...ExecutionRef,
    firedAt: Instant,
    lateMs: Type.Integer(),
    targetUrl: Type.String({
      description: 'the URL called; for a group target with no member to call, group:<name> (and no member)',
    }),
    member: MemberRefSchema,
    /** A manual run's trigger parameters, as sent to the worker. */
    parameters: Type.Optional(TriggerParametersSchema),
  }),
  'nono.execution.succeeded.v1': Type.Object({
    ...ExecutionRef,
    finishedAt: Instant,
    durationMs: Type.Integer({ minimum: 0 }),
    httpStatus: Type.Integer(),
    member: MemberRefSchema,
    output: Type.Optional(CapturedOutputSchema),
  }),
  'nono.execution.failed.v1': Type.Object({
    ...ExecutionRef,
    finishedAt: Instant,
    durationMs: Type.Integer({ minimum: 0 }),
    httpStatus: Type.Optional(Type.Integer()),
    error: Type.String(),
    willRetry: Type.Boolean(),
    member: MemberRefSchema,
    /** Present when the worker answered and the task captures output. */
    output: Type.Optional(CapturedOutputSchema),
  }),
  'nono.execution.retrying.v1': Type.Object({
    ...ExecutionRef,
    nextAttemptAt: Instant,
    previousError: Type.String(),
    member: MemberRefSchema,
  }),
  'nono.execution.timed-out.v1': Type.Object({
    ...ExecutionRef,
    finishedAt: Instant,
    durationMs: Type.Integer({ minimum: 0 }),
    timeoutMs: Type.Integer({ minimum: 0 }),
    willRetry: Type.Boolean(),
    member: MemberRefSchema,
  }),
  'nono.execution.skipped.v1': Type.Object({
    ...ExecutionRef,
    skipReason: SkipReasonSchema,
    detail: Type.Optional(Type.String()),
    member: MemberRefSchema,
  }),
  'nono.execution.misfired.v1': Type.Object({
    ...ExecutionRef,
    detectedAt: Instant,
    action: Type.Union([Type.Literal('fire'), Type.Literal('skip')]),
    member: MemberRefSchema,
  }),
  'nono.execution.cancelled.v1': Type.Object({
    ...ExecutionRef,
    finishedAt: Instant,
    durationMs: Type.Integer({
      minimum: 0,
      description: 'of the attempt cut short (0 when it was waiting to retry)',
    }),
    actor: ActorSchema,
    note: Type.Optional(Type.String({ maxLength: 500 })),
    member: MemberRefSchema,
    /** The task's cancel URL called after the running call was aborted (absent: no cancel URL, or no call was running). */
    cancelCall: Type.Optional(CancelCallSchema),
  }),
  'nono.execution.lost.v1': Type.Object({
    ...ExecutionRef,
    detectedAt: Instant,
    lostSchedulerId: Id,
    rerun: Type.Boolean(),
    member: MemberRefSchema,
  }),

  'nono.alert.opened.v1': Type.Object({ ...AlertRef, openedAt: Instant }),
  'nono.alert.renotified.v1': Type.Object({
    ...AlertRef,
    occurrences: Type.Integer({ minimum: 1, description: 'times the condition held since the alert opened' }),
    notification: Type.Integer({ minimum: 2, description: 'the how-manyth notification of this alert' }),
  }),
  'nono.alert.resolved.v1': Type.Object({
    ...AlertRef,
    reason: Type.Union([
      Type.Literal('cleared'),
      Type.Literal('rule-changed'),
      Type.Literal('rule-deleted'),
      Type.Literal('task-deleted'),
    ]),
  }),
  'nono.alert.acknowledged.v1': Type.Object({
    ...AlertRef,
    actor: ActorSchema,
    note: Type.String({ maxLength: 2000 }),
  }),
  'nono.alert.silenced.v1': Type.Object({
    ...AlertRef,
    actor: ActorSchema,
    until: Instant,
    note: Type.String({ maxLength: 2000 }),
  }),

  // Audit facts of alert rule changes (services/alerts), as task changes have theirs.
  'nono.alert-rule.defined.v1': Type.Object({
    ruleId: Id,
    actor: ActorSchema,
    revision: Type.Integer({ minimum: 1 }),
    after: AlertRuleSchema,
  }),
  'nono.alert-rule.updated.v1': Type.Object({
    ruleId: Id,
    actor: ActorSchema,
    revision: Type.Integer({ minimum: 1 }),
    before: AlertRuleSchema,
    after: AlertRuleSchema,
  }),
  'nono.alert-rule.deleted.v1': Type.Object({
    ruleId: Id,
    actor: ActorSchema,
    revision: Type.Integer({ minimum: 1 }),
    before: AlertRuleSchema,
  }),

  'nono.scheduler.joined.v1': Type.Object({
    schedulerId: Id,
    host: Type.String(),
    pid: Type.Integer(),
    version: Type.String(),
    startedAt: Instant,
  }),
  'nono.scheduler.left.v1': Type.Object({
    schedulerId: Id,
    reason: Type.Union([Type.Literal('shutdown'), Type.Literal('session-lost'), Type.Literal('vanished')]),
    detectedBy: Id,
  }),
  'nono.ownership.changed.v1': Type.Object({
    schedulerId: Id,
    acquired: Type.Array(Id),
    released: Type.Array(Id),
    ownedCount: Type.Integer({ minimum: 0 }),
    members: Type.Array(Id),
  }),
} as const satisfies Record<string, TSchema>;

export type EventType = keyof typeof dataSchemas;
export type EventData<T extends EventType> = Static<(typeof dataSchemas)[T]>;
export const EVENT_TYPES = Object.keys(dataSchemas) as EventType[];

/** The CloudEvents envelope of one event type. */
export function envelopeSchema<T extends EventType>(type: T) {
  return Type.Object(
    {
      specversion: Type.Literal('1.0'),
      id: Id,
      source: Type.String({ minLength: 1 }),
      type: Type.Literal(type),
      time: Instant,
      subject: Id,
      datacontenttype: Type.Literal('application/json'),
      data: dataSchemas[type],
    },
    { additionalProperties: false },
  );
}

export type NonoEventOf<T extends EventType> = Static<ReturnType<typeof envelopeSchema<T>>>;
export type NonoEvent = { [T in EventType]: NonoEventOf<T> }[EventType];

const validators = new Map<string, Validator<TSchema>>(
  EVENT_TYPES.map((type) => [type, compileValidator(envelopeSchema(type))]),
);

/** Validates an event read off the wire; an unknown type or version is an issue, not a guess. */
export function parseEvent(input: unknown): Result<NonoEvent> {
  const type = (input as { type?: unknown } | null)?.type;
  if (typeof type !== 'string') return fail([{ field: 'type', message: 'missing event type' }]);
  const validator = validators.get(type);
  if (validator === undefined)
    return fail([{ field: 'type', message: `unknown event type or version "${type}"` }]);
  return validator.parse(input) as Result<NonoEvent>;
}

/** Builds a validated event. Throws on a contract breach: that is a producer bug, not bad input. */
export function createEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  meta: { readonly id: string; readonly source: string; readonly subject: string; readonly time: EpochMs },
): NonoEvent {
  const event = {
    specversion: '1.0' as const,
    id: meta.id,
    source: meta.source,
    type,
    time: formatInstant(meta.time),
    subject: meta.subject,
    datacontenttype: 'application/json' as const,
    data,
  };
  // Check only (no clone, no defaults): this runs for every event a scheduler emits.
  const validator = validators.get(type);
  if (validator === undefined || !validator.is(event)) {
    const checked = validator?.parse(event);
    const detail =
      checked === undefined || checked.ok
        ? type
        : checked.issues.map((i) => `${i.field}: ${i.message}`).join('; ');
    throw new TypeError(`event contract breach in ${type}: ${detail}`);
  }
  return event as unknown as NonoEvent;
}

/**
 * Event ids of execution facts are derived, not random: the same fact (this execution,
 * this type, this attempt) republished after a crash or from the spool has the same id,
 * so the projection can drop the repeat.
 */
export function executionEventId(executionId: string, type: EventType, attempt: number): string {
  return uuidV5(`${type}|${executionId}|${attempt}`);
}

export type EventCategory = 'tasks' | 'executions' | 'cluster' | 'alerts';

/** Which topic an event belongs to (the topic name is `${prefix}${category}`). */
export function categoryOf(type: EventType): EventCategory {
  if (
    type.startsWith('nono.task.') ||
    type.startsWith('nono.worker-group.') ||
    type.startsWith('nono.calendar.')
  )
    return 'tasks';
  if (type.startsWith('nono.execution.')) return 'executions';
  if (type.startsWith('nono.alert.') || type.startsWith('nono.alert-rule.')) return 'alerts';
  return 'cluster';
}

/** The Kafka key: per-task ordering for task and execution facts, per-group for group changes, per-calendar for calendar changes, per-scheduler for cluster facts, per-alert for alerts, per-rule for rule changes. */
export function partitionKeyOf(event: NonoEvent): string {
  return event.subject;
}
