import { type NonoEvent, createEvent, executionEventId, scheduledExecutionId } from '@nono/domain';
import { type Kafka, type Message, type RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { EventPublisher } from './kafka.js';
import { topicNames } from './topics.js';

const topics = topicNames('t.publisher-test.');
const PARTITIONS = 6;

function fired(taskId: string): NonoEvent {
  const nominal = Date.parse('2026-12-02T12:06:00Z');
  const executionId = scheduledExecutionId(taskId, nominal);
  return createEvent(
    'nono.execution.fired.v1',
    {
      taskId,
      executionId,
      nominalTime: new Date(nominal).toISOString(),
      attempt: 1,
      schedulerId: 'test',
      fencingToken: 1,
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

interface Sent {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
}

/**
 * A Kafka client of three brokers leading two partitions each whose producer answers a send
 * as `answer` says (no broker is contacted): what EventPublisher makes of kafkajs's answers.
 */
function fakeKafka(answer: (sent: readonly Sent[]) => readonly Sent[]): { kafka: Kafka; sends: Sent[][] } {
  const sends: Sent[][] = [];
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    fetchTopicMetadata: async ({ topics: names }: { topics: string[] }) => ({
      topics: names.map((name) => ({
        name,
        partitions: Array.from({ length: PARTITIONS }, (_, partitionId) => ({
          partitionId,
          leader: 1 + (partitionId % 3),
          replicas: [1, 2, 3],
          isr: [1, 2, 3],
          partitionErrorCode: 0,
        })),
      })),
    }),
  };
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    sendBatch: async ({
      topicMessages,
    }: {
      topicMessages: Array<{ topic: string; messages: Message[] }>;
    }): Promise<RecordMetadata[]> => {
      const sent = topicMessages.flatMap(({ topic, messages }) =>
        messages.map((message) => ({ topic, partition: message.partition ?? -1, key: String(message.key) })),
      );
      sends.push(sent);
      const answered = new Map(answer(sent).map((s) => [`${s.topic}/${s.partition}`, s]));
      return [...answered.values()].map((s) => ({
        topicName: s.topic,
        partition: s.partition,
        errorCode: 0,
      }));
    },
  };
  return { kafka: { admin: () => admin, producer: () => producer } as unknown as Kafka, sends };
}

describe('EventPublisher and the answers kafkajs gives', () => {
  it('fails a call whose send resolved without an answer for one of its partitions, and sends only that partition’s events again', async () => {
    const events = Array.from({ length: 24 }, (_, i) => fired(`task-${i}`));
    let dropped: number | undefined;
    const { kafka, sends } = fakeKafka((sent) => {
      // The first send of the first call: kafkajs resolved it without its first partition
      // (that partition's leader moved, during the retries, to a broker that had answered).
      if (sends.length === 1) {
        dropped = sent[0]?.partition;
        return sent.filter((s) => s.partition !== dropped);
      }
      return sent;
    });
    const publisher = new EventPublisher(kafka, topics);

    await expect(publisher.publish(events)).rejects.toThrow(/acknowledged no write/);

    const before = sends.length;
    await publisher.publish(events);
    const again = sends.slice(before).flat();
    const droppedKeys = sends[0]?.filter((s) => s.partition === dropped).map((s) => s.key) ?? [];
    expect(droppedKeys.length).toBeGreaterThan(0);
    // Exactly the dropped partition's events went again; the acknowledged ones did not.
    expect(again.map((s) => s.key).sort()).toEqual([...droppedKeys].sort());
  });

  it('acknowledges a call whose sends were answered for every partition', async () => {
    const events = Array.from({ length: 12 }, (_, i) => fired(`task-${i}`));
    const { kafka, sends } = fakeKafka((sent) => sent);
    await new EventPublisher(kafka, topics).publish(events);
    expect(
      sends
        .flat()
        .map((s) => s.key)
        .sort(),
    ).toEqual(events.map((event) => event.subject).sort());
  });
});
