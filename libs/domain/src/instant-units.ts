import { fnv1a32 } from './hash.js';
import { type TriggerParameters } from './trigger-parameters.js';
import { normaliseMemberUrl } from './worker-group.js';

/**
 * An instant of a `shard` or `broadcast` task is not one execution but several units, each
 * fenced, attempted, retried, reported and deduplicated on its own (docs/WORKER-GROUPS.md):
 *
 * - `shard`: shard i of n, with its own parameters; any live member may run it, and a failed
 *   attempt is retried on another member;
 * - `broadcast`: one unit per member live when the instant was claimed, pinned to that member.
 *
 * Each unit's execution id is derived from the instant's execution id (the one a plain task
 * would have), so every scheduler that ever computes it gets the same one: it is the unit's
 * Idempotency-Key and its key in history. The instant's id stays a prefix, which keeps the
 * units of an instant together in every index ordered by id.
 */

/** Which shard of how many. */
export interface ShardRef {
  readonly index: number;
  readonly count: number;
}

/** One execution of an instant's fan-out. */
export interface ExecutionUnit {
  readonly executionId: string;
  /** The execution id of the instant the unit belongs to. */
  readonly instantId: string;
  readonly shard?: ShardRef;
  /** A broadcast unit's member (normalised URL): every attempt goes there. */
  readonly member?: string;
  /** A shard's parameters, sent to the worker as a manual run's are. */
  readonly parameters?: TriggerParameters;
}

export function shardExecutionId(instantId: string, index: number): string {
  return `${instantId}.shard-${index}`;
}

export function broadcastExecutionId(instantId: string, memberUrl: string): string {
  return `${instantId}.member-${fnv1a32(normaliseMemberUrl(memberUrl)).toString(16).padStart(8, '0')}`;
}

/** The instant's shards, 0 … count-1, with shard i's parameters when the list names it. */
export function planShardUnits(
  instantId: string,
  count: number,
  shardParameters: readonly TriggerParameters[] | undefined,
): ExecutionUnit[] {
  const units: ExecutionUnit[] = [];
  for (let index = 0; index < count; index++) {
    const parameters = shardParameters?.[index];
    units.push({
      executionId: shardExecutionId(instantId, index),
      instantId,
      shard: { index, count },
      ...(parameters === undefined ? {} : { parameters }),
    });
  }
  return units;
}

/**
 * One unit per member (each URL once, in the order given). Two URLs whose hashes collide get
 * the second one a suffixed id, so no two units of an instant share an id.
 */
export function planBroadcastUnits(instantId: string, memberUrls: readonly string[]): ExecutionUnit[] {
  const units: ExecutionUnit[] = [];
  const ids = new Set<string>();
  const seen = new Set<string>();
  for (const url of memberUrls) {
    const member = normaliseMemberUrl(url);
    if (seen.has(member)) continue;
    seen.add(member);
    let executionId = broadcastExecutionId(instantId, member);
    for (let n = 2; ids.has(executionId); n++)
      executionId = `${broadcastExecutionId(instantId, member)}-${n}`;
    ids.add(executionId);
    units.push({ executionId, instantId, member });
  }
  return units;
}

/** How an instant made of units ended, with the count of units in each status. */
export interface InstantOutcome {
  readonly status: string;
  readonly units: number;
  readonly byStatus: Readonly<Record<string, number>>;
}

/** The ends of a unit other than success, gravest first: an instant's outcome is the gravest of its units'. */
export const INSTANT_FAILURE_ORDER = [
  'failed',
  'timed-out',
  'lost',
  'cancelled',
  'skipped',
  'misfired',
] as const;

/**
 * The outcome of an instant from its units' statuses: `succeeded` when every unit succeeded;
 * `running` while any unit has not ended; otherwise the gravest failure among them (failed,
 * timed-out, lost, cancelled, skipped, misfired, in that order). No unit: `scheduled`.
 */
export function instantOutcome(statuses: readonly string[]): InstantOutcome {
  const byStatus: Record<string, number> = {};
  for (const status of statuses) byStatus[status] = (byStatus[status] ?? 0) + 1;
  const units = statuses.length;
  let status: string;
  if (units === 0) status = 'scheduled';
  else if (byStatus.succeeded === units) status = 'succeeded';
  else if (
    statuses.some((s) => s !== 'succeeded' && !(INSTANT_FAILURE_ORDER as readonly string[]).includes(s))
  )
    status = 'running';
  else status = INSTANT_FAILURE_ORDER.find((s) => (byStatus[s] ?? 0) > 0) ?? 'running';
  return { status, units, byStatus };
}

/** The instant an execution id belongs to: its own id for a plain execution. */
export function instantIdOf(executionId: string): string {
  const dot = executionId.indexOf('.');
  return dot < 0 ? executionId : executionId.slice(0, dot);
}

/** An execution id as nono makes them: a UUID, and for a unit of a fanned-out instant its suffix. */
export const EXECUTION_ID_PATTERN =
  '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:\\.shard-[0-9]{1,4}|\\.member-[0-9a-f]{8}(?:-[0-9]{1,4})?)?$';
