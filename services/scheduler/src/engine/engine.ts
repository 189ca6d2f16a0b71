import {
  type Clock,
  type FireReason,
  type NonoEvent,
  type SchedulerTask,
  type SkipReason,
  decideCatchUp,
  decideOverlap,
  executionBudgetMs,
  jitterOffsetMs,
  manualExecutionId,
  nextTaskFireTime,
  parseInstant,
  planDueFires,
  scheduledExecutionId,
  formatInstant,
  isGroupTarget,
  planBroadcastUnits,
  planShardUnits,
} from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type EventSink } from '../events/event-spool.js';
import { ExecutionEvents } from '../events/execution-events.js';
import { type FencePort, type FireState, type InflightExecution } from '../fence/fire-fence.js';
import { FireStateWriter } from '../fence/fire-state-writer.js';
import { type TaskPauser } from '../cluster/task-pauser.js';
import { type ConcludedExecutions } from '../lost/concluded-executions.js';
import { LostSettler } from '../lost/lost-settler.js';
import { type OpenExecutions } from '../lost/open-executions.js';
import { type SchedulerMetrics } from '../metrics.js';
import { Cancellation, type OperatorCancel } from '../runner/cancellation.js';
import { MemberHealth } from '../groups/member-health.js';
import { MemberRouter } from '../groups/member-router.js';
import {
  ExecutionRunner,
  type RunEnd,
  type RunnableFire,
  unitFields,
  unitsOf,
} from '../runner/execution-runner.js';
import { type Invoker } from '../runner/invoker.js';
import { TriggerInbox, type TriggerStore } from '../triggers/trigger-inbox.js';
import { FireQueue } from './fire-queue.js';
import { type TaskRuntime, newTaskRuntime } from './task-runtime.js';

export interface EngineOptions {
  readonly schedulerId: string;
  readonly clock: Clock;
  readonly fence: FencePort;
  readonly invoker: Invoker;
  /** Where the attempts of group-targeted tasks go; without one, such tasks find no group. */
  readonly router?: MemberRouter;
  readonly events: EventSink;
  /** Which of our executions are still open, for whoever takes our tasks over after a crash. */
  readonly openExecutions: OpenExecutions;
  readonly triggers: TriggerStore;
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
  /** Extra time past an execution's deadline before it is called lost. */
  readonly lostGraceMs: number;
  /** The process behind a live scheduler id (undefined: not live): see LostSettler. */
  readonly liveIncarnation: (schedulerId: string) => Promise<string | undefined>;
  /** Concluding facts on the executions topic, asked before an execution is reported lost. */
  readonly concluded?: ConcludedExecutions;
  /** Pauses a task that asks for it after consecutive failures (`pauseAfterConsecutiveFailures`). */
  readonly pauser?: TaskPauser;
  /** The exclusion calendar among a task's `calendars` that rules an instant out (CalendarBook). */
  readonly excludedBy?: (calendars: readonly string[] | undefined, nominal: number) => string | undefined;
}

/**
 * Where the engine is in its life. Only `active` claims and starts; `suspended` (the
 * ZooKeeper connection is away) holds starts until the session is back; `draining` finishes
 * what was claimed and refuses the rest; `stopped` is final.
 */
export type EngineState = 'starting' | 'active' | 'suspended' | 'draining' | 'stopped';

const MANUAL_DONE_KEPT = 50;

/**
 * The firing engine of one scheduler. It is told which tasks it owns and what they look like
 * (by the Coordinator), and for each task: plans the instants about to fall due (misfire
 * policy), claims them through the fence `claimLeadMs` ahead, then at each instant applies
 * the overlap policy and hands the fire to the runner. Claiming ahead keeps the ZooKeeper
 * round trip off the path of the fire and lets a frequent task claim several instants in one
 * write. Two timer queues serve all tasks: claims and starts. ZooKeeper work for one task is
 * serialised (one promise chain per task) because the fence is a per-task compare-and-set.
 *
 * Its parts, each in a folder of its own: the fire-state writer (`fence/`), the execution
 * runner (`runner/`), lost-execution settling (`lost/`), the trigger inbox (`triggers/`) and
 * the execution facts (`events/`).
 */
export class Engine {
  readonly #o: EngineOptions;
  readonly #writer: FireStateWriter;
  readonly #runner: ExecutionRunner;
  readonly #router: MemberRouter;
  readonly #settler: LostSettler;
  readonly #facts: ExecutionEvents;
  readonly #inbox = new TriggerInbox();
  /** When each owned task next claims (by task id: a release cancels it). */
  readonly #claims: FireQueue;
  /** When each runtime's first claimed instant starts (by runtime: a released one still starts what it claimed). */
  readonly #starts: FireQueue<TaskRuntime>;
  /** Runtimes whose start fell due while the session was not live: reconsidered when it is. */
  readonly #held = new Set<TaskRuntime>();
  /** Runtimes with claimed instants not yet started, owned or already released. */
  readonly #withPending = new Set<TaskRuntime>();
  readonly #tasks = new Map<string, TaskRuntime>();
  #state: EngineState = 'starting';
  readonly #executions = new Set<Promise<void>>();
  /**
   * Backfill calls running here, by execution id: apart from `runtime.running`, so a backfill
   * never makes the task look busy to its overlap policy.
   */
  readonly #backfillRunning = new Map<string, Cancellation>();
  /** The largest start delay (now − fireAt) seen in the current and the previous 10 s window. */
  #behind = { windowStart: 0, current: 0, previous: 0 };

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#facts = new ExecutionEvents(options.schedulerId, options.clock);
    this.#writer = new FireStateWriter(options.fence, options.clock, options.log);
    this.#router =
      options.router ??
      new MemberRouter({ directory: { lookup: () => undefined }, health: new MemberHealth() });
    this.#runner = new ExecutionRunner({
      schedulerId: options.schedulerId,
      clock: options.clock,
      invoker: options.invoker,
      router: this.#router,
      events: options.events,
      facts: this.#facts,
      metrics: options.metrics,
      log: options.log,
      draining: () => this.#state === 'draining' || this.#state === 'stopped',
    });
    this.#settler = new LostSettler({
      schedulerId: options.schedulerId,
      clock: options.clock,
      writer: this.#writer,
      openExecutions: options.openExecutions,
      events: options.events,
      facts: this.#facts,
      metrics: options.metrics,
      log: options.log,
      lostGraceMs: options.lostGraceMs,
      liveIncarnation: options.liveIncarnation,
      ...(options.concluded === undefined ? {} : { concluded: options.concluded }),
    });
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

  get state(): EngineState {
    return this.#state;
  }

  get ownedCount(): number {
    return this.#tasks.size;
  }

  get runningCount(): number {
    let count = 0;
    for (const runtime of this.#tasks.values()) count += runtime.running.size;
    return count;
  }

  /**
   * How far behind its claimed instants this scheduler has been over the last 10–20 s: the
   * largest delay between an instant's moment and its start. Near 0 when healthy; an
   * overloaded process shows it here (and in /readyz) before instants pass the misfire
   * threshold and are recorded as misfired.
   */
  get behindMs(): number {
    this.#rollBehind(this.#o.clock.now());
    return Math.max(this.#behind.current, this.#behind.previous);
  }

  #rollBehind(now: number): void {
    const window = 10_000;
    if (now - this.#behind.windowStart < window) return;
    const adjacent = now - this.#behind.windowStart < 2 * window;
    this.#behind = { windowStart: now, current: 0, previous: adjacent ? this.#behind.current : 0 };
  }

  get #active(): boolean {
    return this.#state === 'active';
  }

  /** Firing allowed (a live, connected session). Resuming re-reads every fire state first. */
  setActive(active: boolean): void {
    if (this.#state === 'draining' || this.#state === 'stopped') return;
    const resumed = active && !this.#active;
    this.#state = active ? 'active' : this.#state === 'starting' ? 'starting' : 'suspended';
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
      this.#router.forget(taskId);
    }
    for (const taskId of taskIds)
      if (!this.#tasks.has(taskId)) this.#tasks.set(taskId, newTaskRuntime(taskId));
    this.#o.metrics.ownedTasks.set(this.#tasks.size);
  }

  /** A new or changed definition (or its deletion) for an owned task. */
  updateTask(taskId: string, task: SchedulerTask | undefined): void {
    const runtime = this.#tasks.get(taskId);
    if (runtime === undefined) return;
    const previous = runtime.task;
    runtime.task = task;
    if (task !== undefined) runtime.lastKnown = task;
    if (task === undefined || task.paused) {
      // Instants already claimed are skipped when they fall due (see #startDue).
      this.#claims.cancel(taskId);
      return;
    }
    if (previous !== undefined && previous.createdAt !== task.createdAt) {
      // Deleted and created again between two reads: another task, with a fire state of its own.
      runtime.fire = undefined;
      runtime.baseline = -Infinity;
    }
    // Instants that passed while the task was paused or had another schedule are not misfires.
    const changedAt = parseInstant(task.updatedAt) ?? this.#o.clock.now();
    if (
      previous !== undefined &&
      previous.createdAt === task.createdAt &&
      (previous.paused || JSON.stringify(previous.schedule) !== JSON.stringify(task.schedule))
    ) {
      runtime.baseline = Math.max(runtime.baseline, Math.min(changedAt, this.#o.clock.now()));
    }
    this.#enqueue(runtime, () =>
      runtime.fire === undefined ? this.#acquire(runtime) : Promise.resolve(this.#scheduleNext(runtime)),
    );
  }

  /**
   * The current list of manual trigger requests (znode names `<taskId>@<requestId>`). Each
   * owned, loaded task's requests are offered now; the others when their task is loaded.
   */
  handleTriggers(names: readonly string[]): void {
    for (const taskId of this.#inbox.replace(names)) {
      const runtime = this.#tasks.get(taskId);
      if (runtime !== undefined) this.#offerTriggers(runtime);
    }
  }

  /**
   * An operator's request to stop a running execution (`/cancels`): the process running it
   * stops it; the task's owner answers for one not running (finished, or not started yet).
   */
  cancelRunning(
    taskId: string,
    executionId: string,
    operator: OperatorCancel,
  ): 'cancelled' | 'not-running' | 'not-owned' {
    const runtime = this.#tasks.get(taskId);
    // A task released since its execution started still runs it here: this process stops it.
    const running = runtime?.running.get(executionId) ?? this.#backfillRunning.get(executionId);
    if (running !== undefined) {
      running.cancel(operator);
      return 'cancelled';
    }
    return runtime === undefined || runtime.released ? 'not-owned' : 'not-running';
  }

  /**
   * The definition of a task this scheduler owns, while it may fire (an active session), for
   * the backfill runner; undefined otherwise. A paused task's backfill runs: pausing stops the
   * schedule, not an operator's explicit re-fire (cancel the backfill to stop it).
   */
  firingTask(taskId: string): SchedulerTask | undefined {
    const runtime = this.#tasks.get(taskId);
    if (!this.#active || runtime === undefined || runtime.released) return undefined;
    return runtime.task;
  }

  /**
   * Calls the worker for one backfill fire, with the engine's runner (facts, retries, member
   * routing, operator cancels). The backfill document, not the fire state, is its fence: the
   * caller claimed it there. A graceful stop waits for it like for any call.
   */
  runBackfill(task: SchedulerTask, fire: RunnableFire): Promise<RunEnd> {
    const cancellation = new Cancellation();
    this.#backfillRunning.set(fire.executionId, cancellation);
    const run = this.#runner.run(task, fire, cancellation).catch((error: unknown): RunEnd => {
      this.#o.log.error({ err: error, executionId: fire.executionId }, 'backfill execution crashed');
      return 'cancelled';
    });
    const tracked = run.then(() => {
      this.#backfillRunning.delete(fire.executionId);
      this.#executions.delete(tracked);
    });
    this.#executions.add(tracked);
    return run;
  }

  /**
   * Graceful stop: no new claims; the instants already claimed (at most `claimLeadMs` away)
   * still start, because the fence gave them to this scheduler and nobody else will fire
   * them; then wait for running calls up to the deadline, and abort the rest.
   */
  async drain(deadlineMs: number): Promise<void> {
    const wasActive = this.#active;
    this.#state = 'draining';
    this.#claims.clear();
    const lastClaimed = Math.max(
      -Infinity,
      ...[...this.#withPending].flatMap((runtime) => runtime.pending.map((fire) => fire.fireAt)),
    );
    const untilClaimedStart = Math.min(deadlineMs, lastClaimed - this.#o.clock.now() + 10);
    if (wasActive && untilClaimedStart > 0)
      await new Promise((resolve) => setTimeout(resolve, untilClaimedStart));
    this.#starts.clear();
    const all = Promise.allSettled([...this.#executions]);
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), deadlineMs)),
    ]);
    if (timedOut) {
      this.#o.log.warn({ running: this.runningCount }, 'shutdown deadline: abandoning running calls');
      for (const runtime of this.#tasks.values())
        for (const running of runtime.running.values()) running.cancel();
      for (const running of this.#backfillRunning.values()) running.cancel();
      await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    }
    this.#state = 'stopped';
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
    runtime.fire = await this.#writer.load(task);
    const previousOwner = runtime.fire.state.firedBy;
    runtime.takenOverAt =
      previousOwner !== undefined && previousOwner !== this.#o.schedulerId ? this.#o.clock.now() : undefined;
    // A claim whose write failed without an answer may or may not be in the state: what is not there is not open.
    const { inflight } = runtime.fire.state;
    this.#o.openExecutions.prune(runtime.taskId, (id) => inflight[id] !== undefined || runtime.tracks(id));
    await this.#settleLost(runtime);
    this.#scheduleNext(runtime);
    this.#offerTriggers(runtime);
  }

  async #resync(runtime: TaskRuntime): Promise<void> {
    if (runtime.released || runtime.task === undefined || !this.#active) return;
    runtime.fire = undefined;
    await this.#acquire(runtime);
  }

  #scheduleNext(runtime: TaskRuntime): void {
    const { task, fire } = runtime;
    if (task === undefined || fire === undefined || task.paused || runtime.released || !this.#active) return;
    const runsLeft = task.maxRuns === undefined ? Infinity : task.maxRuns - fire.state.runCount;
    const next =
      runsLeft > 0 ? nextTaskFireTime(task, Math.max(runtime.baseline, fire.state.lastNominal)) : undefined;
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
    if (task === undefined || fire === undefined || task.paused || runtime.released || !this.#active) return;
    const now = this.#o.clock.now();
    const runsLeft = task.maxRuns === undefined ? Infinity : task.maxRuns - fire.state.runCount;
    const plan = planDueFires(task, Math.max(runtime.baseline, fire.state.lastNominal), now, {
      misfireThresholdMs: this.#o.misfireThresholdMs + task.schedule.jitterMs,
      runsLeft,
      until: now + this.#o.claimLeadMs,
      ...(task.calendars === undefined || this.#o.excludedBy === undefined
        ? {}
        : { excludedBy: (nominal: number) => this.#o.excludedBy?.(task.calendars, nominal) }),
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
    const claimed = plan.fire.map((f): ClaimedFire => {
      const fireAt = fireAtOf(f.nominal);
      const instant = {
        executionId: scheduledExecutionId(task.id, f.nominal),
        nominal: f.nominal,
        reason: reasonOf(f.onTime, f.nominal),
        fencingToken: 0,
        firstAttempt: 1,
        fireAt,
        deadlineAt: fireAt + budget,
        onTime: f.onTime,
      };
      const units = this.#unitsOf(task, instant, now);
      return units === undefined ? instant : { ...instant, units };
    });
    // Keyed by execution ids, each new: in an object literal every new key would make V8 build
    // a new hidden class, the largest single cost of a claim. A prototype-less object is a
    // dictionary from the start, and serialises the same.
    const inflight = Object.create(null) as Record<string, InflightExecution>;
    const cleared = [...runtime.finished];
    for (const executionId in fire.state.inflight)
      if (!runtime.finished.has(executionId))
        inflight[executionId] = fire.state.inflight[executionId] as InflightExecution;
    // The fencing token is only known after the write; entries get it on the next write or are matched by id.
    // A shard or broadcast instant is claimed whole: every unit is listed by this one write,
    // so no unit of it can ever be claimed again, by this scheduler or another.
    for (const c of claimed)
      for (const unit of unitsOf(c)) {
        const mark = this.#o.openExecutions.open(task.id, unit.executionId);
        const entry: InflightExecution = {
          nominal: c.nominal,
          schedulerId: this.#o.schedulerId,
          startedAt: c.fireAt,
          deadlineAt: c.deadlineAt,
          reason: c.reason,
          fencingToken: 0,
          taskIncarnation: task.createdAt,
          incarnation: mark.incarnation,
          seq: mark.seq,
        };
        if (unit.instantId !== undefined) entry.instantId = unit.instantId;
        if (unit.shard !== undefined) entry.shard = unit.shard;
        if (unit.member !== undefined) entry.member = unit.member;
        if (unit.parameters !== undefined) entry.parameters = unit.parameters;
        inflight[unit.executionId] = entry;
      }
    const next: FireState = {
      ...fire.state,
      lastNominal: plan.advanceTo,
      runCount: fire.state.runCount + claimed.length,
      firedBy: this.#o.schedulerId,
      inflight,
    };
    const claim = await this.#writer.claim(task.id, fire, next);
    if (!claim.ok) {
      // Someone else advanced this task's fire state: they fired; we stand down and re-read.
      this.#o.openExecutions.close(
        task.id,
        claimed.flatMap((c) => unitsOf(c).map((u) => u.executionId)),
      );
      this.#o.metrics.fenceConflicts.inc();
      this.#o.log.info(
        { taskId: task.id, reason: claim.reason },
        'fence conflict: another scheduler fired; resynchronising',
      );
      runtime.fire = undefined;
      if (claim.reason === 'conflict') await this.#acquire(runtime);
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
    const ref = (nominal: number) =>
      this.#facts.ref(task.id, scheduledExecutionId(task.id, nominal), nominal, token);
    // One skipped fact per instant: one the policy would catch up but the run limit cuts is a max-runs skip.
    const overRunLimit = new Set(plan.overRunLimit);
    for (const missed of plan.misfired) {
      events.push(
        this.#facts.create('nono.execution.misfired.v1', {
          ...ref(missed.nominal),
          reason: 'misfire-catch-up',
          detectedAt: formatInstant(now),
          action: missed.action,
        }),
      );
      if (missed.action === 'skip' && !overRunLimit.has(missed.nominal))
        events.push(
          this.#skipped(
            ref(missed.nominal),
            'misfire-catch-up',
            'misfire-policy',
            `misfire policy ${task.misfire.policy}`,
          ),
        );
    }
    // Every due instant gets a fact: those past the catch-up window and those over the run limit too.
    for (const nominal of plan.expired)
      events.push(
        this.#skipped(
          ref(nominal),
          'misfire-catch-up',
          'catch-up-window',
          `older than the catch-up window (${task.misfire.catchUpWindowMs} ms)`,
        ),
      );
    for (const { nominal, calendar } of plan.excluded)
      events.push(
        this.#skipped(ref(nominal), reasonOf(true, nominal), 'calendar', `excluded by calendar ${calendar}`),
      );
    for (const nominal of plan.overRunLimit)
      events.push(
        this.#skipped(
          ref(nominal),
          reasonOf(true, nominal),
          'max-runs',
          `maxRuns ${task.maxRuns ?? ''} reached`,
        ),
      );
    this.#o.events.append(events);
    if (claimed.length > 0) {
      runtime.pending.push(...claimed.map((c) => withToken(c, token)));
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
    if (!this.#active && this.#state !== 'draining') {
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
    this.#rollBehind(now);
    this.#behind.current = Math.max(this.#behind.current, now - (due[0] as ClaimedFire).fireAt);

    // The definition as last known: a task deleted since its claim still gets its facts.
    const known = runtime.task ?? runtime.lastKnown;
    const events: NonoEvent[] = [];
    const retired: string[] = [];
    const refOf = (f: RunnableFire) => this.#unitRef(runtime.taskId, f);
    const missed = (instant: ClaimedFire, action: 'fire' | 'skip', why: string): void => {
      for (const f of unitsOf(instant)) {
        events.push(
          this.#facts.create('nono.execution.misfired.v1', {
            ...refOf(f),
            reason: f.reason,
            detectedAt: formatInstant(now),
            action,
          }),
        );
        if (action === 'skip') {
          events.push(this.#skipped(refOf(f), f.reason, 'misfire-policy', why));
          retired.push(f.executionId);
        }
      }
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
      missed(f, 'skip', 'reached after its deadline (the process stalled)');
    }
    const task = runtime.task;
    if (task === undefined || task.paused) {
      // Paused or deleted after the claim: a claimed instant never fires.
      const skipReason = task === undefined ? 'deleted' : 'paused';
      for (const f of live.flatMap(unitsOf)) {
        events.push(
          this.#skipped(refOf(f), f.reason, skipReason, `${skipReason} after the instant was claimed`),
        );
        retired.push(f.executionId);
      }
      if (known === undefined)
        this.#o.log.warn({ taskId: runtime.taskId }, 'claimed instants of an unknown task retired');
    } else {
      // Reached later than the misfire threshold (an overloaded process): the task's misfire
      // policy decides, as it does for instants claimed late.
      const threshold = this.#o.misfireThresholdMs;
      const onTime = live.filter((f) => now - f.fireAt <= threshold);
      const late = live.filter((f) => now - f.fireAt > threshold);
      const catchUp = decideCatchUp(task.misfire.policy, late, onTime.length);
      for (const f of late)
        if (catchUp.includes(f)) missed(f, 'fire', '');
        else missed(f, 'skip', `misfire policy ${task.misfire.policy}`);
      const fires = [...catchUp, ...onTime];
      const busy = runtime.running.size > 0 || runtime.buffered.length > 0;
      const decided = decideOverlap(task.overlap, busy, fires);
      if (decided.cancelRunning) for (const running of runtime.running.values()) running.cancel();
      const skipped = [...decided.skip, ...(decided.dropWaiting ? runtime.buffered : [])];
      if (decided.dropWaiting) runtime.buffered = [];
      for (const s of skipped.flatMap(unitsOf)) {
        events.push(this.#skipped(refOf(s), s.reason, 'overlap', `overlap policy ${task.overlap}`));
        retired.push(s.executionId);
      }
      runtime.buffered.push(...decided.wait);
      this.#o.events.append(events);
      events.length = 0;
      for (const f of decided.start) this.#startExecution(runtime, task, f);
    }
    this.#o.events.append(events);
    this.#retire(runtime, retired);
  }

  /** The reference of a fact about one execution as a whole: a unit's says which unit it is. */
  #unitRef(taskId: string, f: RunnableFire): UnitRef {
    const ref = this.#facts.ref(taskId, f.executionId, f.nominal, f.fencingToken);
    if (f.member === undefined) return { ...ref, ...unitFields(f) };
    const runtime = this.#tasks.get(taskId);
    const target = (runtime?.task ?? runtime?.lastKnown)?.target;
    const group = target !== undefined && isGroupTarget(target) ? target.group : '';
    return { ...ref, ...unitFields(f), member: { group, url: f.member } };
  }

  /**
   * The units an instant of a shard or broadcast task becomes (undefined for any other task):
   * the task's shards, or one per member of its group live now. A broadcast with no live member
   * stays one plain execution, which fails for want of a member.
   */
  #unitsOf(task: SchedulerTask, instant: RunnableFire, now: number): RunnableFire[] | undefined {
    const { target } = task;
    if (!isGroupTarget(target)) return undefined;
    const units =
      target.route === 'shard'
        ? planShardUnits(instant.executionId, target.shards ?? 1, target.shardParameters)
        : target.route === 'broadcast'
          ? planBroadcastUnits(instant.executionId, this.#router.broadcastMembers(task, now))
          : undefined;
    if (units === undefined || units.length === 0) return undefined;
    return units.map((unit) => ({ ...instant, ...unit }));
  }

  #skipped(ref: UnitRef, reason: FireReason, skipReason: SkipReason, detail: string): NonoEvent {
    return this.#facts.create('nono.execution.skipped.v1', { ...ref, reason, skipReason, detail });
  }

  /** Starts an execution, or each unit of a fanned-out instant as an execution of its own. */
  #startExecution(runtime: TaskRuntime, task: SchedulerTask, fire: RunnableFire): void {
    for (const unit of unitsOf(fire)) this.#startUnit(runtime, task, unit);
  }

  #startUnit(runtime: TaskRuntime, task: SchedulerTask, fire: RunnableFire): void {
    const cancellation = new Cancellation();
    runtime.running.set(fire.executionId, cancellation);
    const execution = this.#runner
      .run(task, fire, cancellation)
      .catch((error: unknown): RunEnd => {
        this.#o.log.error({ err: error, executionId: fire.executionId }, 'execution crashed');
        return 'cancelled';
      })
      .then((end) => {
        runtime.running.delete(fire.executionId);
        this.#executions.delete(execution);
        if (end === 'abandoned') {
          // No terminal fact yet: it stays open and listed. An owner reports it lost past its
          // deadline; a released task's new owner leaves a live process's entries to it, so then
          // this process reports it.
          if (runtime.released) this.#enqueue(runtime, () => this.#reportAbandoned(runtime, task, fire));
          else this.#enqueue(runtime, () => this.#settleLost(runtime));
          this.#startBuffered(runtime);
          return;
        }
        // Its outcome events are appended: the next record may say it ended.
        this.#o.openExecutions.close(runtime.taskId, [fire.executionId]);
        this.#enqueue(runtime, () => this.#finishExecution(runtime, fire.executionId));
        if (end === 'succeeded' || end === 'failed')
          this.#enqueue(runtime, () => this.#countFailures(runtime, end));
      });
    this.#executions.add(execution);
  }

  /**
   * Keeps the task's run of consecutive failures in its fire state (so a new owner goes on
   * counting), counted under the task's revision: any change to the task starts again. A
   * success ends the run. When the run reaches `pauseAfterConsecutiveFailures`, the task is
   * paused with a note and an audit event.
   */
  async #countFailures(runtime: TaskRuntime, end: 'succeeded' | 'failed'): Promise<void> {
    const { task, fire } = runtime;
    if (task === undefined || fire === undefined || runtime.released) return;
    const limit = task.pauseAfterConsecutiveFailures;
    if (end === 'succeeded' ? fire.state.consecutiveFailures === undefined : limit === undefined) return;
    let count = 0;
    const update = await this.#writer.update(task.id, fire, (state): FireState | undefined => {
      const previous = state.consecutiveFailures;
      if (end === 'succeeded') {
        if (previous === undefined) return undefined;
        const { consecutiveFailures: _ended, ...rest } = state;
        return rest;
      }
      count = (previous?.revision === task.revision ? previous.count : 0) + 1;
      return { ...state, consecutiveFailures: { count, revision: task.revision } };
    });
    runtime.fire = update.kind === 'gone' ? undefined : update.fire;
    if (end !== 'failed' || update.kind !== 'written' || limit === undefined || count < limit) return;
    if (task.paused || this.#o.pauser === undefined) return;
    const note = `paused by nono after ${count} consecutive failed executions (pauseAfterConsecutiveFailures: ${limit})`;
    try {
      const result = await this.#o.pauser.pause(task, note);
      this.#o.log.warn({ taskId: task.id, failures: count, result }, 'pause after consecutive failures');
    } catch (error) {
      // The next failure tries again (the count stays at or above the limit).
      this.#o.log.error(
        { err: error, taskId: task.id },
        'could not pause the task after consecutive failures',
      );
    }
  }

  /** A buffered fire was claimed by this scheduler: it runs even if the task was released since. */
  #startBuffered(runtime: TaskRuntime): void {
    // An instant's units all end before a waiting instant starts (its siblings may still run).
    if (runtime.running.size > 0) return;
    const next = runtime.buffered.shift();
    if (next !== undefined && runtime.task !== undefined && (this.#active || this.#state === 'draining'))
      this.#startExecution(runtime, runtime.task, next);
  }

  /**
   * An execution ended: start a buffered one if any, and take the execution off the fire
   * state. That removal rides on the task's next claim (one ZooKeeper write per fire instead
   * of two), or a delayed write if none comes within `finishFlushDelayMs`. Meanwhile the
   * open-executions record, written in batches for all tasks, tells a new owner it ended.
   */
  #finishExecution(runtime: TaskRuntime, executionId: string): Promise<void> {
    this.#startBuffered(runtime);
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
    const owned = !runtime.released;
    const update = await this.#writer.update(runtime.taskId, owned ? runtime.fire : undefined, (state) => {
      const present = executionIds.filter((id) => state.inflight[id] !== undefined);
      if (present.length === 0) return undefined;
      const inflight = { ...state.inflight };
      for (const id of present) delete inflight[id];
      return { ...state, inflight };
    });
    if (owned) runtime.fire = update.kind === 'gone' ? undefined : update.fire;
    for (const id of executionIds) runtime.finished.delete(id);
  }

  /** Settles the entries this process does not hold (see LostSettler) and starts the re-runs it asks for. */
  async #settleLost(runtime: TaskRuntime): Promise<void> {
    const { task, fire } = runtime;
    if (task === undefined || fire === undefined || runtime.released) return;
    const result = await this.#settler.settle({ task, fire, tracks: (id) => runtime.tracks(id) });
    runtime.fire = result.fire;
    if (runtime.lostCheck !== undefined) this.#o.clock.clearTimer(runtime.lostCheck);
    runtime.lostCheck =
      result.nextCheckAt === undefined
        ? undefined
        : this.#o.clock.setTimer(
            () => this.#enqueue(runtime, () => this.#settleLost(runtime)),
            result.nextCheckAt - this.#o.clock.now(),
          );
    // Nothing to report for these: they leave with the next write.
    this.#retire(runtime, result.ended);
    for (const rerun of result.reruns) this.#startExecution(runtime, task, rerun);
  }

  /** An execution of a released task this process gave up (past its deadline): off the fire state, reported lost. */
  async #reportAbandoned(runtime: TaskRuntime, task: SchedulerTask, fire: RunnableFire): Promise<void> {
    const { openExecutions } = this.#o;
    const update = await this.#writer.update(runtime.taskId, undefined, (state) => {
      const entry = state.inflight[fire.executionId];
      // Only our own entry: a new owner may already list a re-run under the same id.
      if (entry?.schedulerId !== this.#o.schedulerId || entry.incarnation !== openExecutions.incarnation)
        return undefined;
      const inflight = { ...state.inflight };
      delete inflight[fire.executionId];
      return { ...state, inflight };
    });
    openExecutions.close(runtime.taskId, [fire.executionId]);
    if (update.kind !== 'written') return;
    this.#o.metrics.lost.inc();
    this.#o.events.append([
      this.#facts.create('nono.execution.lost.v1', {
        ...this.#facts.ref(task.id, fire.executionId, fire.nominal, update.fencingToken),
        ...unitFields(fire),
        reason: fire.reason,
        detectedAt: formatInstant(this.#o.clock.now()),
        lostSchedulerId: this.#o.schedulerId,
        rerun: false,
      }),
    ]);
  }

  /** Hands the task's pending trigger requests to its chain, once each, when the task is loaded here. */
  #offerTriggers(runtime: TaskRuntime): void {
    if (runtime.task === undefined || runtime.fire === undefined || runtime.released || !this.#active) return;
    for (const { name, requestId } of this.#inbox.take(runtime.taskId))
      this.#enqueue(runtime, () =>
        this.#fireManual(runtime, name, requestId).finally(() => this.#inbox.done(name)),
      );
  }

  /**
   * Fires one manual trigger request once: recorded in the fire state (`manualDone`) in the
   * same write that lists its execution, then its znode is deleted. A request whose znode
   * outlives the write (a crash in between) is recognised by `manualDone` and only deleted.
   * Its nominal time is when it was requested.
   */
  async #fireManual(runtime: TaskRuntime, triggerName: string, requestId: string): Promise<void> {
    const task = runtime.task;
    if (task === undefined || runtime.released || !this.#active) return;
    const read = await this.#o.triggers.read(triggerName);
    if (read.kind === 'absent') return; // handled and deleted already
    const now = this.#o.clock.now();
    if (read.kind === 'malformed')
      this.#o.log.warn(
        { taskId: task.id, trigger: triggerName, problem: read.problem },
        'trigger request malformed: fired as of now',
      );
    const requestedAt = read.kind === 'request' ? parseInstant(read.request.requestedAt) : undefined;
    const parameters = read.kind === 'request' ? read.request.parameters : undefined;
    const nominal = requestedAt !== undefined && requestedAt <= now ? requestedAt : now;
    const executionId = manualExecutionId(task.id, requestId);
    let mark: { incarnation: string; seq: number } | undefined;
    const update = await this.#writer.update(task.id, runtime.fire, (state) => {
      if (state.manualDone.includes(requestId)) return undefined;
      mark ??= this.#o.openExecutions.open(task.id, executionId);
      return {
        ...state,
        manualDone: [...state.manualDone, requestId].slice(-MANUAL_DONE_KEPT),
        inflight: {
          ...state.inflight,
          [executionId]: {
            nominal,
            schedulerId: this.#o.schedulerId,
            startedAt: now,
            deadlineAt: now + executionBudgetMs(task),
            reason: 'manual',
            fencingToken: 0,
            taskIncarnation: task.createdAt,
            ...mark,
            // Kept with the claim: a re-run after a crash sends them again.
            ...(parameters === undefined ? {} : { parameters }),
          },
        },
      };
    });
    if (update.kind === 'gone') {
      if (mark !== undefined) this.#o.openExecutions.close(task.id, [executionId]);
      runtime.fire = undefined;
      return;
    }
    runtime.fire = update.fire;
    if (update.kind === 'unchanged') {
      if (mark !== undefined) this.#o.openExecutions.close(task.id, [executionId]);
      await this.#o.triggers.delete(triggerName);
      return;
    }
    await this.#o.triggers.delete(triggerName);
    this.#startExecution(runtime, task, {
      executionId,
      nominal,
      reason: 'manual',
      fencingToken: update.fencingToken,
      firstAttempt: 1,
      deadlineAt: now + executionBudgetMs(task),
      ...(parameters === undefined ? {} : { parameters }),
    });
  }
}

/** The reference of a fact about one execution, with the unit it is when it is one. */
type UnitRef = ReturnType<ExecutionEvents['ref']> &
  ReturnType<typeof unitFields> & { member?: { group: string; url: string } };

/** The claimed fire with the claim's fencing token, on its units too. */
function withToken(fire: ClaimedFire, fencingToken: number): ClaimedFire {
  return fire.units === undefined
    ? { ...fire, fencingToken }
    : { ...fire, fencingToken, units: fire.units.map((unit) => ({ ...unit, fencingToken })) };
}

/** An instant this scheduler has won through the fence, waiting for its moment. */
export interface ClaimedFire extends RunnableFire {
  /** The nominal instant plus the task's jitter. */
  readonly fireAt: number;
  readonly onTime: boolean;
}
