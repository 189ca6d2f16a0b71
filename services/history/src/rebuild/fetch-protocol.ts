import { type KafkaSecurity } from '@nono/events';
import { type DecodedChunk } from './decoded-chunk.js';

/** What the fetch thread (fetch-thread.ts) is started with. */
export interface FetchThreadConfig {
  readonly brokers: readonly string[];
  /** The service's TLS and SASL (plain data: it crosses to the thread, which reads the files). */
  readonly kafkaSecurity: KafkaSecurity | undefined;
  readonly clientId: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where to start each partition: [topic, partition, next offset]. */
  readonly positions: readonly (readonly [string, number, number])[];
  readonly chunkRecords: number;
  /** Chunks handed over and not yet projected, at most. */
  readonly window: number;
}

/** From the SQLite thread: a chunk was projected (one more may be sent), or stop. */
export type FetchRequest = { readonly kind: 'credit' } | { readonly kind: 'stop' };

export type FetchReply =
  | {
      readonly kind: 'chunk';
      readonly topic: string;
      readonly partition: number;
      readonly chunk: DecodedChunk;
      readonly lastOffset: number;
      readonly highWatermark: number;
    }
  | { readonly kind: 'log'; readonly level: 'warn' | 'error'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'stopped' };
