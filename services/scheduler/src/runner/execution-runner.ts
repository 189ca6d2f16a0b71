import {
  type CancelCall,
  type Clock,
  type EventData,
  type FireReason,
  type SchedulerTask,
  formatInstant,
  jitterOffsetMs,
  type ShardRef,
  retryDelayMs,
  shouldRetry,
  type TriggerParameters,
} from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type EventSink } from '../events/event-spool.js';
import { type ExecutionEvents, type ExecutionRef } from '../events/execution-events.js';
import { type CallDestination, type MemberRouter, type MemberVerdict } from '../groups/member-router.js';
import { type SchedulerMetrics } from '../metrics.js';
import { type Cancellation, type OperatorCancel } from './cancellation.js';
import { type InvocationOutcome, type Invoker } from './invoker.js';

/** An execution this scheduler holds through the fence, ready to call the worker. */
export interface RunnableFire {
  readonly executionId: string;
  readonly nominal: number;
  readonly reason: FireReason;
  readonly fencingToken: number;
  readonly firstAttempt: number;
  /**
   * As written to the fire state: after it another scheduler may call the execution lost and
   * re-run it, so no attempt that could still be running then is started.
   */
  readonly deadlineAt: number;
  /** A manual run's trigger parameters, or a shard's: sent to the worker with every attempt. */
  readonly parameters?: TriggerParameters;
  /**
   * Attempts the retry policy does not count: a backfill fire continues the execution's attempt
   * numbers (history keeps every attempt) and still gets the policy's attempts of its own.
   */
  readonly uncountedAttempts?: number;
  /** A unit of a fanned-out instant (route shard or broadcast): the instant's execution id. */
  readonly instantId?: string;
  /** The shard this unit runs. */
  readonly shard?: ShardRef;
  /** A broadcast unit's member (normalised URL): every attempt goes there. */
  readonly member?: string;
  /**
   * A whole instant of a shard or broadcast task, as claimed: its units, each started as an
   * execution of its own (and each listed in the fire state under its own id).
   */
  readonly units?: readonly RunnableFire[];
}

/** The executions a fire stands for: its units, or itself. */
export function unitsOf(fire: RunnableFire): readonly RunnableFire[] {
  return fire.units ?? [fire];
}

/** The fields of a fact that say which unit of a fanned-out instant it is about (none for a plain execution). */
export function unitFields(fire: Pick<RunnableFire, 'instantId' | 'shard'>): {
  instantId?: string;
  shard?: ShardRef;
} {
  if (fire.instantId === undefined) return {};
  return fire.shard === undefined
    ? { instantId: fire.instantId }
    : { instantId: fire.instantId, shard: fire.shard };
}

/**
 * How a run ended: with a terminal fact (`succeeded`; `failed`: the last attempt failed or
 * timed out; `cancelled`: the overlap policy cut it short), or abandoned without one: the next
 * attempt could not end before the deadline (the process was frozen or starved past it), so it
 * is left open for the lost-execution settling to report.
 */
export type RunEnd = 'succeeded' | 'failed' | 'cancelled' | 'abandoned';

export interface ExecutionRunnerOptions {
  readonly schedulerId: string;
  readonly clock: Clock;
  readonly invoker: Invoker;
  /** Where each attempt goes: the task's URL, or a member of its worker group. */
  readonly router: MemberRouter;
  readonly events: EventSink;
  readonly facts: ExecutionEvents;
  readonly metrics: SchedulerMetrics;
  readonly log: Logger;
  /** A draining scheduler makes no new attempts. */
  readonly draining: () => boolean;
}

/** Calls the worker for one execution: attempts, timeouts, back-off between retries, and a fact for each step. */
export class ExecutionRunner {
  readonly #o: ExecutionRunnerOptions;

  constructor(options: ExecutionRunnerOptions) {
    this.#o = options;
  }

  async run(task: SchedulerTask, fire: RunnableFire, cancellation: Cancellation): Promise<RunEnd> {
    const { clock, metrics, facts, events, router } = this.#o;
    // The group members this execution's attempts went to: a retry goes to another one.
    const tried = new Set<string>();
    for (let attempt = fire.firstAttempt; ; attempt++) {
      const firedAt = clock.now();
      if (attempt > fire.firstAttempt && firedAt + task.target.timeoutMs > fire.deadlineAt) {
        this.#o.log.warn(
          {
            taskId: task.id,
            executionId: fire.executionId,
            attempt,
            pastDeadlineMs: firedAt - fire.deadlineAt,
          },
          'retry not started: it could not end before the execution deadline (the process stalled); left to be reported lost',
        );
        return 'abandoned';
      }
      const ref = {
        taskId: task.id,
        executionId: fire.executionId,
        nominalTime: formatInstant(fire.nominal),
        attempt,
        schedulerId: this.#o.schedulerId,
        fencingToken: fire.fencingToken,
        reason: fire.reason,
        ...unitFields(fire),
      };
      const lateMs =
        attempt === fire.firstAttempt
          ? Math.max(
              0,
              firedAt - fire.nominal - jitterOffsetMs(task.id, fire.nominal, task.schedule.jitterMs),
            )
          : 0;
      // Lateness is the schedule's: a manual run and a backfill are late on purpose.
      if (attempt === fire.firstAttempt && fire.reason !== 'manual' && fire.reason !== 'backfill')
        metrics.lateness.observe(lateMs / 1000);
      metrics.fires.inc({ reason: fire.reason });
      const destination = router.destination(task, tried, firedAt, fire);
      // Every fact of the attempt names the member it went to (group targets only).
      const member = destination.kind === 'member' ? { member: destination.member } : {};
      // The facts every fire has are built field by field: object spread costs a shape
      // transition per field, on the path every fire takes.
      const fired: EventData<'nono.execution.fired.v1'> = {
        taskId: ref.taskId,
        executionId: ref.executionId,
        nominalTime: ref.nominalTime,
        attempt,
        schedulerId: ref.schedulerId,
        fencingToken: ref.fencingToken,
        reason: ref.reason,
        firedAt: formatInstant(firedAt),
        lateMs,
        targetUrl: destination.kind === 'none' ? destination.label : destination.url,
      };
      if (destination.kind === 'member') fired.member = destination.member;
      if (fire.parameters !== undefined) fired.parameters = fire.parameters;
      if (fire.instantId !== undefined) fired.instantId = fire.instantId;
      if (fire.shard !== undefined) fired.shard = fire.shard;
      events.append([facts.create('nono.execution.fired.v1', fired)]);
      // The call waits for its fact to be in the spool's file: a process killed during the
      // call then still has it, so no worker is ever called without a fact that says so.
      const written = await events.written();
      if (!written || clock.now() >= fire.deadlineAt) {
        this.#o.log.warn(
          { taskId: task.id, executionId: fire.executionId, attempt, spoolClosed: !written },
          'attempt not started: its fired fact was not written before the execution deadline; left to be reported lost',
        );
        return 'abandoned';
      }

      const outcome = await this.#call(task, fire, attempt, firedAt, destination, cancellation);
      const finishedAt = formatInstant(clock.now());
      metrics.outcomes.inc({ outcome: outcome.kind });
      metrics.duration.observe(outcome.durationMs / 1000);
      const operator = cancellation.operator;
      if (outcome.kind === 'cancelled' && operator !== undefined) {
        // The call was running: the worker may still be at it, so its cancel URL is told (best effort).
        const cancelUrl = task.target.cancelUrl;
        const cancelCall =
          cancelUrl === undefined
            ? undefined
            : await this.#o.invoker.notifyCancel({
                task,
                cancelUrl,
                executionId: fire.executionId,
                nominal: fire.nominal,
                attempt,
                actor: operator.actor,
                ...(operator.note === undefined ? {} : { note: operator.note }),
              });
        this.#cancelled(ref, attempt, finishedAt, outcome.durationMs, operator, cancelCall);
        return 'cancelled';
      }
      if (outcome.kind === 'succeeded') {
        const succeeded: EventData<'nono.execution.succeeded.v1'> = {
          taskId: ref.taskId,
          executionId: ref.executionId,
          nominalTime: ref.nominalTime,
          attempt,
          schedulerId: ref.schedulerId,
          fencingToken: ref.fencingToken,
          reason: ref.reason,
          finishedAt,
          durationMs: outcome.durationMs,
          httpStatus: outcome.httpStatus,
        };
        if (destination.kind === 'member') succeeded.member = destination.member;
        if (fire.instantId !== undefined) succeeded.instantId = fire.instantId;
        if (fire.shard !== undefined) succeeded.shard = fire.shard;
        if (outcome.output !== undefined) succeeded.output = outcome.output;
        events.append([facts.create('nono.execution.succeeded.v1', succeeded)]);
        return 'succeeded';
      }
      const willRetry =
        outcome.kind !== 'cancelled' &&
        shouldRetry(task.retry, attempt - (fire.uncountedAttempts ?? 0)) &&
        !this.#o.draining();
      const error =
        outcome.kind === 'failed'
          ? outcome.error
          : outcome.kind === 'timed-out'
            ? `no answer within ${task.target.timeoutMs} ms`
            : `cancelled by overlap policy ${task.overlap}`;
      if (outcome.kind === 'timed-out') {
        events.append([
          facts.create('nono.execution.timed-out.v1', {
            ...ref,
            finishedAt,
            durationMs: outcome.durationMs,
            timeoutMs: task.target.timeoutMs,
            willRetry,
            ...member,
          }),
        ]);
      } else {
        const httpStatus = outcome.kind === 'failed' ? outcome.httpStatus : undefined;
        const output = outcome.kind === 'failed' ? outcome.output : undefined;
        events.append([
          facts.create('nono.execution.failed.v1', {
            ...ref,
            finishedAt,
            durationMs: outcome.durationMs,
            ...(httpStatus === undefined ? {} : { httpStatus }),
            error,
            willRetry,
            ...member,
            ...(output === undefined ? {} : { output }),
          }),
        ]);
      }
      if (!willRetry) return outcome.kind === 'cancelled' ? 'cancelled' : 'failed';
      const delayMs = retryDelayMs(task.retry, attempt - (fire.uncountedAttempts ?? 0), fire.executionId);
      events.append([
        facts.create('nono.execution.retrying.v1', {
          ...ref,
          nextAttemptAt: formatInstant(clock.now() + delayMs),
          previousError: error,
        }),
      ]);
      await new Promise<void>((resolve) => {
        const timer = clock.setTimer(() => {
          stopListening();
          resolve();
        }, delayMs);
        const stopListening = cancellation.onCancel(() => {
          clock.clearTimer(timer);
          resolve();
        });
      });
      if (cancellation.cancelled) {
        // A shutdown past its deadline: left open, so the next owner reports it lost (and re-runs it if asked).
        if (this.#o.draining()) return 'abandoned';
        const operator = cancellation.operator;
        if (operator !== undefined) {
          // Cancelled while waiting to retry: the announced attempt is the one that never ran.
          this.#cancelled(ref, attempt + 1, formatInstant(clock.now()), 0, operator);
          return 'cancelled';
        }
        // Cancelled by the overlap policy while waiting: the announced retry ends as a failure of its own.
        events.append([
          facts.create('nono.execution.failed.v1', {
            ...ref,
            attempt: attempt + 1,
            finishedAt: formatInstant(clock.now()),
            durationMs: 0,
            error: `cancelled by overlap policy ${task.overlap} before the retry`,
            willRetry: false,
          }),
        ]);
        return 'cancelled';
      }
    }
  }

  /** An operator stopped the execution: a terminal fact saying who and why; no retry follows. */
  #cancelled(
    ref: ExecutionRef & { readonly reason: FireReason },
    attempt: number,
    finishedAt: string,
    durationMs: number,
    operator: OperatorCancel,
    cancelCall?: CancelCall,
  ): void {
    this.#o.events.append([
      this.#o.facts.create('nono.execution.cancelled.v1', {
        ...ref,
        attempt,
        finishedAt,
        durationMs,
        actor: operator.actor,
        ...(operator.note === undefined ? {} : { note: operator.note }),
        ...(cancelCall === undefined ? {} : { cancelCall }),
      }),
    ]);
  }

  /** One attempt at its destination; the member's health and in-flight count follow it. */
  async #call(
    task: SchedulerTask,
    fire: RunnableFire,
    attempt: number,
    firedAt: number,
    destination: CallDestination,
    cancellation: Cancellation,
  ): Promise<InvocationOutcome> {
    if (destination.kind === 'none')
      return { kind: 'failed', error: destination.error, durationMs: 0, unsent: true };
    const { router } = this.#o;
    router.started(destination);
    const outcome = await this.#o.invoker.invoke({
      task,
      url: destination.url,
      executionId: fire.executionId,
      nominal: fire.nominal,
      firedAt,
      attempt,
      reason: fire.reason,
      fencingToken: fire.fencingToken,
      schedulerId: this.#o.schedulerId,
      cancellation,
      ...(fire.parameters === undefined ? {} : { parameters: fire.parameters }),
      ...unitFields(fire),
    });
    router.finished(destination, memberVerdict(outcome), describeOutcome(outcome), this.#o.clock.now());
    return outcome;
  }
}

/**
 * What an attempt says of the member's health: no answer, a timeout or a 5xx count against it;
 * any other answer (a 4xx, a body the success contract refuses) shows it is up. A call never
 * sent (no signing secrets) or cancelled by the overlap policy says nothing.
 */
export function memberVerdict(outcome: InvocationOutcome): MemberVerdict {
  switch (outcome.kind) {
    case 'succeeded':
      return 'answered';
    case 'timed-out':
      return 'failed';
    case 'cancelled':
      return 'neutral';
    case 'failed':
      if (outcome.unsent === true) return 'neutral';
      return outcome.httpStatus === undefined || outcome.httpStatus >= 500 ? 'failed' : 'answered';
  }
}

function describeOutcome(outcome: InvocationOutcome): string {
  switch (outcome.kind) {
    case 'failed':
      return outcome.error;
    case 'timed-out':
      return `no answer within ${outcome.durationMs} ms`;
    default:
      return outcome.kind;
  }
}
