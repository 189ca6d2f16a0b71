import {
  type Clock,
  type EventData,
  type EventType,
  type FireReason,
  type NonoEvent,
  type SchedulerTask,
  type TimerHandle,
  createEvent,
  executionEventId,
  formatInstant,
  jitterOffsetMs,
  manualExecutionId,
  nextTaskFireTime,
  parseInstant,
  planDueFires,
  retryDelayMs,
  scheduledExecutionId,
  shouldRetry,
} from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type EventSink } from './event-spool.js';
import {
  type FencePort,
  type FireState,
  type InflightExecution,
  type VersionedFireState,
} from './fire-fence.js';
import { FireQueue } from './fire-queue.js';
import { type InvocationOutcome, type Invoker } from './invoker.js';
import { type SchedulerMetrics } from './metrics.js';
import { type OpenExecutions, endedPerRecord } from './open-executions.js';

/**
 * The firing engine of one scheduler. It is told which tasks it owns and what they look
 * like (by the Coordinator), and for each task: plans the instants about to fall due
 * (misfire policy), claims them through the fence `claimLeadMs` ahead, then at each
 * instant applies the overlap policy, calls the worker and records every step as an
 * event. Claiming ahead keeps the ZooKeeper round trip off the path of the fire (lateness
 * is the timer's, not the fence's) and lets a frequent task claim several instants in one
 * write. Two timer queues serve all tasks: claims and starts. ZooKeeper work for one task
 * is serialised (one promise chain per task) because the fence is a per-task compare-and-set.
 */
export interface EngineOptions {
  readonly schedulerId: string;
  readonly clock: Clock;
  readonly fence: FencePort;
  readonly invoker: Invoker;
  readonly events: EventSink;
  /** Which of our executions are still open, for whoever takes our tasks over after a crash. */
  readonly openExecutions: OpenExecutions;
  readonly log: Logger;
  readonly metrics: SchedulerMetrics;
  /** A due instant older than this when the engine gets to it is a misfire. */
  readonly misfireThresholdMs: number;
  /** Instants are claimed this long before they fall due. */
  readonly claimLeadMs: number;
  /**
   * How long a finished execution may stay listed in its fire state, waiting to ride on the
   * task's next claim (the open-executions record already says it ended).
   */
  readonly finishFlushDelayMs: number;
  /** Extra time past an execution's deadline before another scheduler calls it lost. */
  readonly lostGraceMs: number;
  /** Live scheduler ids, to tell a dead owner's executions from a slow one's. */
  readonly liveMembers: () => ReadonlySet<string>;
  /** Removes a handled manual trigger request. */
  readonly deleteTrigger: (name: string) => Promise<void>;
  readonly readTrigger: (name: string) => Promise<{ actor?: string } | undefined>;
}

interface PlannedFire {
  readonly executionId: string;
  readonly nominal: number;
  readonly reason: FireReason;
  readonly fencingToken: number;
  readonly firstAttempt: number;
}

/** An instant this scheduler has won through the fence, waiting for its moment. */
interface ClaimedFire extends PlannedFire {
  /** The nominal instant plus the task's jitter. */
  readonly fireAt: number;
  /** As written to the fire state: after it, another scheduler may call the execution lost. */
  readonly deadlineAt: number;
  readonly onTime: boolean;
}

interface TaskRuntime {
  readonly taskId: string;
  task: SchedulerTask | undefined;
  fire: VersionedFireState | undefined;
  /** Instants at or before this are never planned (e.g. those that passed while paused). */
  baseline: number;
  /** Taken over from another scheduler at this instant: its late fires say "failover". */
  takenOverAt: number | undefined;
  readonly running: Map<string, AbortController>;
  buffered: PlannedFire[];
  /** Claimed, not yet started, by `fireAt`. They start even after a release: the fence gave them to us. */
  pending: ClaimedFire[];
  /** Ended (here, or per a dead scheduler's record), still listed in the fire state: removed by the next claim or a delayed write. */
  readonly finished: Set<string>;
  finishFlush: TimerHandle | undefined;
  chain: Promise<void>;
  released: boolean;
  lostCheck: TimerHandle | undefined;
}

const MANUAL_DONE_KEPT = 50;

export class Engine {
  readonly #o: EngineOptions;
  /** When each owned task next claims (by task id: a release cancels it). */
  readonly #claims: FireQueue;
  /** When each runtime's first claimed instant starts (by runtime: a released one still starts what it claimed). */
  readonly #starts: FireQueue<TaskRuntime>;
  /** Runtimes whose start fell due while the session was not live: reconsidered when it is. */
  readonly #held = new Set<TaskRuntime>();
  /** Runtimes with claimed instants not yet started, owned or already released. */
  readonly #withPending = new Set<TaskRuntime>();
  readonly #tasks = new Map<string, TaskRuntime>();
  #active = false;
  #draining = false;
  readonly #executions = new Set<Promise<void>>();

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#claims = new FireQueue(options.clock, (taskId) => this.#onClaimDue(taskId));
    this.#starts = new FireQueue<TaskRuntime>(options.clock, (runtime) => {
      // Synchronous, inside the queue's timer loop: a throw must not stop the other tasks' fires.
      try {
        this.#startDue(runtime);
      } catch (error) {
        options.log.error({ err: error, taskId: runtime.taskId }, 'could not start claimed instants');
      }
    });
  }

  get ownedCount(): number {
    return this.#tasks.size;
  }

  get runningCount(): number {
    let count = 0;
    for (const runtime of this.#tasks.values()) count += runtime.running.size;
    return count;
  }

  /** Firing allowed (a live, connected session). Resuming re-reads every fire state first. */
  setActive(active: boolean): void {
    if (this.#draining) return;
    const resumed = active && !this.#active;
    this.#active = active;
    if (!active) {
      this.#claims.clear();
      return;
    }
    if (!resumed) return;
    for (const runtime of this.#held) this.#startDue(runtime);
    this.#held.clear();
    for (const runtime of this.#tasks.values()) this.#enqueue(runtime, () => this.#resync(runtime));
  }

  /** The tasks this scheduler owns now; the others are released (their running calls finish). */
  setOwned(taskIds: ReadonlySet<string>): void {
    for (const [taskId, runtime] of this.#tasks) {
      if (taskIds.has(taskId)) continue;
      runtime.released = true;
      // Hand over a clean fire state: finished executions must not look lost to the next owner.
      if (runtime.finishFlush !== undefined) this.#o.clock.clearTimer(runtime.finishFlush);
      if (runtime.finished.size > 0)
        this.#enqueue(runtime, () => this.#removeInflight(runtime, [...runtime.finished]));
      this.#claims.cancel(taskId);
      if (runtime.lostCheck !== undefined) this.#o.clock.clearTimer(runtime.lostCheck);
      this.#tasks.delete(taskId);
    }
    for (const taskId of taskIds) {
      if (this.#tasks.has(taskId)) continue;
      this.#tasks.set(taskId, {
        taskId,
        task: undefined,
        fire: undefined,
        baseline: -Infinity,
        takenOverAt: undefined,
        running: new Map(),
        buffered: [],
        pending: [],
        finished: new Set(),
        finishFlush: undefined,
        chain: Promise.resolve(),
        released: false,
        lostCheck: undefined,
      });
    }
    this.#o.metrics.ownedTasks.set(this.#tasks.size);
  }

  /** A new or changed definition (or its deletion) for an owned task. */
  updateTask(taskId: string, task: SchedulerTask | undefined): void {
    const runtime = this.#tasks.get(taskId);
    if (runtime === undefined) return;
    const previous = runtime.task;
    runtime.task = task;
    if (task === undefined || task.paused) {
      // Instants already claimed are skipped when they fall due (see #startDue).
      this.#claims.cancel(taskId);
      return;
    }
    // Instants that passed while the task was paused or had another schedule are not misfires.
    const changedAt = parseInstant(task.updatedAt) ?? this.#o.clock.now();
    if (
      previous !== undefined &&
      (previous.paused || JSON.stringify(previous.schedule) !== JSON.stringify(task.schedule))
    ) {
      runtime.baseline = Math.max(runtime.baseline, Math.min(changedAt, this.#o.clock.now()));
    }
    this.#enqueue(runtime, () =>
      runtime.fire === undefined ? this.#acquire(runtime) : Promise.resolve(this.#scheduleNext(runtime)),
    );
  }

  /** Manual trigger requests (znode names `<taskId>@<requestId>`); each owned one fires once. */
  handleTriggers(names: readonly string[]): void {
    for (const name of names) {
      const at = name.indexOf('@');
      const runtime = this.#tasks.get(name.slice(0, at));
      if (at <= 0 || runtime === undefined) continue;
      this.#enqueue(runtime, () => this.#fireManual(runtime, name, name.slice(at + 1)));
    }
  }

  /**
   * Graceful stop: no new claims; the instants already claimed (at most `claimLeadMs` away)
   * still start, because the fence gave them to this scheduler and nobody else will fire
   * them; then wait for running calls up to the deadline, and abort the rest.
   */
  async drain(deadlineMs: number): Promise<void> {
    this.#draining = true;
    this.#claims.clear();
    const lastClaimed = Math.max(
      -Infinity,
      ...[...this.#withPending].flatMap((runtime) => runtime.pending.map((fire) => fire.fireAt)),
    );
    const untilClaimedStart = Math.min(deadlineMs, lastClaimed - this.#o.clock.now() + 10);
    if (this.#active && untilClaimedStart > 0)
      await new Promise((resolve) => setTimeout(resolve, untilClaimedStart));
    this.#active = false;
    this.#starts.clear();
    const all = Promise.allSettled([...this.#executions]);
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), deadlineMs)),
    ]);
    if (timedOut) {
      this.#o.log.warn({ running: this.runningCount }, 'shutdown deadline: abandoning running calls');
      for (const runtime of this.#tasks.values())
        for (const controller of runtime.running.values()) controller.abort();
      await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    }
    // Finished executions stay listed in their fire states: the open-executions record, written
    // last (see main), tells the next owners they ended, without a write per task here.
    for (const runtime of this.#tasks.values())
      if (runtime.finishFlush !== undefined) this.#o.clock.clearTimer(runtime.finishFlush);
    const chains = Promise.allSettled([...this.#tasks.values()].map((runtime) => runtime.chain));
    await Promise.race([chains, new Promise((resolve) => setTimeout(resolve, 2_000))]);
  }

  #enqueue(runtime: TaskRuntime, step: () => Promise<void>): void {
    runtime.chain = runtime.chain.then(step).catch((error: unknown) => {
      this.#o.log.warn({ err: error, taskId: runtime.taskId }, 'task step failed; resynchronising');
      this.#o.clock.setTimer(() => this.#enqueue(runtime, () => this.#resync(runtime)), 1_000);
    });
  }

  #onClaimDue(taskId: string): void {
    const runtime = this.#tasks.get(taskId);
    if (runtime !== undefined) this.#enqueue(runtime, () => this.#claimDue(runtime));
  }

  /** First contact with a newly owned task: read its fence, settle what a dead owner left, arm the timer. */
  async #acquire(runtime: TaskRuntime): Promise<void> {
    const task = runtime.task;
    if (task === undefined || runtime.released || !this.#active) return;
    // A task that has never fired starts at its creation: instants since then that nobody fired are misfires.
    runtime.fire = await this.#o.fence.read(
      runtime.taskId,
      parseInstant(task.createdAt) ?? this.#o.clock.now(),
    );
    const previousOwner = runtime.fire.state.firedBy;
    runtime.takenOverAt =
      previousOwner !== undefined && previousOwner !== this.#o.schedulerId ? this.#o.clock.now() : undefined;
    // A claim whose write failed without an answer may or may not be in the state: what is not there is not open.
    const { inflight } = runtime.fire.state;
    this.#o.openExecutions.prune(
      runtime.taskId,
      (id) => inflight[id] !== undefined || this.#tracks(runtime, id),
    );
    await this.#settleLost(runtime);
    this.#scheduleNext(runtime);
  }

  async #resync(runtime: TaskRuntime): Promise<void> {
    if (runtime.released || runtime.task === undefined || !this.#active) return;
    runtime.fire = undefined;
    await this.#acquire(runtime);
  }

  #scheduleNext(runtime: TaskRuntime): void {
    const { task, fire } = runtime;
    if (task === undefined || fire === undefined || task.paused || runtime.released || !this.#active) return;
    const next = nextTaskFireTime(task, Math.max(runtime.baseline, fire.state.lastNominal));
    if (next === undefined) {
      this.#claims.cancel(runtime.taskId);
      return;
    }
    const fireAt = next + jitterOffsetMs(task.id, next, task.schedule.jitterMs);
    this.#claims.schedule(runtime.taskId, fireAt - this.#o.claimLeadMs);
  }

  /** Claims, in one fence write, every instant of the task due within the claim lead. */
  async #claimDue(runtime: TaskRuntime): Promise<void> {
    const { task, fire } = runtime;
    if (task === undefined || fire === undefined || task.paused || runtime.released) return;
    if (!this.#active || this.#draining) return;
    const now = this.#o.clock.now();
    const runsLeft = task.maxRuns === undefined ? Infinity : task.maxRuns - fire.state.runCount;
    const plan = planDueFires(task, Math.max(runtime.baseline, fire.state.lastNominal), now, {
      misfireThresholdMs: this.#o.misfireThresholdMs + task.schedule.jitterMs,
      runsLeft,
      until: now + this.#o.claimLeadMs,
    });
    if (plan.advanceTo === undefined) {
      this.#scheduleNext(runtime);
      return;
    }

    // Instants that fell due before this scheduler took the task over are failover fires.
    const reasonOf = (onTime: boolean, nominal: number): FireReason =>
      runtime.takenOverAt !== undefined && nominal < runtime.takenOverAt
        ? 'failover'
        : onTime
          ? 'scheduled'
          : 'misfire-catch-up';
    const fireAtOf = (nominal: number): number =>
      Math.max(now, nominal + jitterOffsetMs(task.id, nominal, task.schedule.jitterMs));
    // Whatever the overlap policy decides at the instant, each claimed fire is done by then.
    const queued = runtime.running.size + runtime.buffered.length + runtime.pending.length + plan.fire.length;
    const budget = executionBudgetMs(task) * queued;
    const claimed = plan.fire.map((f): ClaimedFire => ({
      executionId: scheduledExecutionId(task.id, f.nominal),
      nominal: f.nominal,
      reason: reasonOf(f.onTime, f.nominal),
      fencingToken: 0,
      firstAttempt: 1,
      fireAt: fireAtOf(f.nominal),
      deadlineAt: fireAtOf(f.nominal) + budget,
      onTime: f.onTime,
    }));
    const inflight: Record<string, InflightExecution> = { ...fire.state.inflight };
    const cleared = [...runtime.finished];
    for (const executionId of cleared) delete inflight[executionId];
    // The fencing token is only known after the write; entries get it on the next write or are matched by id.
    for (const c of claimed) {
      inflight[c.executionId] = {
        nominal: c.nominal,
        schedulerId: this.#o.schedulerId,
        startedAt: c.fireAt,
        deadlineAt: c.deadlineAt,
        reason: c.reason,
        fencingToken: 0,
        ...this.#o.openExecutions.open(task.id, c.executionId),
      };
    }
    const next: FireState = {
      ...fire.state,
      lastNominal: plan.advanceTo,
      runCount: fire.state.runCount + claimed.length,
      firedBy: this.#o.schedulerId,
      inflight,
    };
    const claim = await this.#o.fence.claim(task.id, fire.version, next);
    if (!claim.ok) {
      // Someone else advanced this task's fire state: they fired; we stand down and re-read.
      this.#o.openExecutions.close(
        task.id,
        claimed.map((c) => c.executionId),
      );
      this.#o.metrics.fenceConflicts.inc();
      this.#o.log.info({ taskId: task.id }, 'fence conflict: another scheduler fired; resynchronising');
      runtime.fire = await this.#o.fence.read(task.id, now);
      this.#scheduleNext(runtime);
      return;
    }
    runtime.fire = { state: next, version: claim.version };
    for (const executionId of cleared) runtime.finished.delete(executionId);
    // They rode on this claim: a flush armed for them would only write the ones that finish next.
    if (runtime.finished.size === 0 && runtime.finishFlush !== undefined) {
      this.#o.clock.clearTimer(runtime.finishFlush);
      runtime.finishFlush = undefined;
    }

    const token = claim.fencingToken;
    const events: NonoEvent[] = [];
    for (const missed of plan.misfired) {
      events.push(
        this.#event('nono.execution.misfired.v1', {
          ...this.#ref(task, scheduledExecutionId(task.id, missed.nominal), missed.nominal, token),
          reason: 'misfire-catch-up',
          detectedAt: formatInstant(now),
          action: missed.action,
        }),
      );
    }
    this.#o.events.append(events);
    if (plan.expiredCount > 0) {
      this.#o.log.warn(
        { taskId: task.id, expired: plan.expiredCount },
        'instants older than the catch-up window were not fired',
      );
    }
    if (claimed.length > 0) {
      runtime.pending.push(...claimed.map((c) => ({ ...c, fencingToken: token })));
      runtime.pending.sort((a, b) => a.fireAt - b.fireAt);
      this.#withPending.add(runtime);
      this.#starts.schedule(runtime, (runtime.pending[0] as ClaimedFire).fireAt);
    }
    this.#scheduleNext(runtime);
  }

  /**
   * The claimed instants whose moment has come: applies the overlap policy and starts them.
   * Synchronous, outside the task's chain, so a fence write in progress never delays a fire.
   */
  #startDue(runtime: TaskRuntime): void {
    if (!this.#active) {
      this.#held.add(runtime);
      return;
    }
    const now = this.#o.clock.now();
    const due: ClaimedFire[] = [];
    while (runtime.pending.length > 0 && (runtime.pending[0] as ClaimedFire).fireAt <= now)
      due.push(runtime.pending.shift() as ClaimedFire);
    const following = runtime.pending[0];
    if (following === undefined) this.#withPending.delete(runtime);
    else this.#starts.schedule(runtime, following.fireAt);
    if (due.length === 0) return;

    const task = runtime.task;
    const events: NonoEvent[] = [];
    const retired: string[] = [];
    const missed = (f: ClaimedFire, action: 'fire' | 'skip'): void => {
      if (task !== undefined)
        events.push(
          this.#event('nono.execution.misfired.v1', {
            ...this.#ref(task, f.executionId, f.nominal, f.fencingToken),
            reason: f.reason,
            detectedAt: formatInstant(now),
            action,
          }),
        );
      if (action === 'skip') retired.push(f.executionId);
    };
    // Past the deadline written with the claim, a new owner may already have declared the
    // execution lost and re-run it (the process was frozen, or starved): never start it then.
    const live: ClaimedFire[] = [];
    for (const f of due) {
      if (now < f.deadlineAt) {
        live.push(f);
        continue;
      }
      this.#o.log.warn(
        { taskId: runtime.taskId, executionId: f.executionId, lateMs: now - f.fireAt },
        'a claimed instant came up after its deadline (the process stalled): not fired',
      );
      missed(f, 'skip');
    }
    if (task === undefined || task.paused) {
      // Paused or deleted after the claim: a claimed instant never fires.
      for (const f of live) {
        if (task !== undefined)
          events.push(
            this.#event('nono.execution.skipped.v1', {
              ...this.#ref(task, f.executionId, f.nominal, f.fencingToken),
              reason: f.reason,
              skipReason: 'paused',
              detail: 'paused after the instant was claimed',
            }),
          );
        retired.push(f.executionId);
      }
    } else {
      // Reached later than the misfire threshold (an overloaded process): the task's misfire
      // policy decides, as it does for instants claimed late.
      const threshold = this.#o.misfireThresholdMs;
      const onTime = live.filter((f) => now - f.fireAt <= threshold);
      const late = live.filter((f) => now - f.fireAt > threshold);
      const catchUp =
        task.misfire.policy === 'fire-all'
          ? late
          : task.misfire.policy === 'fire-once' && onTime.length === 0
            ? late.slice(-1)
            : [];
      for (const f of late) missed(f, catchUp.includes(f) ? 'fire' : 'skip');
      const decided = this.#applyOverlap(runtime, task, [...catchUp, ...onTime]);
      for (const skipped of decided.skip) {
        events.push(
          this.#event('nono.execution.skipped.v1', {
            ...this.#ref(task, skipped.executionId, skipped.nominal, skipped.fencingToken),
            reason: skipped.reason,
            skipReason: 'overlap',
            detail: `overlap policy ${task.overlap}`,
          }),
        );
        retired.push(skipped.executionId);
      }
      runtime.buffered.push(...decided.buffer);
      this.#o.events.append(events);
      events.length = 0;
      for (const f of decided.start) this.#startExecution(runtime, task, f);
    }
    this.#o.events.append(events);
    this.#retire(runtime, retired);
  }

  #ref(task: SchedulerTask, executionId: string, nominal: number, fencingToken: number) {
    return {
      taskId: task.id,
      executionId,
      nominalTime: formatInstant(nominal),
      attempt: 0,
      schedulerId: this.#o.schedulerId,
      fencingToken,
    };
  }

  /** Splits fires that are due by the overlap policy: start now, wait for the running one, or skip. */
  #applyOverlap(runtime: TaskRuntime, task: SchedulerTask, fires: readonly PlannedFire[]) {
    const start: PlannedFire[] = [];
    const buffer: PlannedFire[] = [];
    const skip: PlannedFire[] = [];
    const busy = runtime.running.size > 0 || runtime.buffered.length > 0;
    switch (task.overlap) {
      case 'allow':
        start.push(...fires);
        break;
      case 'cancel-running':
        for (const controller of runtime.running.values()) controller.abort();
        // Catch-up fires of one plan still run one after another: they are one backlog.
        if (fires.length > 0) {
          start.push(fires.at(-1) as PlannedFire);
          skip.push(...fires.slice(0, -1));
        }
        break;
      case 'skip':
        if (busy) skip.push(...fires);
        else if (fires.length > 0) {
          start.push(fires[0] as PlannedFire);
          buffer.push(...fires.slice(1));
        }
        break;
      case 'buffer-one': {
        const newest = fires.at(-1);
        if (newest === undefined) break;
        if (!busy) start.push(newest);
        else {
          // Only the newest waits; an older one already waiting is replaced.
          skip.push(...fires.slice(0, -1), ...runtime.buffered);
          runtime.buffered = [];
          buffer.push(newest);
        }
        skip.push(...(busy ? [] : fires.slice(0, -1)));
        break;
      }
      case 'buffer-all':
        if (!busy && fires.length > 0) {
          start.push(fires[0] as PlannedFire);
          buffer.push(...fires.slice(1));
        } else buffer.push(...fires);
        break;
    }
    return { start, buffer, skip };
  }

  #startExecution(runtime: TaskRuntime, task: SchedulerTask, fire: PlannedFire): void {
    const controller = new AbortController();
    runtime.running.set(fire.executionId, controller);
    const execution = this.#runExecution(task, fire, controller.signal)
      .catch((error: unknown) =>
        this.#o.log.error({ err: error, executionId: fire.executionId }, 'execution crashed'),
      )
      .finally(() => {
        runtime.running.delete(fire.executionId);
        // Its outcome events are appended: the next record may say it ended.
        this.#o.openExecutions.close(runtime.taskId, [fire.executionId]);
        this.#executions.delete(execution);
        this.#enqueue(runtime, () => this.#finishExecution(runtime, fire.executionId));
      });
    this.#executions.add(execution);
  }

  async #runExecution(task: SchedulerTask, fire: PlannedFire, signal: AbortSignal): Promise<void> {
    const { clock, metrics } = this.#o;
    for (let attempt = fire.firstAttempt; ; attempt++) {
      const firedAt = clock.now();
      const ref = {
        taskId: task.id,
        executionId: fire.executionId,
        nominalTime: formatInstant(fire.nominal),
        attempt,
        schedulerId: this.#o.schedulerId,
        fencingToken: fire.fencingToken,
        reason: fire.reason,
      };
      const lateMs =
        attempt === fire.firstAttempt
          ? Math.max(
              0,
              firedAt - fire.nominal - jitterOffsetMs(task.id, fire.nominal, task.schedule.jitterMs),
            )
          : 0;
      if (attempt === fire.firstAttempt && fire.reason !== 'manual') metrics.lateness.observe(lateMs / 1000);
      metrics.fires.inc({ reason: fire.reason });
      this.#o.events.append([
        this.#event('nono.execution.fired.v1', {
          ...ref,
          firedAt: formatInstant(firedAt),
          lateMs,
          targetUrl: task.target.url,
        }),
      ]);

      const outcome: InvocationOutcome = await this.#o.invoker.invoke({
        task,
        executionId: fire.executionId,
        nominal: fire.nominal,
        firedAt,
        attempt,
        reason: fire.reason,
        fencingToken: fire.fencingToken,
        schedulerId: this.#o.schedulerId,
        signal,
      });
      const finishedAt = formatInstant(clock.now());
      metrics.outcomes.inc({ outcome: outcome.kind });
      metrics.duration.observe(outcome.durationMs / 1000);
      if (outcome.kind === 'succeeded') {
        this.#o.events.append([
          this.#event('nono.execution.succeeded.v1', {
            ...ref,
            finishedAt,
            durationMs: outcome.durationMs,
            httpStatus: outcome.httpStatus,
          }),
        ]);
        return;
      }
      const willRetry = outcome.kind !== 'cancelled' && shouldRetry(task.retry, attempt) && !this.#draining;
      const error =
        outcome.kind === 'failed'
          ? outcome.error
          : outcome.kind === 'timed-out'
            ? `no answer within ${task.target.timeoutMs} ms`
            : `cancelled by overlap policy ${task.overlap}`;
      if (outcome.kind === 'timed-out') {
        this.#o.events.append([
          this.#event('nono.execution.timed-out.v1', {
            ...ref,
            finishedAt,
            durationMs: outcome.durationMs,
            timeoutMs: task.target.timeoutMs,
            willRetry,
          }),
        ]);
      } else {
        const httpStatus = outcome.kind === 'failed' ? outcome.httpStatus : undefined;
        this.#o.events.append([
          this.#event('nono.execution.failed.v1', {
            ...ref,
            finishedAt,
            durationMs: outcome.durationMs,
            ...(httpStatus === undefined ? {} : { httpStatus }),
            error,
            willRetry,
          }),
        ]);
      }
      if (!willRetry) return;
      const delayMs = retryDelayMs(task.retry, attempt, fire.executionId);
      this.#o.events.append([
        this.#event('nono.execution.retrying.v1', {
          ...ref,
          nextAttemptAt: formatInstant(clock.now() + delayMs),
          previousError: error,
        }),
      ]);
      await new Promise<void>((resolve) => {
        const timer = clock.setTimer(resolve, delayMs);
        signal.addEventListener(
          'abort',
          () => {
            clock.clearTimer(timer);
            resolve();
          },
          { once: true },
        );
      });
      if (signal.aborted) return;
    }
  }

  /**
   * An execution ended: start a buffered one if any, and take the execution off the fire
   * state. That removal rides on the task's next claim (one ZooKeeper write per fire instead
   * of two), or a delayed write if none comes within `finishFlushDelayMs`. Meanwhile the
   * open-executions record, written in batches for all tasks, tells a new owner it ended.
   */
  #finishExecution(runtime: TaskRuntime, executionId: string): Promise<void> {
    // A buffered fire was claimed by this scheduler: it runs even if the task was released since.
    const next = runtime.buffered.shift();
    if (next !== undefined && runtime.task !== undefined && this.#active)
      this.#startExecution(runtime, runtime.task, next);
    if (runtime.released) return this.#removeInflight(runtime, [executionId]);
    this.#retire(runtime, [executionId]);
    return Promise.resolve();
  }

  /** Executions that are over (finished, skipped, never started) leave the fire state, batched. */
  #retire(runtime: TaskRuntime, executionIds: readonly string[]): void {
    if (executionIds.length === 0) return;
    this.#o.openExecutions.close(runtime.taskId, executionIds);
    if (runtime.released) {
      this.#enqueue(runtime, () => this.#removeInflight(runtime, executionIds));
      return;
    }
    for (const id of executionIds) runtime.finished.add(id);
    runtime.finishFlush ??= this.#o.clock.setTimer(() => {
      runtime.finishFlush = undefined;
      this.#enqueue(runtime, () => this.#removeInflight(runtime, [...runtime.finished]));
    }, this.#o.finishFlushDelayMs);
  }

  async #removeInflight(runtime: TaskRuntime, executionIds: readonly string[]): Promise<void> {
    if (executionIds.length === 0) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current =
        runtime.fire !== undefined && !runtime.released
          ? runtime.fire
          : await this.#o.fence.read(runtime.taskId, this.#o.clock.now());
      const inflight = { ...current.state.inflight };
      const present = executionIds.filter((id) => inflight[id] !== undefined);
      if (present.length === 0) break;
      for (const id of present) delete inflight[id];
      const next: FireState = { ...current.state, inflight };
      const claim = await this.#o.fence.claim(runtime.taskId, current.version, next);
      if (claim.ok) {
        if (!runtime.released) runtime.fire = { state: next, version: claim.version };
        break;
      }
      if (!runtime.released) runtime.fire = await this.#o.fence.read(runtime.taskId, this.#o.clock.now());
    }
    for (const id of executionIds) runtime.finished.delete(id);
  }

  /** Whether this process is still doing something with the execution (running, claimed, waiting or ended). */
  #tracks(runtime: TaskRuntime, executionId: string): boolean {
    return (
      runtime.running.has(executionId) ||
      runtime.finished.has(executionId) ||
      runtime.pending.some((fire) => fire.executionId === executionId) ||
      runtime.buffered.some((fire) => fire.executionId === executionId)
    );
  }

  /**
   * Executions a dead scheduler (or a previous process with our id) left in the fire state:
   * those its open-executions record proves ended are just taken off; the others are lost
   * past their deadline (and re-run if the task asks).
   */
  async #settleLost(runtime: TaskRuntime): Promise<void> {
    const { task, fire } = runtime;
    if (task === undefined || fire === undefined) return;
    const now = this.#o.clock.now();
    const live = this.#o.liveMembers();
    const { schedulerId: me, openExecutions } = this.#o;
    const lost: Array<[string, InflightExecution]> = [];
    const ended: string[] = [];
    let nextCheck = Infinity;
    for (const [executionId, entry] of Object.entries(fire.state.inflight)) {
      if (runtime.finished.has(executionId)) continue;
      const mine =
        entry.schedulerId === me &&
        (entry.incarnation ?? openExecutions.incarnation) === openExecutions.incarnation;
      if (mine) {
        if (this.#tracks(runtime, executionId)) continue;
      } else {
        // A live scheduler takes its own executions off when they end.
        if (entry.schedulerId !== me && live.has(entry.schedulerId)) continue;
        if (endedPerRecord(entry, await openExecutions.recordOf(entry.schedulerId))) {
          ended.push(executionId);
          continue;
        }
      }
      if (now >= entry.deadlineAt + this.#o.lostGraceMs) lost.push([executionId, entry]);
      else nextCheck = Math.min(nextCheck, entry.deadlineAt + this.#o.lostGraceMs);
    }
    if (nextCheck !== Infinity) {
      if (runtime.lostCheck !== undefined) this.#o.clock.clearTimer(runtime.lostCheck);
      runtime.lostCheck = this.#o.clock.setTimer(
        () => this.#enqueue(runtime, () => this.#settleLost(runtime)),
        nextCheck - now,
      );
    }
    if (lost.length === 0) {
      // Nothing to report: the ended ones leave with the next write.
      this.#retire(runtime, ended);
      return;
    }
    const inflight = { ...fire.state.inflight };
    for (const [executionId] of lost) delete inflight[executionId];
    for (const executionId of ended) delete inflight[executionId];
    const next: FireState = { ...fire.state, inflight };
    const claim = await this.#o.fence.claim(task.id, fire.version, next);
    if (!claim.ok) {
      runtime.fire = await this.#o.fence.read(task.id, now);
      return;
    }
    runtime.fire = { state: next, version: claim.version };
    openExecutions.close(
      task.id,
      lost.map(([executionId]) => executionId),
    );
    for (const [executionId, entry] of lost) {
      this.#o.metrics.lost.inc();
      this.#o.events.append([
        this.#event('nono.execution.lost.v1', {
          taskId: task.id,
          executionId,
          nominalTime: formatInstant(entry.nominal),
          attempt: 0,
          schedulerId: this.#o.schedulerId,
          fencingToken: claim.fencingToken,
          reason: entry.reason,
          detectedAt: formatInstant(now),
          lostSchedulerId: entry.schedulerId,
          rerun: task.rerunLost,
        }),
      ]);
      if (task.rerunLost)
        this.#startExecution(runtime, task, {
          executionId,
          nominal: entry.nominal,
          reason: 'failover',
          fencingToken: claim.fencingToken,
          firstAttempt: 2,
        });
    }
  }

  async #fireManual(runtime: TaskRuntime, triggerName: string, requestId: string): Promise<void> {
    const task = runtime.task;
    if (task === undefined || runtime.released || !this.#active) return;
    runtime.fire ??= await this.#o.fence.read(task.id, parseInstant(task.createdAt) ?? this.#o.clock.now());
    const fire = runtime.fire;
    const manualDone = (fire.state as FireState & { manualDone?: string[] }).manualDone ?? [];
    const executionId = manualExecutionId(task.id, requestId);
    if (manualDone.includes(requestId)) {
      await this.#o.deleteTrigger(triggerName);
      return;
    }
    const request = await this.#o.readTrigger(triggerName);
    if (request === undefined) return; // already handled and deleted
    const now = this.#o.clock.now();
    const next = {
      ...fire.state,
      manualDone: [...manualDone, requestId].slice(-MANUAL_DONE_KEPT),
      inflight: {
        ...fire.state.inflight,
        [executionId]: {
          nominal: now,
          schedulerId: this.#o.schedulerId,
          startedAt: now,
          deadlineAt: now + executionBudgetMs(task),
          reason: 'manual' as const,
          fencingToken: 0,
          ...this.#o.openExecutions.open(task.id, executionId),
        },
      },
    };
    const claim = await this.#o.fence.claim(task.id, fire.version, next);
    if (!claim.ok) {
      this.#o.openExecutions.close(task.id, [executionId]);
      runtime.fire = await this.#o.fence.read(task.id, now);
      this.#enqueue(runtime, () => this.#fireManual(runtime, triggerName, requestId));
      return;
    }
    runtime.fire = { state: next, version: claim.version };
    await this.#o.deleteTrigger(triggerName);
    this.#startExecution(runtime, task, {
      executionId,
      nominal: now,
      reason: 'manual',
      fencingToken: claim.fencingToken,
      firstAttempt: 1,
    });
  }

  #event<T extends EventType>(type: T, data: EventData<T>): NonoEvent {
    const ref = data as unknown as { executionId?: string; attempt?: number; taskId?: string };
    const id = executionEventId(ref.executionId ?? '', type, ref.attempt ?? 0);
    return createEvent(type, data, {
      id,
      source: `nono://scheduler/${this.#o.schedulerId}`,
      subject: ref.taskId ?? this.#o.schedulerId,
      time: this.#o.clock.now(),
    });
  }
}

/** How long an execution may take in the worst case: every attempt timing out, with maximal backoff. */
function executionBudgetMs(task: SchedulerTask): number {
  const attempts = task.retry.maxAttempts;
  return attempts * task.target.timeoutMs + (attempts - 1) * task.retry.maxBackoffMs;
}
