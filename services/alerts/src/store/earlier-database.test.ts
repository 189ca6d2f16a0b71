import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ManualClock, type NonoEvent } from '@nono/domain';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchEvaluator } from '../consumer/batch-evaluator.js';
import { AlertEngine } from '../rules/alert-engine.js';
import { executionFact } from '../testing/facts.js';
import { AlertStore } from './alert-store.js';
import { openDatabase } from './open-database.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
/** Written by the main branch at ba7fec9 (scripts/make-database-fixtures.mjs), before the bookkeeping moved to libs/projection. */
const FIXTURE = new URL('./fixtures/alerts-ba7fec9.sqlite.gz', import.meta.url);
const encode = (event: NonoEvent): Buffer => Buffer.from(JSON.stringify(event));

describe('a database written by the main branch at ba7fec9', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  function openFixture() {
    dir = mkdtempSync(join(tmpdir(), 'nono-alerts-earlier-'));
    const file = join(dir, 'alerts.sqlite');
    writeFileSync(file, gunzipSync(readFileSync(FIXTURE)));
    const open = openDatabase(file);
    const store = new AlertStore(open);
    const engine = new AlertEngine({ store, source: 'test', transitionMs: 2_000 });
    return { open, store, evaluator: new BatchEvaluator(store, engine, new ManualClock(T0 + 120_000)) };
  }

  it('opens with its rule, alert, outboxes, offsets and dead letter as they were', () => {
    const { open, store } = openFixture();
    try {
      expect(store.listRules().map((stored) => stored.rule.id)).toEqual(['pay-fails']);
      const alerts = store.listAlerts({ limit: 10 });
      expect(alerts.map((alert) => [alert.taskId, alert.state, alert.occurrences])).toEqual([
        ['pay', 'open', 2],
      ]);
      expect(store.notificationsOf(alerts[0]?.id ?? '')).toHaveLength(1);
      expect(store.pendingEvents(10)).toHaveLength(2);
      expect([
        store.nextOffset('tasks', 0),
        store.nextOffset('executions', 0),
        store.nextOffset('executions', 1),
      ]).toEqual([2, 4, 1]);
      expect(
        open.sqlite.prepare('select topic, partition, offset, key, value from dead_letters').all(),
      ).toEqual([{ topic: 'executions', partition: 0, offset: 2, key: null, value: null }]);
      // The ids are now keys of the shared table: UUIDs as their 16 bytes, still dated.
      expect(
        open.sqlite
          .prepare(
            'select typeof(event_id) as type, length(event_id) as bytes, at is not null as dated from processed_events',
          )
          .all(),
      ).toEqual(Array.from({ length: 6 }, () => ({ type: 'blob', bytes: 16, dated: 1 })));
    } finally {
      open.close();
    }
  });

  it('recognises the facts it had taken in when they are published again, and keys new ones by instant', () => {
    const { open, store, evaluator } = openFixture();
    try {
      const again = [
        executionFact('pay', T0 + 10_000, 'failed'),
        executionFact('ship', T0 + 10_000, 'succeeded'),
        executionFact('pay', T0 + 20_000, 'failed'),
        executionFact('ship', T0 + 20_000, 'succeeded'),
      ];
      const republished = evaluator.evaluate(
        'executions',
        0,
        again.map((event, i) => ({ offset: 10 + i, value: encode(event) })),
      );
      expect(republished).toMatchObject({ evaluated: 0, duplicates: 4 });
      expect(store.listAlerts({ limit: 10 }).map((alert) => alert.occurrences)).toEqual([2]);
      const next = evaluator.evaluate('executions', 0, [
        { offset: 14, value: encode(executionFact('pay', T0 + 30_000, 'failed')) },
      ]);
      expect(next).toMatchObject({ evaluated: 1, duplicates: 0 });
      expect(store.listAlerts({ limit: 10 }).map((alert) => alert.occurrences)).toEqual([3]);
      expect(
        open.sqlite.prepare('select count(*) as n from processed_events where length(event_id) = 22').get(),
      ).toEqual({ n: 1 });
    } finally {
      open.close();
    }
  });

  it('forgets the converted ids after a week, as it forgot them before', () => {
    const { open, store } = openFixture();
    try {
      store.forgetOld(T0 + 8 * 86_400_000, {
        dedupeMs: 7 * 86_400_000,
        successMs: 8 * 86_400_000,
        deliveredMs: 0,
      });
      expect(open.sqlite.prepare('select count(*) as n from processed_events').get()).toEqual({ n: 0 });
    } finally {
      open.close();
    }
  });
});
