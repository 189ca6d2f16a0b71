import { type NonoEvent } from '@nono/domain';
import { EventPublisher, createKafka, decodeEvent } from '@nono/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firedEvent } from '../support/events.js';
import { type Isolation, createIsolatedTopics, eventually, isolate } from '../support/fixtures.js';

describe('Kafka round trip (real broker)', () => {
  let iso: Isolation;
  beforeAll(async () => {
    iso = await isolate('kafka-roundtrip');
    await createIsolatedTopics(iso, 3);
  });

  const kafkas: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const stop of kafkas) await stop();
  });

  it('publishes with the idempotent producer and a consumer group reads each key back in order', async () => {
    const kafka = createKafka({ brokers: iso.kafkaBrokers, clientId: 'roundtrip' });
    const publisher = new EventPublisher(kafka, iso.topics);
    kafkas.push(() => publisher.disconnect());
    const tasks = ['alpha', 'beta', 'gamma', 'delta'];
    const sent = Array.from({ length: 50 }, (_, n) => tasks.map((task) => firedEvent(task, n))).flat();
    // Several batches, so ordering across sends is exercised too.
    for (let i = 0; i < sent.length; i += 40) await publisher.publish(sent.slice(i, i + 40));

    const consumer = kafka.consumer({ groupId: `${iso.topicPrefix}reader` });
    kafkas.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic: iso.topics.executions, fromBeginning: true });
    const received: NonoEvent[] = [];
    const partitionsByKey = new Map<string, Set<number>>();
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const decoded = decodeEvent(message.value);
        if (!decoded.ok) throw new Error(JSON.stringify(decoded.issues));
        received.push(decoded.value);
        const key = message.key?.toString() ?? '';
        partitionsByKey.set(key, (partitionsByKey.get(key) ?? new Set()).add(partition));
      },
    });
    await eventually(
      () => (received.length >= sent.length ? true : undefined),
      30_000,
      'all events to come back',
    );

    expect(received).toHaveLength(sent.length);
    expect(new Set(received.map((e) => e.id)).size).toBe(sent.length);
    for (const task of tasks) {
      const tokens = received
        .filter((e) => e.subject === task)
        .map((e) => (e.data as { fencingToken: number }).fencingToken);
      expect(tokens).toEqual(Array.from({ length: 50 }, (_, n) => n));
      expect(partitionsByKey.get(task)?.size).toBe(1);
    }
  });
});
