import {
  type Clock,
  type EventData,
  type FireReason,
  type SchedulerTask,
  formatInstant,
  jitterOffsetMs,
  retryDelayMs,
  shouldRetry,
  type TriggerParameters,
} from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type EventSink } from '../events/event-spool.js';
import { type ExecutionEvents } from '../events/execution-events.js';
import { type SchedulerMetrics } from '../metrics.js';
import { type Cancellation } from './cancellation.js';
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
  /** A manual run's trigger parameters, sent to the worker with every attempt. */
  readonly parameters?: TriggerParameters;
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
    const { clock, metrics, facts, events } = this.#o;
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
      // The facts of every fire are built field by field: object spread costs a shape
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
        targetUrl: task.target.url,
      };
      if (fire.parameters !== undefined) fired.parameters = fire.parameters;
      events.append([facts.create('nono.execution.fired.v1', fired)]);

      const outcome: InvocationOutcome = await this.#o.invoker.invoke({
        task,
        executionId: fire.executionId,
        nominal: fire.nominal,
        firedAt,
        attempt,
        reason: fire.reason,
        fencingToken: fire.fencingToken,
        schedulerId: this.#o.schedulerId,
        cancellation,
        ...(fire.parameters === undefined ? {} : { parameters: fire.parameters }),
      });
      const finishedAt = formatInstant(clock.now());
      metrics.outcomes.inc({ outcome: outcome.kind });
      metrics.duration.observe(outcome.durationMs / 1000);
      if (outcome.kind === 'succeeded') {
        events.append([
          facts.create('nono.execution.succeeded.v1', {
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
          }),
        ]);
        return 'succeeded';
      }
      const willRetry =
        outcome.kind !== 'cancelled' && shouldRetry(task.retry, attempt) && !this.#o.draining();
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
          }),
        ]);
      } else {
        const httpStatus = outcome.kind === 'failed' ? outcome.httpStatus : undefined;
        events.append([
          facts.create('nono.execution.failed.v1', {
            ...ref,
            finishedAt,
            durationMs: outcome.durationMs,
            ...(httpStatus === undefined ? {} : { httpStatus }),
            error,
            willRetry,
          }),
        ]);
      }
      if (!willRetry) return outcome.kind === 'cancelled' ? 'cancelled' : 'failed';
      const delayMs = retryDelayMs(task.retry, attempt, fire.executionId);
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
}
