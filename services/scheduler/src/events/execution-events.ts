import {
  type Clock,
  type EventData,
  type EventType,
  type NonoEvent,
  createEvent,
  executionEventId,
  formatInstant,
} from '@nono/domain';

/** The fields every fact about one execution carries, for facts that are not about an attempt. */
export interface ExecutionRef {
  readonly taskId: string;
  readonly executionId: string;
  readonly nominalTime: string;
  readonly attempt: number;
  readonly schedulerId: string;
  readonly fencingToken: number;
}

/**
 * Builds the scheduler's execution facts. Event ids are derived (execution id, type, attempt),
 * so the same fact built twice, by this scheduler after a restart or by another one, is one
 * event to every consumer.
 */
export class ExecutionEvents {
  readonly #schedulerId: string;
  readonly #clock: Clock;

  constructor(schedulerId: string, clock: Clock) {
    this.#schedulerId = schedulerId;
    this.#clock = clock;
  }

  create<T extends EventType>(type: T, data: EventData<T>): NonoEvent {
    const ref = data as unknown as { executionId?: string; attempt?: number; taskId?: string };
    return createEvent(type, data, {
      id: executionEventId(ref.executionId ?? '', type, ref.attempt ?? 0),
      source: `nono://scheduler/${this.#schedulerId}`,
      subject: ref.taskId ?? this.#schedulerId,
      time: this.#clock.now(),
    });
  }

  /** The reference of a fact about the execution as a whole (attempt 0). */
  ref(taskId: string, executionId: string, nominal: number, fencingToken: number): ExecutionRef {
    return {
      taskId,
      executionId,
      nominalTime: formatInstant(nominal),
      attempt: 0,
      schedulerId: this.#schedulerId,
      fencingToken,
    };
  }
}
