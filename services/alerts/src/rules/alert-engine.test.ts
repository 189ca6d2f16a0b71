import { type AlertRuleSpec, ManualClock, type NonoEvent, parseAlertRuleSpec } from '@nono/domain';
import { beforeEach, describe, expect, it } from 'vitest';
import { BatchEvaluator } from '../consumer/batch-evaluator.js';
import { AlertStore } from '../store/alert-store.js';
import { type OpenDatabase, openDatabase } from '../store/open-database.js';
import { clusterFacts, defineTask, executionFact } from '../testing/facts.js';
import { AlertEngine, type NotificationContent } from './alert-engine.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const WEBHOOK = { kind: 'webhook', url: 'http://127.0.0.1:9/hook' };

function spec(input: Record<string, unknown>): AlertRuleSpec {
  const parsed = parseAlertRuleSpec({
    name: 'test rule',
    scope: { kind: 'all' },
    channels: [WEBHOOK],
    ...input,
  });
  if (!parsed.ok) throw new TypeError(JSON.stringify(parsed.issues));
  return parsed.value;
}

describe('AlertEngine', () => {
  let open: OpenDatabase;
  let store: AlertStore;
  let engine: AlertEngine;
  let clock: ManualClock;
  let offset: number;
  let clusterOffset: number;
  let evaluator: BatchEvaluator;

  beforeEach(() => {
    open = openDatabase(':memory:');
    store = new AlertStore(open);
    clock = new ManualClock(T0);
    engine = new AlertEngine({ store, source: 'nono://alerts/test', transitionMs: 2_000 });
    evaluator = new BatchEvaluator(store, engine, clock);
    offset = 0;
    clusterOffset = 0;
  });

  const feed = (...events: NonoEvent[]): void => {
    evaluator.evaluate(
      'executions',
      0,
      events.map((event) => ({ offset: offset++, value: Buffer.from(JSON.stringify(event)) })),
    );
  };
  const feedCluster = (...events: NonoEvent[]): void => {
    evaluator.evaluate(
      'cluster',
      0,
      events.map((event) => ({ offset: clusterOffset++, value: Buffer.from(JSON.stringify(event)) })),
    );
  };
  const notified = (): NotificationContent[] =>
    open.sqlite
      .prepare<[], { content: string }>('SELECT content FROM notifications ORDER BY id')
      .all()
      .map((row) => JSON.parse(row.content) as NotificationContent);
  /** Alert transitions in the event outbox (rule changes, also there, have a test of their own). */
  const eventTypes = (): string[] =>
    store
      .pendingEvents(1000)
      .map((row) => (JSON.parse(row.json) as NonoEvent).type)
      .filter((type) => type.startsWith('nono.alert.'));

  it('opens an alert when an execution fails after its last attempt, and a later success resolves it', () => {
    engine.putRule('on-failure', spec({ condition: { kind: 'failed' } }), null, T0);
    feed(defineTask('pay', T0).event);
    feed(executionFact('pay', T0 + 10_000, 'retrying-failure'));
    expect(store.listAlerts({ limit: 10 })).toEqual([]);
    feed(executionFact('pay', T0 + 10_000, 'failed', T0 + 12_000, 2));
    const [alert] = store.listAlerts({ state: 'open', limit: 10 });
    expect(alert).toMatchObject({ ruleId: 'on-failure', taskId: 'pay', condition: 'failed', state: 'open' });
    feed(executionFact('pay', T0 + 20_000, 'succeeded'));
    expect(store.findAlert(alert?.id ?? '')).toMatchObject({ state: 'resolved', resolveReason: 'cleared' });
    expect(notified().map((n) => [n.transition, n.idempotencyKey])).toEqual([
      ['opened', `on-failure:pay:${alert?.id}:opened`],
      ['resolved', `on-failure:pay:${alert?.id}:resolved`],
    ]);
    expect(eventTypes()).toEqual(['nono.alert.opened.v1', 'nono.alert.resolved.v1']);
  });

  it('counts recurrences on the open alert and re-notifies at most every renotifyEveryMs', () => {
    engine.putRule('r', spec({ condition: { kind: 'failed' }, renotifyEveryMs: 60_000 }), null, T0);
    for (let i = 0; i < 10; i++) feed(executionFact('pay', T0 + i * 10_000, 'failed'));
    const [alert] = store.listAlerts({ limit: 10 });
    expect(alert).toMatchObject({ occurrences: 10, notifications: 2 });
    expect(notified().map((n) => n.transition)).toEqual(['opened', 'renotified']);
  });

  it.each([
    [{ kind: 'timed-out' }, 'timed-out', true],
    [{ kind: 'lost' }, 'lost', true],
    [{ kind: 'skipped', reasons: ['overlap'] }, 'skipped-overlap', true],
    [{ kind: 'skipped', reasons: ['paused'] }, 'skipped-overlap', false],
    [{ kind: 'misfired' }, 'misfired-skip', true],
    [{ kind: 'misfired', actions: ['fire'] }, 'misfired-skip', false],
    [{ kind: 'failed' }, 'timed-out', false],
  ] as const)('condition %j on a %s fact opens an alert: %s', (condition, outcome, opens) => {
    engine.putRule('r', spec({ condition }), null, T0);
    feed(executionFact('pay', T0, outcome));
    expect(store.listAlerts({ limit: 10 }).length).toBe(opens ? 1 : 0);
  });

  it('opens a consecutive-failures alert at the Nth final failure in a row; a success resets the streak', () => {
    engine.putRule('streak', spec({ condition: { kind: 'consecutive-failures', count: 3 } }), null, T0);
    feed(executionFact('pay', T0, 'failed'), executionFact('pay', T0 + 1, 'failed'));
    feed(executionFact('pay', T0 + 2, 'succeeded'));
    feed(executionFact('pay', T0 + 3, 'failed'), executionFact('pay', T0 + 4, 'lost'));
    expect(store.listAlerts({ limit: 10 })).toEqual([]);
    feed(executionFact('pay', T0 + 5, 'timed-out'));
    expect(store.listAlerts({ limit: 10 })[0]?.summary).toContain('failed 3 times in a row');
  });

  it('a rule holds no fact older than itself against a task; notifications are dated by the decision, not the fact', () => {
    engine.putRule('r', spec({ condition: { kind: 'failed' } }), null, T0);
    clock.set(T0 + 86_400_000);
    feed(executionFact('old', T0 - 60_000, 'failed'), executionFact('new', T0 + 60_000, 'failed'));
    expect(store.listAlerts({ limit: 10 }).map((a) => a.taskId)).toEqual(['new']);
    const [row] = open.sqlite
      .prepare<[], { created_at: number; next_attempt_at: number }>(
        'SELECT created_at, next_attempt_at FROM notifications',
      )
      .all();
    expect(row).toEqual({ created_at: T0 + 86_400_000, next_attempt_at: T0 + 86_400_000 });
  });

  it('scopes rules by task id and by label', () => {
    engine.putRule(
      'one',
      spec({ scope: { kind: 'task', taskId: 'pay' }, condition: { kind: 'failed' } }),
      null,
      T0,
    );
    engine.putRule(
      'team',
      spec({ scope: { kind: 'label', selector: 'team:payments' }, condition: { kind: 'failed' } }),
      null,
      T0,
    );
    feed(defineTask('refund', T0, { labels: { team: 'payments' } }).event, defineTask('mail', T0).event);
    feed(
      executionFact('pay', T0, 'failed'),
      executionFact('refund', T0, 'failed'),
      executionFact('mail', T0, 'failed'),
    );
    expect(
      store
        .listAlerts({ limit: 10 })
        .map((a) => `${a.ruleId}/${a.taskId}`)
        .sort(),
    ).toEqual(['one/pay', 'team/refund']);
  });

  it('acknowledging stops re-notification; silencing suppresses notifications for its window', () => {
    engine.putRule('r', spec({ condition: { kind: 'failed' }, renotifyEveryMs: 1_000 }), null, T0);
    feed(executionFact('a', T0, 'failed'), executionFact('b', T0, 'failed'));
    const [a, b] = ['a', 'b'].map((task) => store.openAlert('r', task)?.id ?? '');
    engine.acknowledge(a ?? '', { id: 'alice', kind: 'user' }, 'looking into it', T0 + 1);
    engine.silence(b ?? '', { id: 'bob', kind: 'user' }, T0 + 60_000, 'maintenance', T0 + 1);
    feed(executionFact('a', T0 + 10_000, 'failed'), executionFact('b', T0 + 10_000, 'failed'));
    feed(executionFact('b', T0 + 50_000, 'succeeded'));
    expect(notified().map((n) => `${n.alert.taskId}:${n.transition}`)).toEqual(['a:opened', 'b:opened']);
    expect(store.findAlert(b ?? '')?.state).toBe('resolved');
    expect(eventTypes()).toContain('nono.alert.acknowledged.v1');
    expect(eventTypes()).toContain('nono.alert.silenced.v1');
    expect(() => engine.acknowledge(b ?? '', { id: 'x', kind: 'user' }, 'late', T0)).toThrow(/not open/);
  });

  it('dead-man: a due instant with no success by nominal + grace opens an alert; a later scheduled success resolves it', () => {
    engine.putRule('dm', spec({ condition: { kind: 'dead-man', graceMs: 5_000 } }), null, T0);
    feed(defineTask('beat', T0 + 1).event); // every 10 s (epoch-anchored): due at T0+10 s, +20 s, ...
    feed(executionFact('beat', T0 + 10_000, 'succeeded'));
    expect(engine.checkDeadMen(T0 + 16_000)).toBe(0);
    expect(engine.checkDeadMen(T0 + 26_000)).toBe(1); // T0+20 s missed
    expect(engine.checkDeadMen(T0 + 36_000)).toBe(1); // T0+30 s missed: counts on the same alert
    expect(engine.checkDeadMen(T0 + 36_000)).toBe(0); // judged once
    const [alert] = store.listAlerts({ limit: 10 });
    expect(alert).toMatchObject({ condition: 'dead-man', occurrences: 2, nominalTime: T0 + 20_000 });
    feed(executionFact('beat', T0 + 40_000, 'succeeded'));
    expect(store.findAlert(alert?.id ?? '')?.state).toBe('resolved');
  });

  it('dead-man holds nothing against a paused task', () => {
    engine.putRule('dm', spec({ condition: { kind: 'dead-man', graceMs: 5_000 } }), null, T0);
    feed(defineTask('beat', T0 + 1, { paused: true }).event);
    expect(engine.checkDeadMen(T0 + 100_000)).toBe(0);
  });

  it('evaluates a record once: a replayed chunk below the stored offset and a republished fact are dropped', () => {
    engine.putRule('r', spec({ condition: { kind: 'failed' }, renotifyEveryMs: 0 }), null, T0);
    const fact = executionFact('pay', T0, 'failed');
    feed(fact);
    offset = 0;
    feed(fact); // redelivered at the same offset
    feed(fact); // republished at a new offset
    expect(store.listAlerts({ limit: 10 })[0]?.occurrences).toBe(1);
  });

  it('gives the same alert ids, event ids and idempotency keys when the same records are evaluated again', () => {
    const run = (): string[] => {
      const db = openDatabase(':memory:');
      const s = new AlertStore(db);
      const e = new AlertEngine({ store: s, source: 'x', transitionMs: 2_000 });
      e.putRule('r', spec({ condition: { kind: 'failed' } }), null, T0);
      new BatchEvaluator(s, e, clock).evaluate('executions', 0, [
        { offset: 0, value: Buffer.from(JSON.stringify(executionFact('pay', T0, 'failed'))) },
        { offset: 1, value: Buffer.from(JSON.stringify(executionFact('pay', T0 + 1, 'succeeded'))) },
      ]);
      const ids = [
        ...s.pendingEvents(10).map((row) => (JSON.parse(row.json) as NonoEvent).id),
        ...db.sqlite
          .prepare<[], { k: string }>('SELECT idempotency_key AS k FROM notifications')
          .all()
          .map((r) => r.k),
      ];
      db.close();
      return ids;
    };
    expect(run()).toEqual(run());
  });

  it('rule changes are checked against the revision read, and a changed condition resolves its open alerts', () => {
    const first = engine.putRule('r', spec({ condition: { kind: 'failed' } }), null, T0);
    expect(() => engine.putRule('r', spec({ condition: { kind: 'failed' } }), null, T0)).toThrow(
      /already exists/,
    );
    feed(executionFact('pay', T0, 'failed'));
    expect(() => engine.putRule('r', spec({ condition: { kind: 'lost' } }), first.revision + 1, T0)).toThrow(
      /revision 1, not 2/,
    );
    engine.putRule('r', spec({ condition: { kind: 'lost' } }), first.revision, T0 + 1);
    expect(store.listAlerts({ limit: 10 })[0]).toMatchObject({
      state: 'resolved',
      resolveReason: 'rule-changed',
    });
  });

  it('success rate: opens when the share of successes in the window falls below, resolves when it is back', () => {
    engine.putRule(
      'rate',
      spec({ condition: { kind: 'success-rate', belowPercent: 75, windowMs: 60_000, minRuns: 4 } }),
      null,
      T0,
    );
    feed(defineTask('pay', T0).event);
    const outcomes = ['succeeded', 'succeeded', 'succeeded', 'failed'] as const;
    for (const [i, outcome] of outcomes.entries()) feed(executionFact('pay', T0 + (i + 1) * 10_000, outcome));
    // 3 of 4: 75 %, not below.
    expect(store.listAlerts({ limit: 10 })).toEqual([]);
    feed(executionFact('pay', T0 + 50_000, 'failed'));
    expect(store.listAlerts({ limit: 10 })).toMatchObject([
      {
        condition: 'success-rate',
        state: 'open',
        summary: 'pay: 60 % of 5 runs succeeded in the last 60000 ms (below 75 %)',
      },
    ]);
    // The window moves on: the failures at +40 s and +50 s stay in it, successes bring it back.
    feed(executionFact('pay', T0 + 60_000, 'succeeded'));
    expect(store.listAlerts({ limit: 10 })[0]?.state).toBe('open');
    feed(executionFact('pay', T0 + 65_000, 'succeeded'));
    expect(store.listAlerts({ limit: 10 })[0]?.state).toBe('open');
    // The window now ends at +70 s and holds 6 successes of 8: 75 %, no longer below.
    feed(executionFact('pay', T0 + 70_000, 'succeeded'));
    expect(store.listAlerts({ state: 'resolved', limit: 10 })).toMatchObject([
      { condition: 'success-rate', resolveReason: 'cleared' },
    ]);
  });

  it('scheduler left: a goodbye or a vanished member opens an alert about that scheduler; its return resolves it', () => {
    engine.putRule('left', spec({ condition: { kind: 'scheduler-left' } }), null, T0);
    feedCluster(clusterFacts.joined('a', T0 + 1), clusterFacts.joined('b', T0 + 2));
    feedCluster(clusterFacts.ownershipChanged('a', ['a'], T0 + 10_000));
    feedCluster(clusterFacts.left('a', T0 + 20_000));
    expect(store.listAlerts({ limit: 10 }).map((a) => [a.taskId, a.summary])).toEqual([
      ['scheduler:a', 'scheduler a left (shutdown)'],
      ['scheduler:b', 'scheduler b is gone (no longer a member, seen by a)'],
    ]);
    feedCluster(clusterFacts.joined('b', T0 + 30_000));
    expect(store.listAlerts({ state: 'open', limit: 10 }).map((a) => a.taskId)).toEqual(['scheduler:a']);
  });

  it('no scheduler: the last one gone for the grace opens one alert (not one per check); a join resolves it', () => {
    engine.putRule('none', spec({ condition: { kind: 'no-scheduler', graceMs: 5_000 } }), null, T0);
    // Nothing known yet: no evidence that none is live, so no alert.
    expect(engine.checkCluster(T0 + 60_000, {})).toBe(true);
    expect(store.listAlerts({ limit: 10 })).toEqual([]);
    feedCluster(clusterFacts.joined('a', T0 + 61_000), clusterFacts.left('a', T0 + 62_000));
    engine.checkCluster(T0 + 66_000, {});
    expect(store.listAlerts({ limit: 10 })).toEqual([]);
    engine.checkCluster(T0 + 67_000, {});
    engine.checkCluster(T0 + 68_000, {});
    expect(store.listAlerts({ limit: 10 })).toMatchObject([
      { taskId: 'cluster:schedulers', condition: 'no-scheduler', state: 'open', occurrences: 1 },
    ]);
    feedCluster(clusterFacts.joined('c', T0 + 70_000));
    expect(store.listAlerts({ limit: 10 })[0]).toMatchObject({ state: 'resolved', resolveReason: 'cleared' });
  });

  it('consumer lag: over the limit opens, back within it resolves; an unknown lag judges nothing', () => {
    engine.putRule(
      'lag',
      spec({ condition: { kind: 'consumer-lag', consumer: 'history', aboveRecords: 100 } }),
      null,
      T0,
    );
    expect([...engine.lagsWanted()]).toEqual(['history']);
    engine.checkCluster(T0 + 1_000, { history: 500 });
    expect(store.listAlerts({ limit: 10 })).toMatchObject([
      { taskId: 'cluster:history-consumer', state: 'open' },
    ]);
    engine.checkCluster(T0 + 2_000, {});
    expect(store.listAlerts({ limit: 10 })[0]?.state).toBe('open');
    engine.checkCluster(T0 + 3_000, { history: 20 });
    expect(store.listAlerts({ limit: 10 })[0]?.state).toBe('resolved');
  });

  it('rule changes are audit facts on the alerts topic: who, which revision, before and after, with derived ids', () => {
    const admin = { id: 'admin:0123456789ab', kind: 'token' } as const;
    engine.putRule('r', spec({ condition: { kind: 'failed' } }), null, T0, admin);
    engine.putRule('r', spec({ condition: { kind: 'lost' } }), 1, T0 + 1, admin);
    engine.deleteRule('r', 2, T0 + 2, admin);
    const events = store.pendingEvents(10).map((row) => JSON.parse(row.json) as NonoEvent);
    expect(events.map((e) => [e.type, e.subject])).toEqual([
      ['nono.alert-rule.defined.v1', 'r'],
      ['nono.alert-rule.updated.v1', 'r'],
      ['nono.alert-rule.deleted.v1', 'r'],
    ]);
    expect(events[1]?.data).toMatchObject({
      ruleId: 'r',
      actor: admin,
      revision: 2,
      before: { revision: 1, condition: { kind: 'failed' } },
      after: { revision: 2, condition: { kind: 'lost' } },
    });
    expect(events[2]?.data).toMatchObject({ revision: 2, before: { condition: { kind: 'lost' } } });
    // A refused change is no fact.
    expect(() => engine.deleteRule('r', undefined, T0 + 3, admin)).toThrow(/no rule r/);
    expect(store.pendingEvents(10)).toHaveLength(3);
    // Ids are derived from the rule's creation and revision: the same changes give the same ids.
    const otherStore = new AlertStore(openDatabase(':memory:'));
    const other = new AlertEngine({ store: otherStore, source: 'nono://alerts/other', transitionMs: 2_000 });
    other.putRule('r', spec({ condition: { kind: 'failed' } }), null, T0, admin);
    expect((JSON.parse(otherStore.pendingEvents(1)[0]?.json ?? '{}') as NonoEvent).id).toBe(events[0]?.id);
  });
});
