/**
 * The alerts service end to end: a built alerts process reading facts from Kafka, with
 * 10,000 task definitions and 1,000 rules (workload.ts; each notifies a
 * real webhook receiver, the tests' receiver process, which accepts every request), until it has
 * evaluated a backlog of `events` execution facts. The rules are created through its HTTP
 * API first (a rule holds no fact older than itself against a task), then the service is
 * stopped, the definitions and facts are published, and the service is started again on its
 * database: from its first evaluated record to its last, records per second, and the CPU the
 * process used (utime + stime of /proc/<pid>/stat, Linux). Private topics, removed at the end.
 *   npx turbo run build --filter=@nono/alerts && npx tsx --conditions source bench/alerts/end-to-end.ts [events]
 */
import { readFileSync } from 'node:fs';
import { type NonoEvent } from '@nono/domain';
import { createKafka } from '@nono/events';
import {
  type AlertsProcess,
  putRule,
  startAlertsProcess,
  startWebhookReceiver,
} from '../../tests/support/alerts.js';
import { createIsolatedTopics, dropIsolation, isolateOn } from '../../tests/support/isolation.js';
import { RULES, TASKS, definitionOf, factOf, ruleInput } from './workload.js';

const eventCount = Number(process.argv[2] ?? '100000');
const iso = await isolateOn(
  'bench-alerts-e2e',
  process.env['NONO_ZK_CONNECT'] ?? '127.0.0.1:2181',
  process.env['NONO_KAFKA_BROKERS'] ?? '127.0.0.1:9092',
);
await createIsolatedTopics(iso, 6);
const env = { NONO_LOG_LEVEL: 'warn', NONO_ALERTS_DEAD_MAN_CHECK_MS: '600000' };
// Every opened alert notifies a real receiver that accepts it, as a deployment's channel would.
const receiver = await startWebhookReceiver();
let alerts: AlertsProcess | undefined = await startAlertsProcess(iso, { env });
const producer = createKafka({ brokers: iso.kafkaBrokers, clientId: `bench-${iso.name}` }).producer();

/** CPU seconds a process has used so far (user + system). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Records the service has evaluated, from its /metrics. */
async function evaluated(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^nono_alerts_events_evaluated_total\{[^}]*\} (\d+)/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

try {
  // The rules of the workload, through the API.
  const url = alerts.url;
  const channels = [{ kind: 'webhook', url: `${receiver.url}/hook` }];
  for (let from = 0; from < RULES; from += 50)
    await Promise.all(
      Array.from({ length: 50 }, (_, k) => putRule(url, `rule-${from + k}`, ruleInput(from + k, channels))),
    );
  await alerts.kill('SIGTERM');
  const dbFile = alerts.dbFile;
  alerts = undefined;

  // The backlog, dated after the rules.
  const T0 = Date.now() + 1_000;
  await producer.connect();
  const send = async (topic: string, events: readonly NonoEvent[]): Promise<void> => {
    await producer.send({
      topic,
      messages: events.map((event) => ({ key: event.subject, value: JSON.stringify(event) })),
    });
  };
  for (let from = 0; from < TASKS; from += 1_000)
    await send(
      iso.topics.tasks,
      Array.from({ length: 1_000 }, (_, k) => definitionOf(from + k, T0)),
    );
  for (let from = 0; from < eventCount; from += 1_000)
    await send(
      iso.topics.executions,
      Array.from({ length: Math.min(1_000, eventCount - from) }, (_, k) => factOf(from + k, T0)),
    );
  const total = TASKS + eventCount;

  const started = Date.now();
  alerts = await startAlertsProcess(iso, {
    dbFile,
    env: {
      ...env,
      ...(process.env['BENCH_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['BENCH_NODE_OPTIONS'] } : {}),
    },
  });
  const pid = alerts.child.pid ?? 0;
  const running = alerts;
  // Polled every 250 ms: each look at /metrics costs the service a little CPU of its own.
  const when = async (reached: (count: number) => boolean): Promise<{ at: number; cpu: number }> => {
    const deadline = Date.now() + 600_000;
    for (;;) {
      const count = await evaluated(running.url);
      if (reached(count)) return { at: Date.now(), cpu: cpuSecondsOf(pid) };
      if (Date.now() > deadline)
        throw new Error(`only ${count} of ${total} records evaluated after 10 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  const first = await when((count) => count > 0);
  const done = await when((count) => count >= total);
  const seconds = (done.at - first.at) / 1000;
  console.log(
    JSON.stringify({
      records: total,
      facts: eventCount,
      rules: RULES,
      fromStartS: Number(((done.at - started) / 1000).toFixed(2)),
      seconds: Number(seconds.toFixed(2)),
      recordsPerSecond: Math.round(total / seconds),
      cpuSeconds: Number((done.cpu - first.cpu).toFixed(2)),
      recordsPerCpuSecond: Math.round(total / (done.cpu - first.cpu)),
      processCpuSeconds: done.cpu,
    }),
  );
} finally {
  await producer.disconnect();
  await alerts?.kill('SIGTERM');
  await receiver.process.kill();
  await dropIsolation(iso);
}
