import {
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

/** Events as a scheduler and the API would publish them, for the alerts tests. */

export function defineTask(
  taskId: string,
  at: number,
  input: Record<string, unknown> = {},
): { task: SchedulerTask; event: NonoEvent } {
  const spec = parseTaskSpec(
    {
      name: taskId,
      schedule: { kind: 'interval', everyMs: 10_000 },
      target: { url: 'http://127.0.0.1:9/run' },
      ...input,
    },
    at,
  );
  if (!spec.ok) throw new TypeError(`bad test task: ${JSON.stringify(spec.issues)}`);
  const task = createTask(taskId, spec.value, at);
  const event = createEvent(
    'nono.task.defined.v1',
    { taskId, actor: { id: 'test', kind: 'system' }, revision: 1, after: task },
    { id: uuidV5(`defined|${taskId}|${at}`), source: 'nono://api/test', subject: taskId, time: at },
  );
  return { task, event };
}

export type Outcome =
  'succeeded' | 'failed' | 'retrying-failure' | 'timed-out' | 'lost' | 'skipped-overlap' | 'misfired-skip';

/** The final fact of the execution of `taskId` at `nominal`, published at `at`. */
export function executionFact(
  taskId: string,
  nominal: number,
  outcome: Outcome,
  at = nominal + 100,
  attempt = 1,
): NonoEvent {
  const executionId = scheduledExecutionId(taskId, nominal);
  const ref = {
    taskId,
    executionId,
    nominalTime: formatInstant(nominal),
    attempt,
    schedulerId: 's1',
    fencingToken: 7,
    reason: 'scheduled' as const,
  };
  const meta = (type: Parameters<typeof executionEventId>[1]) => ({
    id: executionEventId(executionId, type, attempt),
    source: 'nono://scheduler/s1',
    subject: taskId,
    time: at,
  });
  const finished = { finishedAt: formatInstant(at), durationMs: at - nominal };
  switch (outcome) {
    case 'succeeded':
      return createEvent(
        'nono.execution.succeeded.v1',
        { ...ref, ...finished, httpStatus: 200 },
        meta('nono.execution.succeeded.v1'),
      );
    case 'failed':
    case 'retrying-failure':
      return createEvent(
        'nono.execution.failed.v1',
        {
          ...ref,
          ...finished,
          httpStatus: 500,
          error: 'HTTP 500',
          willRetry: outcome === 'retrying-failure',
        },
        meta('nono.execution.failed.v1'),
      );
    case 'timed-out':
      return createEvent(
        'nono.execution.timed-out.v1',
        { ...ref, ...finished, timeoutMs: 1000, willRetry: false },
        meta('nono.execution.timed-out.v1'),
      );
    case 'lost':
      return createEvent(
        'nono.execution.lost.v1',
        { ...ref, detectedAt: formatInstant(at), lostSchedulerId: 's0', rerun: false },
        meta('nono.execution.lost.v1'),
      );
    case 'skipped-overlap':
      return createEvent(
        'nono.execution.skipped.v1',
        { ...ref, attempt: 0, skipReason: 'overlap' },
        meta('nono.execution.skipped.v1'),
      );
    case 'misfired-skip':
      return createEvent(
        'nono.execution.misfired.v1',
        { ...ref, attempt: 0, detectedAt: formatInstant(at), action: 'skip' },
        meta('nono.execution.misfired.v1'),
      );
  }
}

/** The fire of `taskId`'s instant at `nominal`, `lateMs` after it. */
export function firedFact(
  taskId: string,
  nominal: number,
  lateMs: number,
  reason: 'scheduled' | 'manual' = 'scheduled',
): NonoEvent {
  const executionId = scheduledExecutionId(taskId, nominal);
  return createEvent(
    'nono.execution.fired.v1',
    {
      taskId,
      executionId,
      nominalTime: formatInstant(nominal),
      attempt: 1,
      schedulerId: 's1',
      fencingToken: 7,
      reason,
      firedAt: formatInstant(nominal + lateMs),
      lateMs,
      targetUrl: 'http://127.0.0.1:9/run',
    },
    {
      id: executionEventId(executionId, 'nono.execution.fired.v1', 1),
      source: 'nono://scheduler/s1',
      subject: taskId,
      time: nominal + lateMs,
    },
  );
}

/** Cluster facts as a scheduler publishes them. */
export const clusterFacts = {
  joined: (schedulerId: string, at: number): NonoEvent =>
    createEvent(
      'nono.scheduler.joined.v1',
      { schedulerId, host: 'localhost', pid: 1, version: 'test', startedAt: formatInstant(at) },
      {
        id: uuidV5(`joined|${schedulerId}|${at}`),
        source: `nono://scheduler/${schedulerId}`,
        subject: schedulerId,
        time: at,
      },
    ),
  left: (schedulerId: string, at: number): NonoEvent =>
    createEvent(
      'nono.scheduler.left.v1',
      { schedulerId, reason: 'shutdown', detectedBy: schedulerId },
      {
        id: uuidV5(`left|${schedulerId}|${at}`),
        source: `nono://scheduler/${schedulerId}`,
        subject: schedulerId,
        time: at,
      },
    ),
  ownershipChanged: (schedulerId: string, members: string[], at: number): NonoEvent =>
    createEvent(
      'nono.ownership.changed.v1',
      { schedulerId, acquired: [], released: [], ownedCount: 0, members },
      {
        id: uuidV5(`ownership|${schedulerId}|${at}`),
        source: `nono://scheduler/${schedulerId}`,
        subject: schedulerId,
        time: at,
      },
    ),
};
