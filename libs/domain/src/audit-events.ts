import { type Calendar } from './calendar.js';
import { type Actor, type NonoEvent, createEvent } from './events.js';
import { manualExecutionId, uuidV5 } from './occurrence.js';
import { type SchedulerTask } from './task.js';
import { type TriggerParameters } from './trigger-parameters.js';
import { type MemberLease, type WorkerGroup } from './worker-group.js';

/**
 * Builds the audit events of task changes. Ids are derived from what changed (task,
 * incarnation, revision), never random: the relay may publish an entry twice after a
 * crash, and two writers racing for the same revision (only one of which wins the CAS)
 * describe the same slot, so consumers can drop repeats by id.
 */
export interface AuditContext {
  readonly actor: Actor;
  readonly source: string;
  readonly now: number;
}

export type TaskChangeType = 'nono.task.updated.v1' | 'nono.task.paused.v1' | 'nono.task.resumed.v1';

function changeId(type: string, task: SchedulerTask): string {
  return uuidV5(`audit|${type}|${task.id}|${task.createdAt}|${task.revision}`);
}

function meta(id: string, subject: string, context: AuditContext) {
  return { id, source: context.source, subject, time: context.now };
}

export function definedEvent(after: SchedulerTask, context: AuditContext): NonoEvent {
  const type = 'nono.task.defined.v1';
  return createEvent(
    type,
    { taskId: after.id, actor: context.actor, revision: after.revision, after },
    meta(changeId(type, after), after.id, context),
  );
}

export function changedEvent(
  type: TaskChangeType,
  before: SchedulerTask,
  after: SchedulerTask,
  context: AuditContext,
  note?: string,
): NonoEvent {
  const base = { taskId: after.id, actor: context.actor, revision: after.revision, before, after };
  const m = meta(changeId(type, after), after.id, context);
  if (type === 'nono.task.paused.v1')
    return createEvent(type, note === undefined ? base : { ...base, note }, m);
  return createEvent(type, base, m);
}

export function deletedEvent(before: SchedulerTask, context: AuditContext): NonoEvent {
  const type = 'nono.task.deleted.v1';
  return createEvent(
    type,
    { taskId: before.id, actor: context.actor, revision: before.revision, before },
    meta(changeId(type, before), before.id, context),
  );
}

export function triggeredEvent(
  taskId: string,
  requestId: string,
  context: AuditContext,
  parameters?: TriggerParameters,
): NonoEvent {
  const type = 'nono.task.triggered.v1';
  const executionId = manualExecutionId(taskId, requestId);
  const id = uuidV5(`audit|${type}|${taskId}|${requestId}`);
  return createEvent(
    type,
    {
      taskId,
      actor: context.actor,
      triggerRequestId: requestId,
      executionId,
      ...(parameters === undefined ? {} : { parameters }),
    },
    meta(id, taskId, context),
  );
}

/* Worker groups: the same derivation, per group name, incarnation and revision. */

function groupChangeId(type: string, group: WorkerGroup): string {
  return uuidV5(`audit|${type}|${group.name}|${group.createdAt}|${group.revision}`);
}

export function groupDefinedEvent(after: WorkerGroup, context: AuditContext): NonoEvent {
  const type = 'nono.worker-group.defined.v1';
  return createEvent(
    type,
    { group: after.name, actor: context.actor, revision: after.revision, after },
    meta(groupChangeId(type, after), after.name, context),
  );
}

export function groupUpdatedEvent(before: WorkerGroup, after: WorkerGroup, context: AuditContext): NonoEvent {
  const type = 'nono.worker-group.updated.v1';
  return createEvent(
    type,
    { group: after.name, actor: context.actor, revision: after.revision, before, after },
    meta(groupChangeId(type, after), after.name, context),
  );
}

export function groupDeletedEvent(before: WorkerGroup, context: AuditContext): NonoEvent {
  const type = 'nono.worker-group.deleted.v1';
  return createEvent(
    type,
    { group: before.name, actor: context.actor, revision: before.revision, before },
    meta(groupChangeId(type, before), before.name, context),
  );
}

/** A dynamic member joined (its first registration, or a registration at another URL). */
export function memberJoinedEvent(
  group: string,
  lease: MemberLease & { readonly leaseMs: number },
  context: AuditContext,
): NonoEvent {
  const type = 'nono.worker-group.member-joined.v1';
  return createEvent(
    type,
    {
      group,
      actor: context.actor,
      memberId: lease.memberId,
      url: lease.url,
      registeredAt: lease.registeredAt,
      leaseMs: lease.leaseMs,
    },
    meta(uuidV5(`audit|${type}|${group}|${lease.memberId}|${lease.registeredAt}`), group, context),
  );
}

/** A dynamic member deregistered itself (a lapsed lease is not an audit fact: nobody acted). */
export function memberLeftEvent(group: string, lease: MemberLease, context: AuditContext): NonoEvent {
  const type = 'nono.worker-group.member-left.v1';
  return createEvent(
    type,
    {
      group,
      actor: context.actor,
      memberId: lease.memberId,
      url: lease.url,
      registeredAt: lease.registeredAt,
    },
    meta(uuidV5(`audit|${type}|${group}|${lease.memberId}|${lease.registeredAt}`), group, context),
  );
}

/* Backfills: one id per backfill and fact (the relay may publish an entry twice). */

export function backfillRequestedEvent(
  data: Omit<Extract<NonoEvent, { type: 'nono.task.backfill-requested.v1' }>['data'], 'actor'>,
  context: AuditContext,
): NonoEvent {
  const type = 'nono.task.backfill-requested.v1';
  const id = uuidV5(`audit|${type}|${data.taskId}|${data.backfillId}`);
  return createEvent(type, { ...data, actor: context.actor }, meta(id, data.taskId, context));
}

export function backfillCancelledEvent(taskId: string, backfillId: string, context: AuditContext): NonoEvent {
  const type = 'nono.task.backfill-cancelled.v1';
  const id = uuidV5(`audit|${type}|${taskId}|${backfillId}`);
  return createEvent(type, { taskId, backfillId, actor: context.actor }, meta(id, taskId, context));
}

/* Exclusion calendars: the same derivation, per calendar name, incarnation and revision. */

function calendarChangeId(type: string, calendar: Calendar): string {
  return uuidV5(`audit|${type}|${calendar.name}|${calendar.createdAt}|${calendar.revision}`);
}

export function calendarDefinedEvent(after: Calendar, context: AuditContext): NonoEvent {
  const type = 'nono.calendar.defined.v1';
  return createEvent(
    type,
    { calendar: after.name, actor: context.actor, revision: after.revision, after },
    meta(calendarChangeId(type, after), after.name, context),
  );
}

export function calendarUpdatedEvent(before: Calendar, after: Calendar, context: AuditContext): NonoEvent {
  const type = 'nono.calendar.updated.v1';
  return createEvent(
    type,
    { calendar: after.name, actor: context.actor, revision: after.revision, before, after },
    meta(calendarChangeId(type, after), after.name, context),
  );
}

export function calendarDeletedEvent(before: Calendar, context: AuditContext): NonoEvent {
  const type = 'nono.calendar.deleted.v1';
  return createEvent(
    type,
    { calendar: before.name, actor: context.actor, revision: before.revision, before },
    meta(calendarChangeId(type, before), before.name, context),
  );
}
