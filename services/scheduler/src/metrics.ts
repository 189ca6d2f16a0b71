import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The scheduler's Prometheus metrics, created once per process. */
export function createSchedulerMetrics(registry: Registry) {
  return {
    fires: new Counter({
      name: 'nono_fires_total',
      help: 'Worker calls started, by why they ran',
      labelNames: ['reason'],
      registers: [registry],
    }),
    outcomes: new Counter({
      name: 'nono_execution_outcomes_total',
      help: 'Attempt outcomes',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    lateness: new Histogram({
      name: 'nono_fire_lateness_seconds',
      help: 'Fired minus nominal instant (jitter excluded), first attempts',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'nono_worker_call_seconds',
      help: 'Worker call duration',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    ownedTasks: new Gauge({
      name: 'nono_owned_tasks',
      help: 'Tasks this scheduler owns',
      registers: [registry],
    }),
    fenceConflicts: new Counter({
      name: 'nono_fence_conflicts_total',
      help: 'Fires refused by the fence (someone else fired)',
      registers: [registry],
    }),
    lost: new Counter({
      name: 'nono_executions_lost_total',
      help: 'Executions of dead schedulers marked lost',
      registers: [registry],
    }),
    spoolDepth: new Gauge({
      name: 'nono_event_spool_depth',
      help: 'Events not yet acknowledged by Kafka',
      registers: [registry],
    }),
    behind: new Gauge({
      name: 'nono_scheduler_behind_seconds',
      help: 'Largest delay between a claimed instant and its start over the last 10-20 s (overload shows here first)',
      registers: [registry],
    }),
    spoolWritable: new Gauge({
      name: 'nono_event_spool_writable',
      help: '1 while events can be made durable; 0 while spool writes fail (no claims then)',
      registers: [registry],
    }),
    spoolWriteFailures: new Counter({
      name: 'nono_event_spool_write_failures_total',
      help: 'Times spool writes started failing',
      registers: [registry],
    }),
    eventsDelivered: new Counter({
      name: 'nono_events_delivered_total',
      help: 'Events acknowledged by Kafka',
      registers: [registry],
    }),
    zkSession: new Gauge({
      name: 'nono_zookeeper_session_state',
      help: '1 connected, 0.5 suspended, 0 otherwise',
      registers: [registry],
    }),
    isLeader: new Gauge({
      name: 'nono_scheduler_leader',
      help: '1 when this scheduler writes the assignment',
      registers: [registry],
    }),
  };
}

export type SchedulerMetrics = ReturnType<typeof createSchedulerMetrics>;
