import { type FieldIssue, type NonoEvent } from '@nono/domain';
import { type KafkaMessage } from 'kafkajs';
import { type ExecutionFact } from './execution-fact.js';

/**
 * A record decoded ahead of projection (on the rebuild's fetch thread, decoded-chunk.ts):
 * an execution event already reduced to its fact, another valid event, or the issues of
 * an invalid one. Exactly what BatchProjector would have derived from the value itself.
 */
export type DecodedValue =
  | { readonly kind: 'fact'; readonly fact: ExecutionFact }
  | { readonly kind: 'event'; readonly event: NonoEvent }
  | { readonly kind: 'invalid'; readonly issues: readonly FieldIssue[] };

/** A Kafka record as the projector sees it: kafkajs-free, so batches can be projected in unit tests. */
export interface SourceRecord {
  readonly offset: number;
  readonly key: string | null;
  /** The raw value: decoded by the projector unless `decoded` is given, and kept in a dead letter. */
  readonly value: Buffer | null;
  readonly decoded?: DecodedValue;
}

export interface SourceBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly SourceRecord[];
}

/** A kafkajs batch's records as the projector takes them (the key as text, the value raw). */
export function sourceBatchOf(
  batch: { readonly topic: string; readonly partition: number },
  messages: readonly KafkaMessage[],
): SourceBatch {
  return {
    topic: batch.topic,
    partition: batch.partition,
    records: messages.map((message) => ({
      offset: Number(message.offset),
      key: message.key?.toString('utf8') ?? null,
      value: message.value,
    })),
  };
}
