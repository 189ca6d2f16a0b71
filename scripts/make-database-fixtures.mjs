// Writes the databases the compatibility tests open with today's code
// (services/{alerts,history}/src/store/fixtures/*.sqlite.gz) using the code of ANOTHER checkout,
// built (its dist/ folders): the databases an earlier release left behind.
//
//   node scripts/make-database-fixtures.mjs <built checkout> <commit it is at>
//
// The fixtures in the repository were made from the main branch at ba7fec9 (2026-12-02), the
// last commit before the bookkeeping tables moved to libs/projection. Each database holds what
// a running service writes: consumer offsets, processed event ids, a dead letter and, for
// alerts, a rule, alerts, notifications and events waiting in the outboxes.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const [checkout, commit] = process.argv.slice(2);
if (checkout === undefined || commit === undefined) {
  process.stderr.write('usage: node scripts/make-database-fixtures.mjs <built checkout> <commit>\n');
  process.exit(2);
}
const root = resolve(checkout);
const from = (path) => import(join(root, path));
const { ManualClock, parseAlertRuleSpec } = await from('libs/domain/dist/index.js');
const T0 = Date.parse('2026-12-01T10:00:00Z');
const work = join(tmpdir(), `nono-fixtures-${process.pid}`);
mkdirSync(work, { recursive: true });
const encode = (event) => Buffer.from(JSON.stringify(event));

/** Closes the database (checkpointing its WAL into the file) and writes it gzipped beside the store. */
function keep(file, service) {
  const target = join('services', service, 'src/store/fixtures', `${service}-${commit}.sqlite.gz`);
  mkdirSync(join('services', service, 'src/store/fixtures'), { recursive: true });
  writeFileSync(target, gzipSync(readFileSync(file), { level: 9 }));
  process.stdout.write(`${target}\n`);
}

{
  const { openDatabase } = await from('services/alerts/dist/store/open-database.js');
  const { AlertStore } = await from('services/alerts/dist/store/alert-store.js');
  const { AlertEngine } = await from('services/alerts/dist/rules/alert-engine.js');
  const { BatchEvaluator } = await from('services/alerts/dist/consumer/batch-evaluator.js');
  const { defineTask, executionFact } = await from('services/alerts/dist/testing/facts.js');
  const file = join(work, 'alerts.sqlite');
  const open = openDatabase(file);
  const store = new AlertStore(open);
  const engine = new AlertEngine({ store, source: 'fixture', transitionMs: 2_000 });
  const evaluator = new BatchEvaluator(store, engine, new ManualClock(T0 + 60_000));
  const spec = parseAlertRuleSpec({
    name: 'pay fails',
    scope: { kind: 'label', selector: 'team:payments' },
    condition: { kind: 'failed' },
    channels: [{ kind: 'webhook', url: 'http://127.0.0.1:9/hook' }],
  });
  if (!spec.ok) throw new TypeError(JSON.stringify(spec.issues));
  engine.putRule('pay-fails', spec.value, null, T0);
  evaluator.evaluate('tasks', 0, [
    { offset: 0, value: encode(defineTask('pay', T0 + 1, { labels: { team: 'payments' } }).event) },
    { offset: 1, value: encode(defineTask('ship', T0 + 2).event) },
  ]);
  evaluator.evaluate('executions', 0, [
    { offset: 0, value: encode(executionFact('pay', T0 + 10_000, 'failed')) },
    { offset: 1, value: encode(executionFact('ship', T0 + 10_000, 'succeeded')) },
    { offset: 2, value: Buffer.from('not an event') },
    { offset: 3, value: encode(executionFact('pay', T0 + 20_000, 'failed')) },
  ]);
  evaluator.evaluate('executions', 1, [
    { offset: 0, value: encode(executionFact('ship', T0 + 20_000, 'succeeded')) },
  ]);
  open.close();
  keep(file, 'alerts');
}

{
  const { openDatabase } = await from('services/history/dist/store/open-database.js');
  const { ProjectionStore } = await from('services/history/dist/projector/projection-store.js');
  const { BatchProjector } = await from('services/history/dist/projector/batch-projector.js');
  const { generateStream } = await from('services/history/dist/testing/event-stream.js');
  const file = join(work, 'history.sqlite');
  const open = openDatabase(file);
  const projector = new BatchProjector(new ProjectionStore(open.db), new ManualClock(T0));
  const events = generateStream({ executions: 60, tasks: 3, seed: 7 });
  projector.project({
    topic: 'executions',
    partition: 0,
    records: [
      ...events.map((event, offset) => ({ offset, key: event.subject ?? null, value: encode(event) })),
      { offset: events.length, key: 'bad', value: Buffer.from('not an event') },
    ],
  });
  open.close();
  keep(file, 'history');
}
rmSync(work, { recursive: true, force: true });
