import { describe, expect, it } from 'vitest';
import { type KafkaLog, createKafka } from './kafka.js';

type Line = { level: Parameters<KafkaLog>[0]; message: string; extra: Record<string, unknown> };

/** A Kafka client (no broker is contacted) whose log lines are collected. */
function kafkaWithLog(): { kafka: ReturnType<typeof createKafka>; lines: Line[] } {
  const lines: Line[] = [];
  const kafka = createKafka({
    brokers: ['127.0.0.1:1'],
    clientId: 'log-test',
    log: (level, message, extra) => lines.push({ level, message, extra }),
  });
  return { kafka, lines };
}

describe("kafkajs's log lines in nono's log", () => {
  it.each([
    ['The group coordinator is not available'],
    ["The coordinator is loading and hence can't process requests for this group"],
  ])('an expected start-up answer (%s) is debug, not an error: kafkajs retries it', (error) => {
    const { kafka, lines } = kafkaWithLog();
    kafka.logger().error('Response GroupCoordinator(key: 10, version: 2)', { error, correlationId: 1 });
    kafka.logger().error('Response JoinGroup(key: 11, version: 5)', { error, correlationId: 2 });
    kafka.logger().error('Response InitProducerId(key: 22, version: 1)', { error, correlationId: 3 });
    expect(lines.map((line) => line.level)).toEqual(['debug', 'debug', 'debug']);
    expect(lines[0]?.message).toBe('kafka: Response GroupCoordinator(key: 10, version: 2)');
    expect(lines[0]?.extra['error']).toBe(error);
  });

  it('two services creating the same topics at once is debug (kafkajs accepts TOPIC_ALREADY_EXISTS)', () => {
    const { kafka, lines } = kafkaWithLog();
    kafka.logger().error('Response CreateTopics(key: 19, version: 3)', { error: 'Topic creation errors' });
    expect(lines.map((line) => line.level)).toEqual(['debug']);
  });

  it("the warning about the idempotent producer's limited retries (a choice of nono) is debug", () => {
    const { kafka, lines } = kafkaWithLog();
    kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 5 } });
    const line = lines.find((l) => l.message.includes('Limiting retries for the idempotent producer'));
    expect(line?.level).toBe('debug');
  });

  it("kafkajs's note that its default partitioner changed in v2 is debug", () => {
    const { kafka, lines } = kafkaWithLog();
    kafka.logger().warn('KafkaJS v2.0.0 switched default partitioner. To retain the same partitioning…');
    expect(lines.map((line) => line.level)).toEqual(['debug']);
  });

  it.each([
    ['error', 'Response Produce(key: 0, version: 7)', { error: 'The request timed out' }, 'error'],
    // The same words as the start-up answer, but the consumer gave up: a real failure.
    [
      'error',
      'Crash: KafkaJSProtocolError: The group coordinator is not available',
      { error: 'The group coordinator is not available' },
      'error',
    ],
    ['warn', 'The group is rebalancing, re-joining', {}, 'warn'],
    ['error', 'Failed to connect to broker, reconnecting', { retryCount: 3 }, 'error'],
  ] as const)('any other line keeps its level: %s %s', (level, message, extra, expected) => {
    const { kafka, lines } = kafkaWithLog();
    kafka.logger()[level](message, { ...extra });
    expect(lines.map((line) => line.level)).toEqual([expected]);
  });
});
