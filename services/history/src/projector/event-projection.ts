import { type Actor, type NonoEvent, parseInstant } from '@nono/domain';
import { executionFactOf, isExecutionEvent } from './execution-fact.js';
import { type ProjectionBatch } from './projection-batch.js';

/**
 * Whether history keeps nothing of an event: the alert transitions, which share the alerts
 * topic with the rule changes history does keep. They are passed over without recording
 * their ids (nothing could count twice), so the many transitions of a busy alerts service
 * cost no row.
 */
export function keepsNothingOf(event: NonoEvent): boolean {
  return event.type.startsWith('nono.alert.');
}

/**
 * Projects one validated, not-yet-seen event into the batch (merged with the other facts
 * of its execution, written by `ProjectionBatch.flush`). Runs inside the batch transaction.
 */
export function projectEvent(store: ProjectionBatch, event: NonoEvent): void {
  if (isExecutionEvent(event)) {
    store.applyExecutionFact(executionFactOf(event));
    return;
  }
  const at = parseInstant(event.time) ?? 0;
  switch (event.type) {
    case 'nono.task.defined.v1':
    case 'nono.task.updated.v1':
    case 'nono.task.paused.v1':
    case 'nono.task.resumed.v1':
    case 'nono.task.deleted.v1': {
      const data = event.data;
      store.saveAudit({
        ...changeOf(event, data),
        taskId: data.taskId,
        detail: 'note' in data && data.note !== undefined ? { note: data.note } : null,
        at,
      });
      return;
    }
    case 'nono.task.triggered.v1':
      store.saveAudit({
        eventId: event.id,
        taskId: event.data.taskId,
        type: event.type,
        actorId: event.data.actor.id,
        actorKind: event.data.actor.kind,
        revision: null,
        before: null,
        after: null,
        detail: { triggerRequestId: event.data.triggerRequestId, executionId: event.data.executionId },
        at,
      });
      return;
    // A backfill's request, cancel and end are in the task's audit trail; its progress facts
    // (every few seconds while it runs) are not: the end carries the final counts.
    case 'nono.task.backfill-requested.v1':
    case 'nono.task.backfill-cancelled.v1': {
      const { taskId, actor, ...detail } = event.data;
      store.saveAudit({
        eventId: event.id,
        taskId,
        type: event.type,
        actorId: actor.id,
        actorKind: actor.kind,
        revision: null,
        before: null,
        after: null,
        detail,
        at,
      });
      return;
    }
    case 'nono.task.backfill-finished.v1': {
      const { taskId, ...detail } = event.data;
      store.saveAudit({
        eventId: event.id,
        taskId,
        type: event.type,
        actorId: event.data.schedulerId,
        actorKind: 'system',
        revision: null,
        before: null,
        after: null,
        detail,
        at,
      });
      return;
    }
    case 'nono.task.backfill-progressed.v1':
      return;
    case 'nono.scheduler.joined.v1':
    case 'nono.scheduler.left.v1':
    case 'nono.ownership.changed.v1': {
      const { schedulerId, ...detail } = event.data;
      store.saveSchedulerEvent({ eventId: event.id, schedulerId, type: event.type, detail, at });
      return;
    }
    case 'nono.alert-rule.defined.v1':
    case 'nono.alert-rule.updated.v1':
    case 'nono.alert-rule.deleted.v1': {
      store.saveRuleAudit({ ...changeOf(event, event.data), ruleId: event.data.ruleId, at });
      return;
    }
    case 'nono.calendar.defined.v1':
    case 'nono.calendar.updated.v1':
    case 'nono.calendar.deleted.v1': {
      store.saveCalendarAudit({ ...changeOf(event, event.data), calendar: event.data.calendar, at });
      return;
    }
    // Never reached through BatchProjector, which passes over them (keepsNothingOf).
    case 'nono.alert.opened.v1':
    case 'nono.alert.renotified.v1':
    case 'nono.alert.resolved.v1':
    case 'nono.alert.acknowledged.v1':
    case 'nono.alert.silenced.v1':
      return;
    // Worker group changes are audit facts on the tasks topic; history's audit trail is per task,
    // so it records them as seen and keeps nothing of them.
    case 'nono.worker-group.defined.v1':
    case 'nono.worker-group.updated.v1':
    case 'nono.worker-group.deleted.v1':
    case 'nono.worker-group.member-joined.v1':
    case 'nono.worker-group.member-left.v1':
      return;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** Who changed what, from a change's audit fact (a task's, an alert rule's or a calendar's): the columns the audit tables share. */
function changeOf(
  event: NonoEvent,
  data: {
    readonly actor: Actor;
    readonly revision: number;
    readonly before?: unknown;
    readonly after?: unknown;
  },
): {
  eventId: string;
  type: string;
  actorId: string;
  actorKind: string;
  revision: number;
  before: unknown;
  after: unknown;
} {
  return {
    eventId: event.id,
    type: event.type,
    actorId: data.actor.id,
    actorKind: data.actor.kind,
    revision: data.revision,
    before: data.before ?? null,
    after: data.after ?? null,
  };
}
