import {
  type Clock,
  type SchedulerTask,
  executionBudgetMs,
  formatInstant,
  isGroupTarget,
} from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type EventSink } from '../events/event-spool.js';
import { type ExecutionEvents } from '../events/execution-events.js';
import { type FireState, type InflightExecution, type VersionedFireState } from '../fence/fire-fence.js';
import { type FireStateWriter } from '../fence/fire-state-writer.js';
import { type SchedulerMetrics } from '../metrics.js';
import { type RunnableFire, unitFields } from '../runner/execution-runner.js';
import { type ConcludedExecutions } from './concluded-executions.js';
import { type OpenExecutions, endedPerRecord } from './open-executions.js';

export interface LostSettlerOptions {
  readonly schedulerId: string;
  readonly clock: Clock;
  readonly writer: FireStateWriter;
  readonly openExecutions: OpenExecutions;
  readonly events: EventSink;
  readonly facts: ExecutionEvents;
  readonly metrics: SchedulerMetrics;
  readonly log: Logger;
  /** Extra time past an execution's deadline before it is called lost. */
  readonly lostGraceMs: number;
  /** The process behind a live scheduler id; undefined when the id is not live. */
  readonly liveIncarnation: (schedulerId: string) => Promise<string | undefined>;
  /** Which executions have a concluding fact on the executions topic (none asked when absent). */
  readonly concluded?: ConcludedExecutions;
}

/** Clock slack between the scheduler that claimed an execution and the broker's record times. */
const CLAIM_CLOCK_SLACK_MS = 5_000;

/** What the settler needs to know of one owned task. */
export interface SettleSubject {
  readonly task: SchedulerTask;
  readonly fire: VersionedFireState;
  /** Whether this process still runs, waits for or holds the execution (it will end it itself). */
  tracks(executionId: string): boolean;
}

export interface SettleResult {
  /** The state after the settling write (the same when nothing was written; undefined when the state is gone). */
  readonly fire: VersionedFireState | undefined;
  /** Re-runs of lost executions this scheduler now holds (the task asks `rerunLost`). */
  readonly reruns: readonly RunnableFire[];
  /** When to look again (the next deadline plus grace of an entry still open), if any. */
  readonly nextCheckAt: number | undefined;
  /** Entries proven ended by their process's record: they leave with the next write. */
  readonly ended: readonly string[];
}

/**
 * Decides what became of the executions listed in a task's fire state that this process does
 * not hold: a dead scheduler's, a previous process's with our id, or a live one's that stalled.
 *
 * - Proven ended by its process's open-executions record: taken off, nothing reported.
 * - Held by a live process (the scheduler's id is live and its member node names the very
 *   process that claimed it): that process ends it and takes it off (a finished entry may stay
 *   listed for a while, and a record read a moment ago may not show it ended yet); looked at
 *   again later.
 * - Past its deadline plus the grace, with a concluding fact on the executions topic (the process
 *   finished it and made the fact durable, then died before its record said so): taken off,
 *   nothing reported, nothing re-run.
 * - Otherwise, once past its deadline plus the grace: reported `lost`. A process that died, or
 *   a scheduler restarted under the same id (live, but another process that knows nothing of
 *   it), will never end it. No process starts an attempt that could run past the deadline (the
 *   runner's rule), so past it nothing of it can still be running.
 * - Before that: looked at again at that time.
 *
 * A lost execution is re-run when the task asks and it belongs to this incarnation of the
 * task; the re-run replaces its entry in the same write, so it stays accounted for.
 */
export class LostSettler {
  readonly #o: LostSettlerOptions;

  constructor(options: LostSettlerOptions) {
    this.#o = options;
  }

  async settle(subject: SettleSubject): Promise<SettleResult> {
    const { task, fire } = subject;
    const { openExecutions, clock, lostGraceMs } = this.#o;
    const now = clock.now();
    const lostCandidates = new Set<string>();
    const ended: string[] = [];
    let nextCheckAt: number | undefined;
    for (const [executionId, entry] of Object.entries(fire.state.inflight)) {
      if (this.#heldHere(entry) && subject.tracks(executionId)) continue;
      if (endedPerRecord(entry, await openExecutions.recordOf(entry.schedulerId))) {
        ended.push(executionId);
        continue;
      }
      const lostAt = entry.deadlineAt + lostGraceMs;
      if (now < lostAt) {
        nextCheckAt = Math.min(nextCheckAt ?? Infinity, lostAt);
        continue;
      }
      if (await this.#heldByLiveProcess(entry)) {
        nextCheckAt = Math.min(nextCheckAt ?? Infinity, now + Math.max(lostGraceMs, 1_000));
        continue;
      }
      lostCandidates.add(executionId);
    }
    for (const executionId of await this.#concluded(task.id, fire.state, lostCandidates)) {
      lostCandidates.delete(executionId);
      ended.push(executionId);
    }
    if (lostCandidates.size === 0) return { fire, reruns: [], nextCheckAt, ended };

    let lost: Array<[string, InflightExecution]> = [];
    let reruns: RunnableFire[] = [];
    const budget = executionBudgetMs(task);
    const update = await this.#o.writer.update(task.id, fire, (state): FireState | undefined => {
      // Applied again to a fresh state after a lost compare-and-set: decide from what is there.
      lost = Object.entries(state.inflight).filter(([id]) => lostCandidates.has(id));
      reruns = [];
      if (lost.length === 0) return undefined;
      const inflight = { ...state.inflight };
      for (const id of ended) delete inflight[id];
      for (const [id, entry] of lost) {
        delete inflight[id];
        const ours = (entry.taskIncarnation ?? state.taskIncarnation) === task.createdAt;
        if (!task.rerunLost || !ours) continue;
        const deadlineAt = now + budget;
        inflight[id] = {
          nominal: entry.nominal,
          schedulerId: this.#o.schedulerId,
          startedAt: now,
          deadlineAt,
          reason: 'failover',
          fencingToken: 0,
          taskIncarnation: task.createdAt,
          ...openExecutions.open(task.id, id),
          ...(entry.parameters === undefined ? {} : { parameters: entry.parameters }),
          ...unitOf(entry),
        };
        // A shard or broadcast unit is re-run alone, as the same unit (same id, same shard or member).
        reruns.push({
          executionId: id,
          nominal: entry.nominal,
          reason: 'failover',
          fencingToken: 0,
          firstAttempt: 2,
          deadlineAt,
          ...(entry.parameters === undefined ? {} : { parameters: entry.parameters }),
          ...unitOf(entry),
        });
      }
      return { ...state, inflight };
    });
    if (update.kind !== 'written') {
      openExecutions.close(
        task.id,
        reruns.map((r) => r.executionId),
      );
      return { fire: update.kind === 'gone' ? undefined : update.fire, reruns: [], nextCheckAt, ended };
    }
    const token = update.fencingToken;
    for (const [executionId, entry] of lost) {
      this.#o.metrics.lost.inc();
      const rerun = reruns.some((r) => r.executionId === executionId);
      this.#o.events.append([
        this.#o.facts.create('nono.execution.lost.v1', {
          ...this.#o.facts.ref(task.id, executionId, entry.nominal, token),
          ...unitFields(entry),
          ...(entry.member === undefined ? {} : { member: memberRef(task, entry.member) }),
          reason: entry.reason,
          detectedAt: formatInstant(now),
          lostSchedulerId: entry.schedulerId,
          rerun,
        }),
      ]);
      // Ours from a previous claim (our id's previous process, or ourselves): no longer open.
      if (!rerun) openExecutions.close(task.id, [executionId]);
    }
    return {
      fire: update.fire,
      reruns: reruns.map((r) => ({ ...r, fencingToken: token })),
      nextCheckAt,
      ended: [],
    };
  }

  async #concluded(
    taskId: string,
    state: FireState,
    candidates: ReadonlySet<string>,
  ): Promise<Iterable<string>> {
    if (this.#o.concluded === undefined || candidates.size === 0) return [];
    const executionIds = [...candidates];
    const claimedAt = Math.min(...executionIds.map((id) => state.inflight[id]?.startedAt ?? 0));
    return this.#o.concluded.of({ taskId, executionIds, since: claimedAt - CLAIM_CLOCK_SLACK_MS });
  }

  async #heldByLiveProcess(entry: InflightExecution): Promise<boolean> {
    if (entry.schedulerId === this.#o.schedulerId) return false; // ours: held here or by a dead predecessor
    const live = await this.#o.liveIncarnation(entry.schedulerId);
    if (live === undefined) return false;
    // Without incarnations on either side (older versions) a live id is taken to be the same process.
    return live === 'unknown' || entry.incarnation === undefined || live === entry.incarnation;
  }

  /** Claimed by this very process (not an earlier one with our id). */
  #heldHere(entry: InflightExecution): boolean {
    return (
      entry.schedulerId === this.#o.schedulerId &&
      (entry.incarnation ?? this.#o.openExecutions.incarnation) === this.#o.openExecutions.incarnation
    );
  }
}

/** What makes a fire-state entry a unit of a fanned-out instant (nothing for a plain execution). */
function unitOf(entry: InflightExecution): Pick<InflightExecution, 'instantId' | 'shard' | 'member'> {
  return {
    ...(entry.instantId === undefined ? {} : { instantId: entry.instantId }),
    ...(entry.shard === undefined ? {} : { shard: entry.shard }),
    ...(entry.member === undefined ? {} : { member: entry.member }),
  };
}

function memberRef(task: SchedulerTask, url: string): { group: string; url: string } {
  return { group: isGroupTarget(task.target) ? task.target.group : '', url };
}
