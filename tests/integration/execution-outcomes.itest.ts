import {
  type EventData,
  type NonoEvent,
  createEvent,
  executionEventId,
  scheduledExecutionId,
} from '@nono/domain';
import { EventPublisher, createKafka, searchOutcomes } from '@nono/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Isolation, createIsolatedTopics, isolate } from '../support/fixtures.js';

const NOMINAL = Date.parse('2026-06-01T00:00:00Z');

function fact<
  T extends 'nono.execution.succeeded.v1' | 'nono.execution.failed.v1' | 'nono.execution.fired.v1',
>(
  type: T,
  taskId: string,
  extra: Omit<
    EventData<T>,
    'taskId' | 'executionId' | 'nominalTime' | 'attempt' | 'schedulerId' | 'fencingToken' | 'reason'
  >,
): NonoEvent {
  const executionId = scheduledExecutionId(taskId, NOMINAL);
  const data = {
    taskId,
    executionId,
    nominalTime: new Date(NOMINAL).toISOString(),
    attempt: 1,
    schedulerId: 'dead',
    fencingToken: 1,
    reason: 'scheduled',
    ...extra,
  } as EventData<T>;
  return createEvent(type, data, {
    id: executionEventId(executionId, type, 1),
    source: 'nono://test',
    subject: taskId,
    time: NOMINAL,
  });
}

const ended = { finishedAt: new Date(NOMINAL + 5).toISOString(), durationMs: 5 };

/** The search a scheduler makes before it reports a dead scheduler's executions lost. */
describe('searchOutcomes (real broker)', () => {
  let iso: Isolation;
  let publisher: EventPublisher;
  const kafka = () => createKafka({ brokers: iso.kafkaBrokers, clientId: `outcomes-${iso.name}` });
  const id = (taskId: string) => scheduledExecutionId(taskId, NOMINAL);

  beforeAll(async () => {
    iso = await isolate('execution-outcomes');
    await createIsolatedTopics(iso, 3);
    publisher = new EventPublisher(kafka(), iso.topics);
    const fired = { firedAt: new Date(NOMINAL).toISOString(), lateMs: 0, targetUrl: 'http://127.0.0.1/' };
    await publisher.publish([
      ...['ok', 'retrying', 'gave-up', 'running'].map((task) => fact('nono.execution.fired.v1', task, fired)),
      fact('nono.execution.succeeded.v1', 'ok', { ...ended, httpStatus: 200 }),
      fact('nono.execution.failed.v1', 'retrying', { ...ended, error: 'HTTP 500', willRetry: true }),
      fact('nono.execution.failed.v1', 'gave-up', { ...ended, error: 'HTTP 500', willRetry: false }),
    ]);
  });
  afterAll(async () => {
    await publisher?.disconnect();
  });

  it('finds the executions that succeeded or failed for good, and only those', async () => {
    const tasks = ['ok', 'retrying', 'gave-up', 'running'];
    const search = await searchOutcomes(
      kafka(),
      iso.topics.executions,
      tasks.map((taskId) => ({ taskId, executionIds: [id(taskId)], since: Date.now() - 60_000 })),
      { timeoutMs: 20_000, groupPrefix: `${iso.topicPrefix}outcomes` },
    );
    expect(search.complete).toBe(true);
    expect([...search.concluded].sort()).toEqual([id('gave-up'), id('ok')].sort());
  });

  it('reads nothing written before `since`', async () => {
    const search = await searchOutcomes(
      kafka(),
      iso.topics.executions,
      [{ taskId: 'ok', executionIds: [id('ok')], since: Date.now() + 60_000 }],
      { timeoutMs: 20_000, groupPrefix: `${iso.topicPrefix}outcomes` },
    );
    expect(search).toEqual({ concluded: new Set(), complete: true });
  });
});
