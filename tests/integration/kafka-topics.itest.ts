import { type TopicNames, createKafka, ensureTopics, topicNames } from '@nono/events';
import { describe, expect, it } from 'vitest';
import { type Isolation, isolate } from '../support/fixtures.js';

// A KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION for a moment after it creates a topic.
// kafkajs's own wait for leaders threw on it in about 1 of 10 creations on this broker (a CI
// run failed in a test's set-up on 2026-12-02). With 40 creations in a row the old code failed in 1 of 2 runs.
function names(topics: TopicNames): string[] {
  return [topics.tasks, topics.executions, topics.cluster, topics.alerts];
}

describe('ensureTopics (real broker)', () => {
  it('creates fresh topics again and again and returns only once every partition has a leader', async () => {
    const iso: Isolation = await isolate('kafka-topics');
    const kafka = createKafka({ brokers: iso.kafkaBrokers, clientId: `test-${iso.name}` });
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (let round = 0; round < 40; round++) {
        const topics = topicNames(`${iso.topicPrefix}r${round}.`);
        await ensureTopics(kafka, topics, { partitions: 6 });
        const metadata = await admin.fetchTopicMetadata({ topics: names(topics) });
        for (const topic of metadata.topics) {
          expect(topic.partitions.length).toBeGreaterThan(0);
          for (const partition of topic.partitions) expect(partition.leader).toBeGreaterThanOrEqual(0);
        }
      }
      // Idempotent: a second call for existing topics is a no-op that still waits for leaders.
      await ensureTopics(kafka, topicNames(`${iso.topicPrefix}r0.`), { partitions: 6 });
    } finally {
      await admin
        .deleteTopics({
          topics: Array.from({ length: 40 }, (_, round) =>
            names(topicNames(`${iso.topicPrefix}r${round}.`)),
          ).flat(),
        })
        .catch(() => undefined);
      await admin.disconnect();
    }
  }, 120_000);
});
