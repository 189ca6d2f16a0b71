import {
  type NonoEvent,
  ManualClock,
  type SchedulerTask,
  createTask,
  parseTaskSpec,
  reviseTask,
  taskSpecOf,
} from '@nono/domain';
import { EventPublisher, createKafka } from '@nono/events';
import { createLogger } from '@nono/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedEvent, definedEvent } from '@nono/domain';
import { MAX_BATCH_BYTES, MAX_ENTRIES_PER_PASS, OutboxRelay } from './audit/outbox-relay.js';
import { eventually } from '../../../tests/support/fixtures.js';
import { type Harness, auditEvent, auth, sampleTask, startHarness } from './testing/harness.js';

/**
 * The outbox under crashes: a writer that dies between staging its event and committing
 * it is simulated by calling the outbox and ZooKeeper directly, step by step.
 */
describe('audit outbox (real ZooKeeper and Kafka, manual clock)', () => {
  const ORPHAN_AFTER_MS = 30_000;
  const clock = new ManualClock('2026-06-01T00:00:00Z');
  const context = {
    actor: { id: 'admin:crashtest', kind: 'token' as const },
    source: 'nono://api/crashed',
    now: clock.now(),
  };
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-outbox', { clock, orphanAfterMs: ORPHAN_AFTER_MS });
  });
  afterAll(async () => {
    await h?.close();
  });

  const outboxEntries = () => h.zk.children(`${h.layout.root}/outbox`);

  function newTask(id: string): SchedulerTask {
    const { id: _id, ...body } = sampleTask(id);
    const spec = parseTaskSpec(body, clock.now());
    if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
    return createTask(id, spec.value, clock.now());
  }

  async function createViaApi(id: string): Promise<SchedulerTask> {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tasks',
      headers: auth('admin'),
      payload: sampleTask(id),
    });
    expect(response.statusCode).toBe(201);
    return response.json<SchedulerTask>();
  }

  /** Lets the orphan grace period pass and runs the relay to completion. */
  async function afterGracePeriod(): Promise<void> {
    clock.advance(ORPHAN_AFTER_MS + 1);
    await h.relay.drain();
  }

  it('publishes the event of a change whose writer crashed after the ZooKeeper write', async () => {
    const before = await createViaApi('crash-after');
    await auditEvent(h, (e) => e.subject === 'crash-after' && e.type === 'nono.task.defined.v1', 'defined');
    const after = reviseTask(before, { ...taskSpecOf(before), name: 'written, then crashed' }, clock.now());
    const event = changedEvent('nono.task.updated.v1', before, after, context);
    await h.outbox.stage(event);
    await h.zk.set(h.layout.task('crash-after'), JSON.stringify(after), 0);
    // ...and the process dies here, before committing the entry.

    await h.relay.drain();
    expect(await outboxEntries()).toHaveLength(1); // still in its grace period: the writer might be alive
    await afterGracePeriod();
    const published = await auditEvent(h, (e) => e.id === event.id, 'the orphaned update');
    expect(published.data).toMatchObject({ revision: 2, actor: context.actor });
    expect(await outboxEntries()).toEqual([]);
  });

  it('drops the event of a change that never reached ZooKeeper', async () => {
    const task = newTask('crash-before');
    const event = definedEvent(task, context);
    await h.outbox.stage(event);
    // ...the process dies before creating the task.
    await afterGracePeriod();
    expect(await outboxEntries()).toEqual([]);
    // A later, real change of another task is published, so the stream has moved past the dropped one.
    await createViaApi('crash-before-witness');
    await auditEvent(h, (e) => e.subject === 'crash-before-witness', 'witness');
    expect(h.audit.find((e) => e.id === event.id)).toBeUndefined();
  });

  it('drops a crashed writer that lost the race for its revision, and keeps per-task order behind an undecided entry', async () => {
    const v1 = await createViaApi('crash-race');
    const loser = reviseTask(v1, { ...taskSpecOf(v1), name: 'loser' }, clock.now());
    const loserEvent = changedEvent('nono.task.updated.v1', v1, loser, context);
    await h.outbox.stage(loserEvent);
    // The loser dies before its CAS; meanwhile two admins change the task through the API.
    const winner = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/tasks/crash-race',
      headers: auth('admin'),
      payload: { name: 'winner' },
    });
    expect(winner.statusCode).toBe(200);
    const third = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/tasks/crash-race',
      headers: auth('admin'),
      payload: { name: 'third' },
    });
    expect(third.statusCode).toBe(200);
    await h.relay.drain();
    // The committed updates wait behind the undecided entry of the same task.
    expect(h.audit.filter((e) => e.subject === 'crash-race' && e.type === 'nono.task.updated.v1')).toEqual(
      [],
    );

    await afterGracePeriod();
    const names = await (async () => {
      await auditEvent(
        h,
        (e) => e.subject === 'crash-race' && (e.data as { revision: number }).revision === 3,
        'the third revision',
      );
      return h.audit
        .filter(
          (e): e is Extract<NonoEvent, { type: 'nono.task.updated.v1' }> =>
            e.subject === 'crash-race' && e.type === 'nono.task.updated.v1',
        )
        .map((e) => e.data.after.name);
    })();
    expect(names).toEqual(['winner', 'third']);
    expect(
      h.audit.find(
        (e) => e.id === loserEvent.id && (e.data as { after?: { name: string } }).after?.name === 'loser',
      ),
    ).toBeUndefined();
  });

  it('stages the event again when a relay dropped the entry of a writer slower than the grace period', async () => {
    const task = newTask('slow-writer');
    const staged = await h.outbox.stage(definedEvent(task, context));
    await afterGracePeriod(); // judged an orphan: the task does not exist yet, so the entry is dropped
    expect(await outboxEntries()).toEqual([]);
    await h.zk.create(h.layout.task('slow-writer'), JSON.stringify(task)); // ...then the slow write lands
    await h.outbox.commit(staged);
    const published = await auditEvent(h, (e) => e.id === staged.event.id, 'the re-staged event');
    expect(published.type).toBe('nono.task.defined.v1');
  });

  it('keeps entries while Kafka refuses them and publishes them once it accepts', async () => {
    const published: NonoEvent[] = [];
    let failures = 2;
    const flaky = new OutboxRelay({
      zk: h.zk,
      layout: h.layout,
      clock,
      log: createLogger('flaky-relay', 'silent'),
      orphanAfterMs: ORPHAN_AFTER_MS,
      retryMs: 1_000,
      publisher: {
        publish: (events) => {
          if (events.length > 0 && failures-- > 0) return Promise.reject(new Error('broker unavailable'));
          published.push(...events);
          return Promise.resolve();
        },
      },
    });
    await h.relay.stop(); // only the flaky relay works the outbox from here on
    const task = newTask('kafka-down');
    const staged = await h.outbox.stage(definedEvent(task, context));
    await h.zk.create(h.layout.task('kafka-down'), JSON.stringify(task));
    await h.outbox.commit(staged);

    await flaky.drain();
    expect(await outboxEntries()).toHaveLength(1);
    clock.advance(1_000); // the retry timer runs a pass, which fails once more
    await flaky.drain();
    expect(published.map((e) => e.id)).toEqual([staged.event.id]);
    expect(await outboxEntries()).toEqual([]);
    await flaky.stop();
  });

  // Regression: one pass used to read the whole outbox and send it to Kafka as one batch,
  // which the broker refuses above 1 MiB, on every retry: a relay that fell a few thousand
  // entries behind never caught up (10,000 creates left 6,000-10,000 entries behind for good).
  it('drains a backlog larger than a pass and than a Kafka batch, in order per task', async () => {
    await h.relay.stop();
    const kafka = createKafka({ brokers: h.iso.kafkaBrokers, clientId: `backlog-${h.iso.name}` });
    const publisher = new EventPublisher(kafka, h.iso.topics);
    const relay = new OutboxRelay({
      zk: h.zk,
      layout: h.layout,
      publisher,
      clock,
      log: createLogger('backlog-relay', 'silent'),
      orphanAfterMs: ORPHAN_AFTER_MS,
    });
    try {
      const TASKS = 8;
      const REVISIONS = Math.ceil((MAX_ENTRIES_PER_PASS * 2.5) / TASKS);
      const chains = Array.from({ length: TASKS }, (_, t) => {
        let current = newTask(`backlog-${t}`);
        return Array.from({ length: REVISIONS }, (_unused, r) => {
          const description = `revision ${r + 2} `.padEnd(2_000, '.');
          const next = reviseTask(current, { ...taskSpecOf(current), description }, clock.now());
          const event = changedEvent('nono.task.updated.v1', current, next, context);
          current = next;
          return event;
        });
      });
      // Interleaved across tasks, each task's revisions in order, staged and committed.
      const events = Array.from({ length: REVISIONS }, (_, r) =>
        chains.map((chain) => chain[r] as NonoEvent),
      ).flat();
      const staged = [];
      for (const event of events) staged.push(await h.outbox.stage(event));
      for (let i = 0; i < staged.length; i += 100)
        await Promise.all(staged.slice(i, i + 100).map((entry) => h.outbox.commit(entry)));
      const backlogBytes = events.reduce((sum, event) => sum + JSON.stringify(event).length, 0);
      expect(events.length).toBeGreaterThan(2 * MAX_ENTRIES_PER_PASS);
      expect(backlogBytes).toBeGreaterThan(4 * MAX_BATCH_BYTES);

      await relay.drain();
      expect(await outboxEntries()).toEqual([]);
      const ids = new Set(events.map((event) => event.id));
      const seen = await eventually(
        () => {
          const got = h.audit.filter((event) => ids.has(event.id));
          return got.length >= ids.size ? got : undefined;
        },
        30_000,
        'every backlog event on the topic',
      );
      for (let t = 0; t < TASKS; t++) {
        const revisions = seen
          .filter((event) => event.subject === `backlog-${t}`)
          .map((event) => (event.data as { revision: number }).revision);
        expect(revisions).toEqual(Array.from({ length: REVISIONS }, (_, r) => r + 2));
      }
    } finally {
      await relay.stop();
      await publisher.disconnect();
    }
  }, 120_000);
});
