import { type NonoEvent, parseInstant } from '@nono/domain';
import { executionFactOf, isExecutionEvent } from './execution-fact.js';
import { type ProjectionBatch } from './projection-batch.js';

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
        eventId: event.id,
        taskId: data.taskId,
        type: event.type,
        actorId: data.actor.id,
        actorKind: data.actor.kind,
        revision: data.revision,
        before: 'before' in data ? data.before : null,
        after: 'after' in data ? data.after : null,
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
    case 'nono.scheduler.joined.v1':
    case 'nono.scheduler.left.v1':
    case 'nono.ownership.changed.v1': {
      const { schedulerId, ...detail } = event.data;
      store.saveSchedulerEvent({ eventId: event.id, schedulerId, type: event.type, detail, at });
      return;
    }
    // Alert transitions and alert rule changes live on their own topic, which history does not
    // read; one found on a topic it does read is valid and recorded as seen, but history keeps nothing of it.
    case 'nono.alert-rule.defined.v1':
    case 'nono.alert-rule.updated.v1':
    case 'nono.alert-rule.deleted.v1':
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
