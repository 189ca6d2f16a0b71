import { type Clock, type TimerHandle } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { ApiError, ApiErrorCode } from '../errors.js';
import { type ForwardedResponse, type HistoryClient } from './history-client.js';
import {
  type ReplicaHealth,
  type ReplicaState,
  UNPROBED,
  judgeFailure,
  judgeReadiness,
  readOrder,
  summariseReplicas,
} from './replica-choice.js';

/** One replica as `GET /status` lists it. */
export interface HistoryReplicaStatus {
  /** Its 1-based position in NONO_HISTORY_URLS (what the `Nono-History-Replica` header names). */
  readonly replica: number;
  /** The name it reports for itself (NONO_HISTORY_REPLICA), once known. */
  readonly name?: string;
  readonly state: ReplicaState;
  readonly lag?: number;
  /** The next read goes to this replica first. */
  readonly readsHere: boolean;
  readonly detail: string;
  /** When the API last learnt its state (a probe or a request); absent before the first. */
  readonly checkedAt?: string;
}

export interface HistoryReplicaReport {
  readonly reachable: boolean;
  readonly detail: string;
  readonly replicas: readonly HistoryReplicaStatus[];
}

/** History as the routes and `/status` use it: reads with failover, and the replicas' states. */
export interface HistoryReads extends HistoryClient {
  /** Probes every replica now (concurrent callers share one probe) and reports them. */
  probe(): Promise<HistoryReplicaReport>;
}

export interface HistoryReplicasOptions {
  /** One client per replica, in the configured order. */
  readonly replicas: readonly HistoryClient[];
  readonly clock: Clock;
  readonly log: Logger;
  /** A replica further behind than this many records is not current. */
  readonly maxLag: number;
  /** How often `start` probes every replica. */
  readonly probeIntervalMs: number;
  /** How long a probe waits for a replica's /readyz. */
  readonly probeTimeoutMs: number;
}

/**
 * Reads from the history replicas, failing over between them (docs/ARCHITECTURE.md,
 * "History replicas"). Every replica's /readyz is probed on a timer; each read tries the
 * replicas in `readOrder` and moves on to the next when one does not answer, times out,
 * fails (5xx) or refuses the API's token, marking it down until a probe finds it answering
 * again. Every history route is a GET, so a read tried twice changes nothing. Reads stick to
 * the replica that answered the last one while it stays current.
 */
export class HistoryReplicas implements HistoryReads {
  readonly #options: HistoryReplicasOptions;
  readonly #health: ReplicaHealth[];
  readonly #checkedAt: (number | undefined)[];
  /** The replica that answered the last read. */
  #sticky: number | undefined;
  #probing: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(options: HistoryReplicasOptions) {
    if (options.replicas.length === 0) throw new RangeError('HistoryReplicas: no replica');
    this.#options = options;
    this.#health = options.replicas.map(() => UNPROBED);
    this.#checkedAt = options.replicas.map(() => undefined);
  }

  async get(
    pathAndQuery: string,
    options: { actor?: string; timeoutMs?: number } = {},
  ): Promise<ForwardedResponse> {
    const order = readOrder(this.#health, this.#sticky);
    let refused: ForwardedResponse | undefined;
    let unavailable: ApiError | undefined;
    for (const index of order) {
      const client = this.#options.replicas[index];
      if (client === undefined) continue;
      let response: ForwardedResponse;
      try {
        response = await client.get(pathAndQuery, options);
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== ApiErrorCode.HistoryUnavailable) throw error;
        unavailable = error;
        this.#failed(index, error.message, order);
        continue;
      }
      // A failure of this replica, not an answer about the data: another replica may answer.
      if (response.status >= 500 || response.status === 401 || response.status === 403) {
        refused = { ...response, replica: index + 1 };
        this.#failed(index, `answered a read with ${response.status}`, order);
        continue;
      }
      this.#answered(index);
      return { ...response, replica: index + 1 };
    }
    // Every replica failed: the last refusal says more than a connection error (the route maps it to 502).
    if (refused !== undefined) return refused;
    throw unavailable ?? new ApiError(ApiErrorCode.HistoryUnavailable, 'the history service did not answer');
  }

  probe(): Promise<HistoryReplicaReport> {
    this.#probing ??= this.#probeAll().finally(() => {
      this.#probing = undefined;
    });
    return this.#probing.then(() => this.report());
  }

  /** What the API knows of every replica now, without probing. */
  report(): HistoryReplicaReport {
    const readsTo = readOrder(this.#health, this.#sticky)[0];
    return {
      ...summariseReplicas(this.#health, readsTo),
      replicas: this.#health.map((health, index) => {
        const checkedAt = this.#checkedAt[index];
        return {
          replica: index + 1,
          ...(health.name === undefined ? {} : { name: health.name }),
          state: health.state,
          ...(health.lag === undefined ? {} : { lag: health.lag }),
          readsHere: index === readsTo,
          detail: health.detail,
          ...(checkedAt === undefined ? {} : { checkedAt: new Date(checkedAt).toISOString() }),
        };
      }),
    };
  }

  /** Probes every replica now and then every `probeIntervalMs` until `stop`. */
  start(): void {
    const tick = (): void => {
      void this.probe().finally(() => {
        if (!this.#stopped) this.#timer = this.#options.clock.setTimer(tick, this.#options.probeIntervalMs);
      });
    };
    tick();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimer(this.#timer);
  }

  async #probeAll(): Promise<void> {
    const { replicas, maxLag, probeTimeoutMs } = this.#options;
    await Promise.all(
      replicas.map(async (client, index) => {
        const previous = this.#health[index] ?? UNPROBED;
        let next: ReplicaHealth;
        try {
          const response = await client.get('/readyz', { timeoutMs: probeTimeoutMs });
          next = judgeReadiness(response.status, parseJson(response.body), maxLag, previous);
        } catch {
          next = judgeFailure(previous, 'did not answer its readiness probe');
        }
        this.#update(index, next);
      }),
    );
  }

  #answered(index: number): void {
    if (this.#sticky !== index && this.#sticky !== undefined)
      this.#options.log.warn(
        { from: this.#sticky + 1, to: index + 1 },
        'history reads moved to another replica',
      );
    this.#sticky = index;
  }

  #failed(index: number, detail: string, order: readonly number[]): void {
    const next = order[order.indexOf(index) + 1];
    this.#options.log.warn(
      { replica: index + 1, detail, next: next === undefined ? undefined : next + 1 },
      next === undefined
        ? 'history replica failed a read; no replica left to try'
        : 'history replica failed a read; trying the next',
    );
    this.#update(index, judgeFailure(this.#health[index] ?? UNPROBED, detail));
  }

  #update(index: number, next: ReplicaHealth): void {
    const previous = this.#health[index];
    if (previous !== undefined && previous.state !== next.state && previous.state !== 'unknown')
      this.#options.log.info(
        { replica: index + 1, name: next.name, from: previous.state, to: next.state, detail: next.detail },
        'history replica changed state',
      );
    this.#health[index] = next;
    this.#checkedAt[index] = this.#options.clock.now();
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
