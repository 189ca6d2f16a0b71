import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The projector's Prometheus metrics, registered once per registry. */
export class ProjectorMetrics {
  readonly projected: Counter<'topic'>;
  readonly duplicates: Counter<'topic'>;
  readonly deadLetters: Counter<'topic'>;
  readonly batchSeconds: Histogram;
  readonly lag: Gauge<'topic' | 'partition'>;

  constructor(registry: Registry) {
    this.projected = new Counter({
      name: 'nono_history_events_projected_total',
      help: 'Events projected into the history database',
      labelNames: ['topic'],
      registers: [registry],
    });
    this.duplicates = new Counter({
      name: 'nono_history_duplicate_events_total',
      help: 'Events dropped because their id was already projected',
      labelNames: ['topic'],
      registers: [registry],
    });
    this.deadLetters = new Counter({
      name: 'nono_history_dead_letters_total',
      help: 'Records that could not be projected (bad JSON, schema, unknown type or version)',
      labelNames: ['topic'],
      registers: [registry],
    });
    this.batchSeconds = new Histogram({
      name: 'nono_history_batch_duration_seconds',
      help: 'Time to project one batch in one SQLite transaction',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.lag = new Gauge({
      name: 'nono_history_consumer_lag',
      help: 'Records in Kafka not yet projected, per partition',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    });
  }
}
