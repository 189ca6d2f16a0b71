/**
 * The alerts engine alone, without Kafka: 10,000 task definitions and 1,000 rules (400
 * label-scoped over 40 teams, 590 task-scoped, 10 on everything; conditions mixed: failed,
 * timed-out, lost, skipped, consecutive-failures), then a stream of execution facts (80 %
 * succeeded, 15 % failed, 5 % other) fed to the BatchEvaluator in chunks of 1,000 records
 * into a SQLite file (WAL, synchronous=NORMAL: the service's settings). Then the dead-man
 * check: one dead-man rule over all 10,000 tasks firing every 10 s, checked every 10 s of
 * simulated time; CPU per check.
 *   npx tsx --conditions source bench/alerts/evaluate-in-process.ts [events] [dead-man checks]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, type NonoEvent, parseAlertRuleSpec } from '@nono/domain';
import { BatchEvaluator } from '../../services/alerts/src/consumer/batch-evaluator.js';
import { AlertEngine } from '../../services/alerts/src/rules/alert-engine.js';
import { AlertStore } from '../../services/alerts/src/store/alert-store.js';
import { openDatabase } from '../../services/alerts/src/store/open-database.js';
import { RULES, TASKS, definitionOf, factOf, ruleInput, taskIds } from './workload.js';

const eventCount = Number(process.argv[2] ?? '200000');
const deadManChecks = Number(process.argv[3] ?? '6');
const T0 = Date.parse('2026-12-01T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'nono-alerts-bench-'));
const database = openDatabase(join(dir, 'alerts.sqlite'));
const store = new AlertStore(database);
const clock = new ManualClock(T0);
const engine = new AlertEngine({ store, source: 'bench', transitionMs: 2_000 });
const evaluator = new BatchEvaluator(store, engine, clock);

const spec = (input: Record<string, unknown>) => {
  const parsed = parseAlertRuleSpec(input);
  if (!parsed.ok) throw new TypeError(JSON.stringify(parsed.issues));
  return parsed.value;
};
const CHANNELS = [{ kind: 'webhook', url: 'http://127.0.0.1:9/' }];
for (let i = 0; i < RULES; i++) engine.putRule(`rule-${i}`, spec(ruleInput(i, CHANNELS)), null, T0);
const encode = (event: NonoEvent) => Buffer.from(JSON.stringify(event));
let offset = 0;
const definitions = taskIds.map((_, i) => ({ offset: offset++, value: encode(definitionOf(i, T0 + 1)) }));
for (let i = 0; i < definitions.length; i += 1_000)
  evaluator.evaluate('tasks', 0, definitions.slice(i, i + 1_000));

// The facts, encoded up front (as Kafka hands them over).
const records = Array.from({ length: eventCount }, (_, i) => ({
  offset: offset++,
  value: encode(factOf(i, T0)),
}));
const start = performance.now();
const cpuStart = process.cpuUsage();
for (let i = 0; i < records.length; i += 1_000)
  evaluator.evaluate('executions', 0, records.slice(i, i + 1_000));
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const open = store.listAlerts({ state: 'open', limit: 1_000_000 }).length;

// Dead-man: one rule over every task (each every 10 s), checked every 10 s past the facts above.
engine.putRule(
  'dead-man',
  spec({
    name: 'bench',
    scope: { kind: 'all' },
    condition: { kind: 'dead-man', graceMs: 5_000 },
    channels: CHANNELS,
  }),
  null,
  T0,
);
const lastFacts = T0 + 10_000 * (1 + Math.floor((eventCount - 1) / TASKS));
const checkCpuMs: number[] = [];
let missed = 0;
for (let k = 1; k <= deadManChecks; k++) {
  const before = process.cpuUsage();
  missed += engine.checkDeadMen(lastFacts + k * 10_000);
  const used = process.cpuUsage(before);
  checkCpuMs.push((used.user + used.system) / 1000);
}
database.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    events: eventCount,
    tasks: TASKS,
    rules: RULES,
    seconds: Number(seconds.toFixed(2)),
    eventsPerSecond: Math.round(eventCount / seconds),
    cpuSeconds: Number(cpuSeconds.toFixed(2)),
    eventsPerCpuSecond: Math.round(eventCount / cpuSeconds),
    openAlerts: open,
    deadManCheckCpuMs: checkCpuMs.map((ms) => Math.round(ms)),
    deadManMissed: missed,
  }),
);
