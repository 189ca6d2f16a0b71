import { type OwnerActionKind, type ownerActions } from '../store/schema.js';
import { type ExecutionFact, Phase } from './execution-fact.js';

export type OwnerActionRow = typeof ownerActions.$inferInsert;

const LOST_BY = /^scheduler (.+) lost the execution$/;

/**
 * The owner action a fact states: an attempt started (`fired`), or a decision about the
 * occurrence (skipped, misfired, declared lost). Outcomes of a started attempt (succeeded,
 * failed, timed out, retrying) are not actions of their own: they follow the start.
 */
export function ownerActionOf(fact: ExecutionFact): OwnerActionRow | undefined {
  const kindAndDetail = actionKindOf(fact);
  if (kindAndDetail === undefined) return undefined;
  return {
    taskId: fact.taskId,
    nominalTime: fact.nominalTime,
    executionId: fact.executionId,
    attempt: fact.attempt,
    kind: kindAndDetail.kind,
    schedulerId: fact.schedulerId,
    fencingToken: fact.fencingToken,
    at: fact.at,
    detail: kindAndDetail.detail,
  };
}

function actionKindOf(fact: ExecutionFact): { kind: OwnerActionKind; detail: string | null } | undefined {
  if (fact.phase === Phase.Dispatched) return { kind: 'fired', detail: null };
  if (fact.phase === Phase.Lost) {
    const lostBy = fact.error === undefined ? undefined : LOST_BY.exec(fact.error)?.[1];
    return { kind: 'lost', detail: lostBy ?? fact.error ?? null };
  }
  // A skip's error is its reason, or "reason: detail".
  if (fact.status === 'skipped') return { kind: 'skipped', detail: fact.error?.split(':')[0] ?? null };
  if (fact.status === 'misfired') return { kind: 'misfired', detail: fact.terminal ? 'skip' : 'fire' };
  return undefined;
}
