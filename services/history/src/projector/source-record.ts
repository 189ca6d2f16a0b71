/** A Kafka record as the projector sees it: kafkajs-free, so batches can be projected in unit tests. */
export interface SourceRecord {
  readonly offset: number;
  readonly key: string | null;
  readonly value: Buffer | null;
}

export interface SourceBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly SourceRecord[];
}
