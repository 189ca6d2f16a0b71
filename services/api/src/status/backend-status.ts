import { type Clock } from '@nono/domain';
import { type Readiness } from '@nono/runtime';
import { type HistoryClient } from '../history/history-client.js';

/** One backend as the API sees it: reachable or not, and a short reason to show a person. */
export interface BackendState {
  readonly reachable: boolean;
  readonly detail: string;
}

export interface BackendReport {
  readonly checkedAt: string;
  readonly zookeeper: BackendState;
  readonly kafka: BackendState;
  readonly history: BackendState;
}

/** Answers whether the Kafka cluster responds; never throws. Wired in main.ts. */
export type KafkaProbe = () => Promise<BackendState>;

export const KAFKA_NOT_PROBED: KafkaProbe = () =>
  Promise.resolve({ reachable: true, detail: 'not probed by this process' });

/**
 * The state of ZooKeeper, Kafka and history for the UI's banner. Probes run at most once
 * per `maxAgeMs` however many clients poll (every open UI refreshes on its own), and
 * concurrent callers share the probe in flight, so the status route cannot amplify load
 * onto a backend that is already struggling.
 */
export class BackendStatus {
  readonly #readiness: () => Readiness;
  readonly #history: HistoryClient;
  readonly #kafka: KafkaProbe;
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  #last: { at: number; report: BackendReport } | undefined;
  #inFlight: Promise<BackendReport> | undefined;

  constructor(options: {
    readiness: () => Readiness;
    history: HistoryClient;
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
    const [kafka, history] = await Promise.all([this.#kafka(), this.#probeHistory()]);
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
      history,
    };
    this.#last = { at: now, report };
    return report;
  }

  async #probeHistory(): Promise<BackendState> {
    try {
      const response = await this.#history.get('/readyz');
      if (response.status === 200) return { reachable: true, detail: 'ready' };
      // Reachable but behind on its Kafka topics (or starting): answers are stale, not absent.
      const lag = readLag(response.body);
      return {
        reachable: true,
        detail: lag === undefined ? `not ready (${response.status})` : `catching up, ${lag} events behind`,
      };
    } catch {
      return { reachable: false, detail: 'the history service did not answer' };
    }
  }
}

function readLag(body: Buffer): number | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { lag?: unknown };
    return typeof parsed.lag === 'number' ? parsed.lag : undefined;
  } catch {
    return undefined;
  }
}
