import {
  type TaskSpec,
  TaskSpecSchema,
  type TaskTiming,
  diffSchedules,
  formatInstant,
  formatIssues,
  parseSchedule,
  parseTaskSpec,
} from '@nono/domain';
import { CliError, ExitCode } from './cli-error.js';
import { type TaskDocument } from './task-file.js';

/** What `nono tasks apply` does to one task. */
export type PlanAction = 'create' | 'update' | 'unchanged' | 'delete';

export interface PlanStep {
  readonly id: string;
  readonly action: PlanAction;
  /** For an update: each changed field, `path: before → after` (JSON values). */
  readonly changes: readonly string[];
  /** What to send for a create or an update (the file's task, with the server's pause kept). */
  readonly body?: Record<string, unknown>;
  /** The version read, for If-Match (update, delete). */
  readonly etag?: string;
  /** For an update that changes when the task fires: the instants of the coming days it adds and removes. */
  readonly instants?: PlannedInstants;
}

/** How many instants of the next `days` days an update adds and removes, and the first of each. */
export interface PlannedInstants {
  readonly days: number;
  readonly added: number;
  readonly removed: number;
  readonly firstAdded: readonly string[];
  readonly firstRemoved: readonly string[];
  /** Compared only up to here (a schedule with more than 100,000 instants in the window). */
  readonly checkedUntil?: string;
}

/** The window a plan's schedule diff covers. */
export const PLAN_DIFF_DAYS = 7;
const TIMING_FIELDS = ['schedule', 'startAt', 'endAt'];

/** A task on the server as the plan needs it: its JSON and its ETag. */
export interface ServerTask {
  readonly task: Readonly<Record<string, unknown>>;
  readonly etag: string | undefined;
}

const SPEC_FIELDS = Object.keys(TaskSpecSchema.properties);

/**
 * Compares the files' tasks with the server's, field by field after both are normalised the way
 * the API normalises a definition (`parseTaskSpec`: defaults applied), so a file that leaves a
 * field to its default is unchanged against a server task that has the default. A task's pause
 * (`paused`, `pausedNote`) is an operator's action: a file that does not set `paused` keeps the
 * server's. `prune` adds a delete for each server task no file names.
 */
export function planApply(
  documents: readonly TaskDocument[],
  server: ReadonlyMap<string, ServerTask>,
  options: { readonly now: number; readonly prune: boolean; readonly pruneCandidates?: readonly string[] },
): PlanStep[] {
  const steps: PlanStep[] = [];
  const seen = new Set<string>();
  for (const document of documents) {
    if (seen.has(document.id))
      throw new CliError(ExitCode.Usage, `task "${document.id}" is in the files twice`);
    seen.add(document.id);
    const current = server.get(document.id);
    const { id: _id, ...spec } = document;
    const wanted = current === undefined || 'paused' in spec ? spec : { ...spec, ...pauseOf(current.task) };
    const parsed = parseTaskSpec(wanted, options.now);
    if (!parsed.ok)
      throw new CliError(
        ExitCode.Usage,
        `task "${document.id}" is not valid: ${formatIssues(parsed.issues)}`,
      );
    if (current === undefined) {
      steps.push({ id: document.id, action: 'create', changes: [], body: { id: document.id, ...wanted } });
      continue;
    }
    // The server's definition is stored normalised already.
    const changes = fieldChanges(pickSpec(current.task), parsed.value);
    const timingChanged = changes.some((change) => TIMING_FIELDS.includes(change.split(/[.:]/)[0] ?? ''));
    const before = timingChanged ? timingOf(document.id, current.task) : undefined;
    const instants =
      before === undefined
        ? undefined
        : plannedInstants(before, { ...parsed.value, id: document.id }, options.now);
    steps.push({
      id: document.id,
      action: changes.length === 0 ? 'unchanged' : 'update',
      changes,
      ...(changes.length === 0 ? {} : { body: { id: document.id, ...wanted } }),
      ...(current.etag === undefined ? {} : { etag: current.etag }),
      ...(instants === undefined ? {} : { instants }),
    });
  }
  if (options.prune)
    for (const id of [...(options.pruneCandidates ?? server.keys())].sort())
      if (!seen.has(id)) {
        const etag = server.get(id)?.etag;
        steps.push({ id, action: 'delete', changes: [], ...(etag === undefined ? {} : { etag }) });
      }
  return steps;
}

/** The server task's timing, or undefined if it cannot be read (the plan then shows no diff). */
function timingOf(id: string, task: Readonly<Record<string, unknown>>): TaskTiming | undefined {
  const schedule = parseSchedule(task['schedule']);
  if (!schedule.ok) return undefined;
  const bound = (field: string) => (typeof task[field] === 'string' ? { [field]: task[field] } : {});
  return { id, schedule: schedule.value, ...bound('startAt'), ...bound('endAt') };
}

function plannedInstants(before: TaskTiming, after: TaskTiming, now: number): PlannedInstants {
  const diff = diffSchedules(before, after, now, now + PLAN_DIFF_DAYS * 86_400_000, { listLimit: 3 });
  return {
    days: PLAN_DIFF_DAYS,
    added: diff.added.count,
    removed: diff.removed.count,
    firstAdded: diff.added.first.map(formatInstant),
    firstRemoved: diff.removed.first.map(formatInstant),
    ...(diff.checkedUntil === diff.until ? {} : { checkedUntil: formatInstant(diff.checkedUntil) }),
  };
}

function pauseOf(task: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const pause: Record<string, unknown> = { paused: task['paused'] === true };
  if (typeof task['pausedNote'] === 'string') pause['pausedNote'] = task['pausedNote'];
  return pause;
}

function pickSpec(task: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    SPEC_FIELDS.filter((field) => field in task).map((field) => [field, task[field]]),
  );
}

/** Leaf-by-leaf differences (`schedule.everyMs: 5000 → 10000`); arrays compare whole. */
export function fieldChanges(before: Readonly<Record<string, unknown>>, after: Readonly<TaskSpec>): string[] {
  const changes: string[] = [];
  const walk = (path: string, a: unknown, b: unknown): void => {
    if (isPlainObject(a) && isPlainObject(b)) {
      for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
        walk(path === '' ? key : `${path}.${key}`, a[key], b[key]);
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) changes.push(`${path}: ${show(a)} → ${show(b)}`);
  };
  walk('', before, after);
  return changes;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}

/**
 * The plan as people read it: one line per task, the changes of an update indented below, and a
 * count; `done` words the count as what happened rather than what would.
 */
export function renderPlan(steps: readonly PlanStep[], done = false): string {
  const sign: Record<PlanAction, string> = { create: '+', update: '~', unchanged: '=', delete: '-' };
  const lines = steps.flatMap((step) => [
    `${sign[step.action]} ${step.action.padEnd(9)} ${step.id}`,
    ...step.changes.map((change) => `      ${change}`),
    ...(step.instants === undefined ? [] : [`      ${describeInstants(step.instants)}`]),
  ]);
  const count = (action: PlanAction) => steps.filter((step) => step.action === action).length;
  lines.push(
    done
      ? `${count('create')} created, ${count('update')} updated, ${count('unchanged')} unchanged, ${count('delete')} deleted`
      : `${count('create')} to create, ${count('update')} to update, ${count('unchanged')} unchanged, ${count('delete')} to delete`,
  );
  return `${lines.join('\n')}\n`;
}

/** `instants in the next 7 days: +2 (first 2026-06-02T07:00:00.000Z), -5 (first …)`. */
function describeInstants(instants: PlannedInstants): string {
  const side = (sign: string, count: number, first: readonly string[]) =>
    `${sign}${count}${first[0] === undefined ? '' : ` (first ${first[0]})`}`;
  const window =
    instants.checkedUntil === undefined
      ? `in the next ${instants.days} days`
      : `up to ${instants.checkedUntil} (the next ${instants.days} days hold too many to compare)`;
  return `instants ${window}: ${side('+', instants.added, instants.firstAdded)}, ${side('-', instants.removed, instants.firstRemoved)}`;
}
