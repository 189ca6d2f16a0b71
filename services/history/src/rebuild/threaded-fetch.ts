import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type FetchReply, type FetchRequest, type FetchThreadConfig } from './fetch-protocol.js';

type ChunkReply = Extract<FetchReply, { kind: 'chunk' }>;

export interface ThreadedFetchHandlers {
  /** A decoded chunk, in partition order; call `credit()` once it is projected. */
  readonly onChunk: (reply: ChunkReply) => void;
  /** The consumer failed for good: no more chunks will come. */
  readonly onFailure: (error: Error) => void;
  readonly onLog: (level: 'warn' | 'error', message: string) => void;
}

/** This module's extension: .js when built, .ts when run from the sources (tests, benchmarks). */
const THREAD_ENTRY = new URL(`./fetch-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function startThread(entry: URL, workerData: FetchThreadConfig): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  // From the TypeScript sources, the thread loads its module through tsx (a dev dependency)
  // with the workspace packages' "source" condition, as the calling process does.
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, execArgv: ['--conditions', 'source'] });
}

/**
 * The rebuild's Kafka consumer and decoding on a worker thread (fetch-thread.ts), so that
 * the thread that owns SQLite only merges and writes. kafkajs' fetch decoding, JSON.parse
 * and the schema checks were ~20 % of a rebuild's single-thread profile, and fetches no
 * longer wait for projection (nor projection for fetches). The thread hands over chunks
 * in partition order and stays at most `window` chunks ahead.
 */
export class ThreadedFetch {
  readonly #worker: Worker;
  readonly #stopped: Promise<void>;
  #failed = false;

  constructor(config: FetchThreadConfig, handlers: ThreadedFetchHandlers) {
    const worker = startThread(THREAD_ENTRY, config);
    this.#worker = worker;
    const fail = (error: Error): void => {
      if (this.#failed) return;
      this.#failed = true;
      handlers.onFailure(error);
    };
    this.#stopped = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        if (code !== 0) fail(new Error(`the rebuild's fetch thread exited with code ${code}`));
        resolve();
      });
    });
    worker.on('message', (reply: FetchReply) => {
      if (reply.kind === 'chunk') handlers.onChunk(reply);
      else if (reply.kind === 'log') handlers.onLog(reply.level, reply.message);
      else if (reply.kind === 'failed') fail(new Error(`rebuild consumer failed: ${reply.message}`));
    });
    worker.on('error', fail);
  }

  /** One chunk was projected: the thread may hand over one more. */
  credit(): void {
    this.#request({ kind: 'credit' });
  }

  /** Disconnects the consumer and ends the thread; chunks still arriving are the caller's to ignore. */
  async stop(): Promise<void> {
    this.#request({ kind: 'stop' });
    const timeout = setTimeout(() => void this.#worker.terminate(), 15_000);
    await this.#stopped;
    clearTimeout(timeout);
  }

  #request(request: FetchRequest): void {
    this.#worker.postMessage(request);
  }
}
