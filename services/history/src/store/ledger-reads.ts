import {
  type LedgerAction,
  type LedgerDefinition,
  type LedgerExecution,
  type LedgerManualRequest,
  type SchedulerTask,
} from '@nono/domain';
import { and, asc, count, desc, eq, gte, inArray, lt, ne, notInArray } from 'drizzle-orm';
import { type HistoryDb } from './open-database.js';
import { executions, ownerActions, taskAudit } from './schema.js';

/** What the ledger of one task over [from, to) is computed from (see `buildLedger` in @nono/domain). */
export interface LedgerFacts {
  readonly definitions: LedgerDefinition[];
  readonly executions: LedgerExecution[];
  readonly actions: LedgerAction[];
  readonly manualRequests: LedgerManualRequest[];
  /** The runs before the window of the incarnation in force at its start, when it has `maxRuns`. */
  readonly runsBefore?: { readonly incarnation: string; readonly runs: number };
  /** More executions in the window than `maxRows`: the caller refuses the window. */
  readonly truncated: boolean;
}

const TRIGGERED = 'nono.task.triggered.v1';
const DELETED = 'nono.task.deleted.v1';

/**
 * Reads a task's ledger inputs: the definition events in force over the window (the two
 * before it as well, so the transition after one just before `from` is known), the
 * executions and owner actions nominally in it, and the manual requests made in it with
 * their executions wherever their instant fell. Every read is a range of an index led by
 * the task id.
 */
export function readLedgerFacts(
  db: HistoryDb,
  taskId: string,
  from: number,
  to: number,
  maxRows: number,
): LedgerFacts {
  const auditColumns = {
    type: taskAudit.type,
    after: taskAudit.after,
    before: taskAudit.before,
    at: taskAudit.at,
  };
  const ofTask = and(eq(taskAudit.taskId, taskId), ne(taskAudit.type, TRIGGERED));
  const before = db
    .select(auditColumns)
    .from(taskAudit)
    .where(and(ofTask, lt(taskAudit.at, from)))
    .orderBy(desc(taskAudit.at), desc(taskAudit.eventId))
    .limit(2)
    .all();
  const within = db
    .select(auditColumns)
    .from(taskAudit)
    .where(and(ofTask, gte(taskAudit.at, from), lt(taskAudit.at, to)))
    .orderBy(asc(taskAudit.at))
    .limit(maxRows + 1)
    .all();
  const definitions = [...before, ...within].map((row): LedgerDefinition => ({
    at: row.at,
    // Every change event carries the definition it left in force; a deletion leaves none.
    task: row.type === DELETED ? undefined : ((row.after as SchedulerTask | null) ?? undefined),
  }));

  const triggers = db
    .select({ detail: taskAudit.detail, at: taskAudit.at, actorId: taskAudit.actorId })
    .from(taskAudit)
    .where(
      and(
        eq(taskAudit.taskId, taskId),
        eq(taskAudit.type, TRIGGERED),
        gte(taskAudit.at, from),
        lt(taskAudit.at, to),
      ),
    )
    .limit(maxRows + 1)
    .all();
  const manualRequests = triggers.flatMap((row): LedgerManualRequest[] => {
    const executionId = (row.detail as { executionId?: unknown } | null)?.executionId;
    return typeof executionId === 'string'
      ? [{ executionId, requestedAt: row.at, actorId: row.actorId }]
      : [];
  });

  const executionColumns = {
    executionId: executions.executionId,
    nominal: executions.nominalTime,
    reason: executions.reason,
    status: executions.status,
    attempts: executions.attempts,
    error: executions.error,
  };
  const inWindow = db
    .select(executionColumns)
    .from(executions)
    .where(
      and(eq(executions.taskId, taskId), gte(executions.nominalTime, from), lt(executions.nominalTime, to)),
    )
    .limit(maxRows + 1)
    .all();
  const seen = new Set(inWindow.map((row) => row.executionId));
  const requestedElsewhere = manualRequests.map((r) => r.executionId).filter((id) => !seen.has(id));
  const manualRows =
    requestedElsewhere.length === 0
      ? []
      : db
          .select(executionColumns)
          .from(executions)
          .where(inArray(executions.executionId, requestedElsewhere))
          .all();
  const rows = [...inWindow, ...manualRows].map((row): LedgerExecution => ({
    ...row,
    error: row.error ?? undefined,
  }));

  const actionColumns = {
    executionId: ownerActions.executionId,
    nominal: ownerActions.nominalTime,
    kind: ownerActions.kind,
    attempt: ownerActions.attempt,
    schedulerId: ownerActions.schedulerId,
    fencingToken: ownerActions.fencingToken,
    at: ownerActions.at,
    detail: ownerActions.detail,
  };
  const actionRows = db
    .select(actionColumns)
    .from(ownerActions)
    .where(
      and(
        eq(ownerActions.taskId, taskId),
        gte(ownerActions.nominalTime, from),
        lt(ownerActions.nominalTime, to),
      ),
    )
    .limit(4 * maxRows + 1)
    .all();
  for (const row of manualRows) {
    actionRows.push(
      ...db
        .select(actionColumns)
        .from(ownerActions)
        .where(
          and(
            eq(ownerActions.taskId, taskId),
            eq(ownerActions.nominalTime, row.nominal),
            eq(ownerActions.executionId, row.executionId),
          ),
        )
        .all(),
    );
  }
  const inForce = definitions[0]?.task;
  const runsBefore =
    inForce?.maxRuns === undefined ? undefined : countRunsBefore(db, taskId, inForce.createdAt, from);
  return {
    definitions,
    ...(runsBefore === undefined ? {} : { runsBefore }),
    executions: rows,
    actions: actionRows.map((row): LedgerAction => ({ ...row, detail: row.detail ?? undefined })),
    manualRequests,
    truncated:
      within.length > maxRows ||
      triggers.length > maxRows ||
      inWindow.length > maxRows ||
      actionRows.length > 4 * maxRows,
  };
}

/**
 * Scheduled runs of one task incarnation nominally before `from`, as the ledger counts them
 * against `maxRuns` (executions neither manual, skipped nor misfired).
 */
function countRunsBefore(db: HistoryDb, taskId: string, incarnation: string, from: number) {
  const [row] = db
    .select({ runs: count() })
    .from(executions)
    .where(
      and(
        eq(executions.taskId, taskId),
        gte(executions.nominalTime, Date.parse(incarnation)),
        lt(executions.nominalTime, from),
        ne(executions.reason, 'manual'),
        notInArray(executions.status, ['skipped', 'misfired']),
      ),
    )
    .all();
  return { incarnation, runs: row?.runs ?? 0 };
}
