import { isDeepStrictEqual } from 'node:util';
import { type Calendar, type NonoEvent, type SchedulerTask, type WorkerGroup } from '@nono/domain';
import { type MemberLeaseRecord, type OutboxEntry } from '@nono/coordination';

export type Verdict = 'publish' | 'drop' | 'wait';

/** What the relay reads to judge an uncommitted entry. */
export interface Evidence {
  /** The task as it is now, if it exists. */
  readonly current: SchedulerTask | undefined;
  /** For a trigger: whether its request node still exists. */
  readonly triggerExists: boolean;
  /** For a worker group change: the group as it is now, if it exists. */
  readonly currentGroup?: WorkerGroup | undefined;
  /** For a calendar change: the calendar as it is now, if it exists. */
  readonly currentCalendar?: Calendar | undefined;
  /** For a member joining or leaving: its lease as it is now, if any. */
  readonly lease?: MemberLeaseRecord | undefined;
  /** Events of later outbox entries for the same task, oldest first (still present: the relay holds them back). */
  readonly later: readonly NonoEvent[];
}

/** Whether `judgeEntry` will ask for evidence: only for an orphan (uncommitted and old). */
export function needsEvidence(entry: OutboxEntry, now: number, orphanAfterMs: number): boolean {
  return !entry.committed && now - entry.stagedAt >= orphanAfterMs;
}

/**
 * Decides the fate of one outbox entry. Pure, so every crash window is a table test.
 *
 * - committed: the writer saw the change succeed → publish.
 * - uncommitted and younger than `orphanAfterMs`: the writer may still be between its
 *   two writes → wait (and hold back the task's later entries, to keep per-task order).
 * - uncommitted and old: the writer crashed or lost its connection. Did the change land?
 *   A task change to revision R landed iff the content of revision R is exactly the
 *   entry's `after`. That content is the task now (if it is still at R) or the `before`
 *   of the later entry that changed R (every later change stages its entry before it
 *   writes, and the relay keeps that entry until this one is settled).
 */
export function judgeEntry(
  entry: OutboxEntry,
  now: number,
  orphanAfterMs: number,
  evidence: () => Evidence,
): Verdict {
  if (entry.committed) return 'publish';
  if (!needsEvidence(entry, now, orphanAfterMs)) return 'wait';
  const facts = evidence();
  const event = entry.event;
  switch (event.type) {
    case 'nono.task.defined.v1':
    case 'nono.task.updated.v1':
    case 'nono.task.paused.v1':
    case 'nono.task.resumed.v1': {
      const after = event.data.after;
      const atRevision = contentAt(facts, after);
      return atRevision !== undefined && isDeepStrictEqual(atRevision, after) ? 'publish' : 'drop';
    }
    case 'nono.task.deleted.v1': {
      const before = event.data.before;
      const sameIncarnation = facts.current !== undefined && facts.current.createdAt === before.createdAt;
      if (sameIncarnation) return 'drop';
      // Gone: by this delete, unless another change moved the task on from `before` first.
      const movedOnByOther = facts.later.some((other) => {
        const otherBefore = other.type === 'nono.task.deleted.v1' ? undefined : taskBefore(other);
        return otherBefore !== undefined && sameRevision(otherBefore, before);
      });
      return movedOnByOther ? 'drop' : 'publish';
    }
    case 'nono.task.triggered.v1':
      // The owner deletes a request once fired, so an absent node proves nothing; a request
      // is audited unless its task is gone. README.md ("Guarantees") states this bias.
      return facts.triggerExists || facts.current !== undefined ? 'publish' : 'drop';
    case 'nono.task.backfill-requested.v1':
    case 'nono.task.backfill-cancelled.v1':
      // The backfill document stays until its task is deleted: audited unless the task is gone.
      return facts.current !== undefined ? 'publish' : 'drop';
    // Worker groups: the same reasoning as for tasks, over the group's definition.
    case 'nono.worker-group.defined.v1':
    case 'nono.worker-group.updated.v1': {
      const after = event.data.after;
      const atRevision = groupContentAt(facts, after);
      return atRevision !== undefined && isDeepStrictEqual(atRevision, after) ? 'publish' : 'drop';
    }
    case 'nono.worker-group.deleted.v1': {
      const before = event.data.before;
      if (facts.currentGroup !== undefined && facts.currentGroup.createdAt === before.createdAt)
        return 'drop';
      const movedOnByOther = facts.later.some((other) => {
        const otherBefore = other.type === 'nono.worker-group.updated.v1' ? other.data.before : undefined;
        return otherBefore !== undefined && sameRevision(otherBefore, before);
      });
      return movedOnByOther ? 'drop' : 'publish';
    }
    // A member joined iff its lease is there from that registration; it left iff that lease is gone
    // (a later registration of the same id starts another lease, with another registeredAt).
    case 'nono.worker-group.member-joined.v1':
      return facts.lease?.registeredAt === event.data.registeredAt ? 'publish' : 'drop';
    case 'nono.worker-group.member-left.v1':
      return facts.lease?.registeredAt === event.data.registeredAt ? 'drop' : 'publish';
    // Calendars: the same reasoning again, over the calendar's definition.
    case 'nono.calendar.defined.v1':
    case 'nono.calendar.updated.v1': {
      const after = event.data.after;
      const atRevision = calendarContentAt(facts, after);
      return atRevision !== undefined && isDeepStrictEqual(atRevision, after) ? 'publish' : 'drop';
    }
    case 'nono.calendar.deleted.v1': {
      const before = event.data.before;
      if (facts.currentCalendar !== undefined && facts.currentCalendar.createdAt === before.createdAt)
        return 'drop';
      const movedOnByOther = facts.later.some(
        (other) => other.type === 'nono.calendar.updated.v1' && sameRevision(other.data.before, before),
      );
      return movedOnByOther ? 'drop' : 'publish';
    }
    default:
      return 'drop';
  }
}

function calendarContentAt(facts: Evidence, after: Calendar): Calendar | undefined {
  if (facts.currentCalendar !== undefined && sameRevision(facts.currentCalendar, after))
    return facts.currentCalendar;
  for (const other of facts.later)
    if (other.type === 'nono.calendar.updated.v1' && sameRevision(other.data.before, after))
      return other.data.before;
  return undefined;
}

function groupContentAt(facts: Evidence, after: WorkerGroup): WorkerGroup | undefined {
  if (facts.currentGroup !== undefined && sameRevision(facts.currentGroup, after)) return facts.currentGroup;
  for (const other of facts.later)
    if (other.type === 'nono.worker-group.updated.v1' && sameRevision(other.data.before, after))
      return other.data.before;
  return undefined;
}

function sameRevision(
  a: Pick<SchedulerTask, 'createdAt' | 'revision'>,
  b: Pick<SchedulerTask, 'createdAt' | 'revision'>,
): boolean {
  return a.createdAt === b.createdAt && a.revision === b.revision;
}

/** The content of the task at the revision (and incarnation) `after` names, if still knowable. */
function contentAt(facts: Evidence, after: SchedulerTask): SchedulerTask | undefined {
  if (facts.current !== undefined && sameRevision(facts.current, after)) return facts.current;
  for (const other of facts.later) {
    const before = taskBefore(other);
    if (before !== undefined && sameRevision(before, after)) return before;
  }
  return undefined;
}

/** The task a task change started from (other events, alert rule changes included, have none). */
function taskBefore(event: NonoEvent): SchedulerTask | undefined {
  switch (event.type) {
    case 'nono.task.updated.v1':
    case 'nono.task.paused.v1':
    case 'nono.task.resumed.v1':
    case 'nono.task.deleted.v1':
      return event.data.before;
    default:
      return undefined;
  }
}
