import { type NonoEvent, createEvent, executionEventId, scheduledExecutionId } from '@nono/domain';

/** The `execution.fired` fact of task `taskId`'s n-th per-second instant from 2026-06-01T00:00:00Z. */
export function firedEvent(taskId: string, n: number): NonoEvent {
  const nominal = Date.parse('2026-06-01T00:00:00Z') + n * 1000;
  const executionId = scheduledExecutionId(taskId, nominal);
  return createEvent(
    'nono.execution.fired.v1',
    {
      taskId,
      executionId,
      nominalTime: new Date(nominal).toISOString(),
      attempt: 1,
      schedulerId: 'test',
      fencingToken: n,
      reason: 'scheduled',
      firedAt: new Date(nominal + 2).toISOString(),
      lateMs: 2,
      targetUrl: 'http://127.0.0.1/',
    },
    {
      id: executionEventId(executionId, 'nono.execution.fired.v1', 1),
      source: 'nono://test',
      subject: taskId,
      time: nominal + 2,
    },
  );
}
