import { type OutcomeQuery, type OutcomeSearch } from '@nono/events';
import { type Logger } from '@nono/runtime';

/** The search over the executions topic (searchOutcomes in production). */
export type SearchOutcomes = (queries: readonly OutcomeQuery[]) => Promise<OutcomeSearch>;

/** Ids known concluded are remembered this many at most (the oldest are forgotten first). */
const REMEMBERED = 10_000;

/**
 * Answers "has this execution a concluding fact?" for the lost settler, batching the questions
 * that arrive together: a failover settles every adopted task at once, and one search of the
 * topic (one consumer, one read per partition) answers them all.
 *
 * A failed or incomplete search answers with what it found: an execution whose fact was not seen
 * is reported lost as before, which can re-run a call but never hides one.
 */
export class ConcludedExecutions {
  readonly #search: SearchOutcomes;
  readonly #log: Logger;
  readonly #batchWindowMs: number;
  readonly #known = new Set<string>();
  #batch: { queries: OutcomeQuery[]; result: Promise<ReadonlySet<string>> } | undefined;

  constructor(options: { search: SearchOutcomes; log: Logger; batchWindowMs?: number }) {
    this.#search = options.search;
    this.#log = options.log;
    this.#batchWindowMs = options.batchWindowMs ?? 50;
  }

  /** The ids among `query.executionIds` that have a concluding fact. */
  async of(query: OutcomeQuery): Promise<ReadonlySet<string>> {
    const unknown = query.executionIds.filter((id) => !this.#known.has(id));
    if (unknown.length > 0) {
      const found = await this.#enqueue({ ...query, executionIds: unknown });
      for (const id of unknown) if (found.has(id)) this.#remember(id);
    }
    return new Set(query.executionIds.filter((id) => this.#known.has(id)));
  }

  #enqueue(query: OutcomeQuery): Promise<ReadonlySet<string>> {
    if (this.#batch === undefined) {
      const queries: OutcomeQuery[] = [];
      const result = new Promise<void>((resolve) => setTimeout(resolve, this.#batchWindowMs)).then(() =>
        this.#run(queries),
      );
      this.#batch = { queries, result };
    }
    this.#batch.queries.push(query);
    return this.#batch.result;
  }

  async #run(queries: readonly OutcomeQuery[]): Promise<ReadonlySet<string>> {
    this.#batch = undefined;
    const asked = queries.reduce((n, query) => n + query.executionIds.length, 0);
    try {
      const { concluded, complete } = await this.#search(queries);
      if (!complete)
        this.#log.warn(
          { asked, found: concluded.size },
          'the executions topic was not read to its end in time',
        );
      return concluded;
    } catch (error) {
      this.#log.warn({ err: error, asked }, 'could not search the executions topic for outcomes');
      return new Set();
    }
  }

  #remember(id: string): void {
    this.#known.add(id);
    if (this.#known.size > REMEMBERED) {
      const oldest = this.#known.values().next();
      if (oldest.done !== true) this.#known.delete(oldest.value);
    }
  }
}
