import {
  type EventType,
  type NonoEvent,
  type SchedulerTask,
  createEvent,
  createTask,
  executionEventId,
  formatInstant,
  parseTaskSpec,
  scheduledExecutionId,
  uuidV5,
} from '@nono/domain';

/**
 * A deterministic, realistic stream of events for tests and the benchmark: task
 * definitions, scheduler membership and executions that succeed, fail, retry, time out,
 * get skipped, misfire or are lost. Same seed, same stream.
 */
export interface StreamOptions {
  readonly executions: number;
  readonly tasks?: number;
  readonly seed?: number;
  /** Nominal instant of the first execution; each later one is a minute later. */
  readonly start?: number;
}

const SOURCE = 'nono://scheduler/sched-a';

export function taskFor(taskId: string, now: number): SchedulerTask {
  const spec = parseTaskSpec(
    {
      name: taskId,
      schedule: { kind: 'cron', expression: '* * * * *' },
      target: { url: 'http://127.0.0.1:9/run' },
    },
    now,
  );
  if (!spec.ok) throw new TypeError(`bad test task spec: ${JSON.stringify(spec.issues)}`);
  return createTask(taskId, spec.value, now);
}

/** mulberry32: a tiny seeded PRNG, so generated streams (and shuffles, and benches) are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Envelope attributes of an execution fact, with the derived id a real scheduler would use. */
export function executionMeta(
  type: EventType,
  ref: { readonly executionId: string; readonly taskId: string },
  attempt: number,
  time: number,
): { id: string; source: string; subject: string; time: number } {
  return { id: executionEventId(ref.executionId, type, attempt), source: SOURCE, subject: ref.taskId, time };
}

export function generateStream(options: StreamOptions): NonoEvent[] {
  const rand = seededRandom(options.seed ?? 1);
  const taskCount = options.tasks ?? 20;
  const start = options.start ?? Date.parse('2026-11-20T00:00:00Z');
  const events: NonoEvent[] = [];
  const taskIds = Array.from({ length: taskCount }, (_, i) => `task-${String(i).padStart(3, '0')}`);
  for (const [i, taskId] of taskIds.entries()) {
    const task = taskFor(taskId, start - 3_600_000 + i);
    events.push(
      createEvent(
        'nono.task.defined.v1',
        { taskId, actor: { id: i % 2 === 0 ? 'alice' : 'bob', kind: 'user' }, revision: 1, after: task },
        {
          id: uuidV5(`defined|${taskId}`),
          source: 'nono://api',
          subject: taskId,
          time: start - 3_600_000 + i,
        },
      ),
    );
  }
  events.push(
    createEvent(
      'nono.scheduler.joined.v1',
      {
        schedulerId: 'sched-a',
        host: 'h1',
        pid: 1,
        version: '0.1.0',
        startedAt: formatInstant(start - 7_200_000),
      },
      {
        id: uuidV5('joined|sched-a'),
        source: SOURCE,
        subject: 'sched-a',
        time: start - 7_200_000,
      },
    ),
  );
  for (let n = 0; n < options.executions; n += 1) {
    const taskId = taskIds[n % taskCount] ?? 'task-000';
    const nominal = start + Math.floor(n / taskCount) * 60_000;
    const executionId = scheduledExecutionId(taskId, nominal);
    const ref = {
      taskId,
      executionId,
      nominalTime: formatInstant(nominal),
      schedulerId: 'sched-a',
      fencingToken: 1000 + n,
      reason: 'scheduled' as const,
    };
    const late = Math.floor(rand() * 50);
    const duration = 5 + Math.floor(rand() * 2000);
    const fired = (attempt: number, at: number): NonoEvent =>
      createEvent(
        'nono.execution.fired.v1',
        {
          ...ref,
          attempt,
          firedAt: formatInstant(at),
          lateMs: at - nominal,
          targetUrl: 'http://127.0.0.1:9/run',
        },
        executionMeta('nono.execution.fired.v1', ref, attempt, at),
      );
    const roll = rand();
    if (roll < 0.05) {
      events.push(
        createEvent(
          'nono.execution.skipped.v1',
          { ...ref, attempt: 0, skipReason: 'overlap' },
          executionMeta('nono.execution.skipped.v1', ref, 0, nominal),
        ),
      );
    } else if (roll < 0.08) {
      events.push(
        createEvent(
          'nono.execution.misfired.v1',
          { ...ref, attempt: 0, detectedAt: formatInstant(nominal + 90_000), action: 'skip' },
          executionMeta('nono.execution.misfired.v1', ref, 0, nominal + 90_000),
        ),
      );
    } else if (roll < 0.1) {
      events.push(fired(1, nominal + late));
      events.push(
        createEvent(
          'nono.execution.lost.v1',
          {
            ...ref,
            attempt: 1,
            detectedAt: formatInstant(nominal + 30_000),
            lostSchedulerId: 'sched-b',
            rerun: false,
          },
          executionMeta('nono.execution.lost.v1', ref, 1, nominal + 30_000),
        ),
      );
    } else if (roll < 0.2) {
      const end1 = nominal + late + duration;
      events.push(fired(1, nominal + late));
      events.push(
        createEvent(
          'nono.execution.failed.v1',
          {
            ...ref,
            attempt: 1,
            finishedAt: formatInstant(end1),
            durationMs: duration,
            httpStatus: 503,
            error: 'HTTP 503',
            willRetry: true,
          },
          executionMeta('nono.execution.failed.v1', ref, 1, end1),
        ),
      );
      events.push(
        createEvent(
          'nono.execution.retrying.v1',
          { ...ref, attempt: 2, nextAttemptAt: formatInstant(end1 + 1000), previousError: 'HTTP 503' },
          executionMeta('nono.execution.retrying.v1', ref, 2, end1),
        ),
      );
      events.push(fired(2, end1 + 1000));
      const end2 = end1 + 1000 + duration;
      events.push(
        createEvent(
          'nono.execution.succeeded.v1',
          { ...ref, attempt: 2, finishedAt: formatInstant(end2), durationMs: duration, httpStatus: 200 },
          executionMeta('nono.execution.succeeded.v1', ref, 2, end2),
        ),
      );
    } else if (roll < 0.25) {
      const end = nominal + late + 30_000;
      events.push(fired(1, nominal + late));
      events.push(
        createEvent(
          'nono.execution.timed-out.v1',
          {
            ...ref,
            attempt: 1,
            finishedAt: formatInstant(end),
            durationMs: 30_000,
            timeoutMs: 30_000,
            willRetry: false,
          },
          executionMeta('nono.execution.timed-out.v1', ref, 1, end),
        ),
      );
    } else if (roll < 0.3) {
      const end = nominal + late + duration;
      events.push(fired(1, nominal + late));
      events.push(
        createEvent(
          'nono.execution.failed.v1',
          {
            ...ref,
            attempt: 1,
            finishedAt: formatInstant(end),
            durationMs: duration,
            httpStatus: 500,
            error: 'HTTP 500',
            willRetry: false,
          },
          executionMeta('nono.execution.failed.v1', ref, 1, end),
        ),
      );
    } else {
      const end = nominal + late + duration;
      events.push(fired(1, nominal + late));
      events.push(
        createEvent(
          'nono.execution.succeeded.v1',
          { ...ref, attempt: 1, finishedAt: formatInstant(end), durationMs: duration, httpStatus: 200 },
          executionMeta('nono.execution.succeeded.v1', ref, 1, end),
        ),
      );
    }
  }
  return events;
}
