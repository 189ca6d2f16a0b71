import { randomUUID } from 'node:crypto';
import { type Kafka, Partitioners, type PartitionerArgs } from 'kafkajs';

/** Executions of one task whose outcome is sought, and when the earliest of them was claimed. */
export interface OutcomeQuery {
  readonly taskId: string;
  readonly executionIds: readonly string[];
  /** Epoch ms: no fact of these executions can be older (their claim time, less clock slack). */
  readonly since: number;
}

export interface OutcomeSearch {
  /** The ids among the queries with a concluding fact on the topic. */
  readonly concluded: ReadonlySet<string>;
  /** False when the search stopped at its deadline before reading every partition to its end. */
  readonly complete: boolean;
}

/**
 * Facts that end an execution for good: it succeeded, was cancelled by an operator, or failed
 * or timed out with no retry left. (`lost` is not one: a lost execution may be re-run.)
 */
export function concludes(type: string, data: { readonly willRetry?: unknown }): boolean {
  if (type === 'nono.execution.succeeded.v1' || type === 'nono.execution.cancelled.v1') return true;
  return (
    (type === 'nono.execution.failed.v1' || type === 'nono.execution.timed-out.v1') &&
    data.willRetry === false
  );
}

/**
 * Searches the executions topic for facts that conclude the given executions.
 *
 * A scheduler that took over a dead one's task asks this before it reports an execution lost: the
 * dead process may have finished the call and made its fact durable in the moment before its
 * open-executions record said so. Only the partitions the tasks' keys map to are read, from the
 * first record at or after `since` up to the end they had when the search began; the read uses a
 * throwaway consumer group (kafkajs has no group-less consumer) that commits nothing.
 */
export async function searchOutcomes(
  kafka: Kafka,
  topic: string,
  queries: readonly OutcomeQuery[],
  options: { readonly timeoutMs: number; readonly groupPrefix: string },
): Promise<OutcomeSearch> {
  const wanted = new Set(queries.flatMap((query) => query.executionIds));
  const concluded = new Set<string>();
  if (wanted.size === 0) return { concluded, complete: true };

  const admin = kafka.admin();
  await admin.connect();
  /** Per partition to read: the first offset to read and the offset it ends before. */
  const ranges = new Map<number, { from: bigint; end: bigint }>();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitionMetadata = metadata.topics[0]?.partitions ?? [];
    const partitionOf = Partitioners.DefaultPartitioner();
    const since = new Map<number, number>();
    for (const query of queries) {
      const args: PartitionerArgs = { topic, partitionMetadata, message: { key: query.taskId, value: null } };
      const partition = partitionOf(args);
      since.set(partition, Math.min(since.get(partition) ?? Infinity, query.since));
    }
    const high = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
    for (const [partition, from] of since) {
      const start = (await admin.fetchTopicOffsetsByTimestamp(topic, from)).find(
        (p) => p.partition === partition,
      );
      const end = high.get(partition);
      if (start === undefined || end === undefined || BigInt(start.offset) >= end) continue;
      ranges.set(partition, { from: BigInt(start.offset), end });
    }
  } finally {
    await admin.disconnect();
  }
  if (ranges.size === 0) return { concluded, complete: true };

  const consumer = kafka.consumer({
    groupId: `${options.groupPrefix}-${randomUUID()}`,
    allowAutoTopicCreation: false,
    retry: { retries: 2 },
  });
  const pending = new Set(ranges.keys());
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const deadline = setTimeout(finish, options.timeoutMs);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = ranges.get(batch.partition);
        if (range === undefined || !pending.has(batch.partition)) return;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < range.from) continue;
          if (offset >= range.end) break;
          const type = message.headers?.['ce_type']?.toString();
          if (type === undefined || !type.startsWith('nono.execution.') || message.value === null) continue;
          const event = JSON.parse(message.value.toString('utf8')) as {
            data?: { executionId?: unknown; willRetry?: unknown };
          };
          const executionId = event.data?.executionId;
          if (typeof executionId === 'string' && wanted.has(executionId) && concludes(type, event.data ?? {}))
            concluded.add(executionId);
        }
        const last = batch.messages.at(-1);
        if (last !== undefined && BigInt(last.offset) + 1n >= range.end) {
          pending.delete(batch.partition);
          if (pending.size === 0) finish();
        }
        await Promise.resolve();
      },
    });
    for (const [partition, range] of ranges)
      consumer.seek({ topic, partition, offset: range.from.toString() });
    await done;
  } finally {
    clearTimeout(deadline);
    await consumer.disconnect();
  }
  return { concluded, complete: pending.size === 0 };
}
