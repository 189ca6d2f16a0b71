import { type Clock } from '@nono/domain';
import { type Readiness } from '@nono/runtime';
import { type HistoryReads, type HistoryReplicaStatus } from '../history/history-replicas.js';

/** One backend as the API sees it: reachable or not, and a short reason to show a person. */
export interface BackendState {
  readonly reachable: boolean;
  readonly detail: string;
}

export interface BackendReport {
  readonly checkedAt: string;
  readonly zookeeper: BackendState;
  readonly kafka: BackendState;
  /** Reachable when some history replica answers; the detail says where reads go. */
  readonly history: BackendState;
  /** Every history replica (NONO_HISTORY_URLS, or the one NONO_HISTORY_URL) and its state. */
  readonly historyReplicas: readonly HistoryReplicaStatus[];
}

/** Answers whether the Kafka cluster responds; never throws. Wired in main.ts. */
export type KafkaProbe = () => Promise<BackendState>;

export const KAFKA_NOT_PROBED: KafkaProbe = () =>
  Promise.resolve({ reachable: true, detail: 'not probed by this process' });

/**
 * The state of ZooKeeper, Kafka and history (each replica) for the UI's banner and overview.
 * Probes run at most once per `maxAgeMs` however many clients poll (every open UI refreshes
 * on its own), and concurrent callers share the probe in flight, so the status route cannot
 * amplify load onto a backend that is already struggling.
 */
export class BackendStatus {
  readonly #readiness: () => Readiness;
  readonly #history: Pick<HistoryReads, 'probe'>;
  readonly #kafka: KafkaProbe;
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  #last: { at: number; report: BackendReport } | undefined;
  #inFlight: Promise<BackendReport> | undefined;

  constructor(options: {
    readiness: () => Readiness;
    history: Pick<HistoryReads, 'probe'>;
    kafka?: KafkaProbe;
    clock: Clock;
    maxAgeMs?: number;
  }) {
    this.#readiness = options.readiness;
    this.#history = options.history;
    this.#kafka = options.kafka ?? KAFKA_NOT_PROBED;
    this.#clock = options.clock;
    this.#maxAgeMs = options.maxAgeMs ?? 3_000;
  }

  report(): Promise<BackendReport> {
    const now = this.#clock.now();
    if (this.#last !== undefined && now - this.#last.at < this.#maxAgeMs)
      return Promise.resolve(this.#last.report);
    this.#inFlight ??= this.#probe(now).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #probe(now: number): Promise<BackendReport> {
    const [kafka, history] = await Promise.all([this.#kafka(), this.#history.probe()]);
    const readiness = this.#readiness();
    const zkState = readiness.detail['zookeeper'];
    const report: BackendReport = {
      checkedAt: new Date(now).toISOString(),
      zookeeper: {
        reachable: readiness.ready,
        detail:
          typeof zkState === 'string'
            ? `session ${zkState}`
            : readiness.ready
              ? 'connected'
              : 'not connected',
      },
      kafka,
      history: { reachable: history.reachable, detail: history.detail },
      historyReplicas: history.replicas,
    };
    this.#last = { at: now, report };
    return report;
  }
}
