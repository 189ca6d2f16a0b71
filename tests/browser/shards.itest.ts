import { join } from 'node:path';
import { createKafka, encodeEvent } from '@nono/events';
import {
  type EventData,
  type EventType,
  createEvent,
  executionEventId,
  scheduledExecutionId,
} from '@nono/domain';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Isolation, createIsolatedTopics, isolateOn } from '../support/isolation.js';
import { apiRequest, startApiProcess } from '../support/api.js';
import { SHOTS, launchChromium, signedInPage } from '../support/browser.js';
import { startHistoryProcess } from '../support/cluster.js';
import { type RunningProcess } from '../support/processes.js';

/**
 * A shard task's page in a real Chromium against a real API and history (built dist): history
 * projects the facts of one instant split into 3 shards over two members (published on the
 * executions topic as a scheduler would: two shards succeeded, one failed after a retry on the
 * other member), and the task page shows the instant with its outcome, each shard and the
 * member that ran it.
 */
const TOKENS = { admin: 'sh-ui-admin-token', viewer: 'sh-ui-viewer-token' };
const A = 'http://127.0.0.1:7791';
const B = 'http://127.0.0.1:7792';

let iso: Isolation;
let api: RunningProcess | undefined;
let history: RunningProcess | undefined;
let apiUrl = '';
let browser: Browser | undefined;
const nominal = Date.parse('2026-12-02T10:00:00.000Z');
const instantId = scheduledExecutionId('sharded', nominal);

/** The facts of shard `index`: fired at `members` in turn, the last attempt's outcome `ok` or not. */
function shardFacts(index: number, members: readonly string[], ok: boolean) {
  const executionId = `${instantId}.shard-${index}`;
  const ref = (attempt: number) => ({
    taskId: 'sharded',
    executionId,
    nominalTime: new Date(nominal).toISOString(),
    attempt,
    schedulerId: 's-ui',
    fencingToken: 7,
    reason: 'scheduled' as const,
    instantId,
    shard: { index, count: 3 },
  });
  const event = <T extends EventType>(type: T, data: EventData<T>, attempt: number) =>
    createEvent(type, data, {
      id: executionEventId(executionId, type, attempt),
      source: 'nono://scheduler/s-ui',
      subject: 'sharded',
      time: nominal + attempt * 1_000,
    });
  return members.flatMap((url, i) => {
    const attempt = i + 1;
    const last = attempt === members.length;
    const member = { group: 'renderers', url };
    const at = new Date(nominal + attempt * 1_000).toISOString();
    return [
      event(
        'nono.execution.fired.v1',
        { ...ref(attempt), firedAt: at, lateMs: 2, targetUrl: `${url}/jobs/part`, member },
        attempt,
      ),
      last && ok
        ? event(
            'nono.execution.succeeded.v1',
            { ...ref(attempt), finishedAt: at, durationMs: 40, httpStatus: 200, member },
            attempt,
          )
        : event(
            'nono.execution.failed.v1',
            {
              ...ref(attempt),
              finishedAt: at,
              durationMs: 40,
              httpStatus: 500,
              error: 'worker answered 500',
              willRetry: !last,
              member,
            },
            attempt,
          ),
    ];
  });
}

beforeAll(async () => {
  iso = await isolateOn('ui-shards', inject('zkConnect'), inject('kafkaBrokers'));
  await createIsolatedTopics(iso, 1);
  const started = await startHistoryProcess(iso);
  history = started;
  api = await startApiProcess(iso, TOKENS, {
    NONO_HISTORY_URL: started.url,
    NONO_HISTORY_READ_TOKEN: started.readToken,
  });
  apiUrl = (api as RunningProcess & { url: string }).url;
  const { status, text } = await apiRequest({ url: apiUrl }, TOKENS.admin, 'POST', '/tasks', {
    id: 'sharded',
    name: 'sharded task',
    schedule: { kind: 'interval', everyMs: 3_600_000 },
    target: { group: 'renderers', route: 'shard', shards: 3, path: '/jobs/part' },
  });
  expect(status, text).toBe(201);
  const producer = createKafka({ brokers: iso.kafkaBrokers, clientId: 'ui-shards' }).producer();
  await producer.connect();
  const facts = [...shardFacts(0, [A], true), ...shardFacts(1, [B], true), ...shardFacts(2, [A, B], false)];
  await producer.send({
    topic: iso.topics.executions,
    messages: facts.map((event) => ({ key: 'sharded', ...encodeEvent(event) })),
  });
  await producer.disconnect();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.kill('SIGTERM');
  await history?.kill('SIGTERM');
});

describe('a shard task on its page (Chromium)', () => {
  it("shows an instant's outcome, each shard and the member that ran it", async () => {
    const page = await signedInPage(browser, `${apiUrl}/#/tasks/sharded`, TOKENS.viewer);
    const instant = page.locator(`div.instant[data-instant="${instantId}"]`);
    await instant.locator('tr[data-execution]').nth(2).waitFor({ timeout: 30_000 });
    const target = page
      .locator('dl.facts dt', { hasText: 'target' })
      .locator('xpath=following-sibling::dd[1]');
    expect(await target.textContent()).toBe('POST 3 shards over group renderers (shard), path /jobs/part');
    // Two shards succeeded, one failed: the instant failed.
    expect(await instant.getAttribute('data-outcome')).toBe('failed');
    expect(await instant.locator('h4').textContent()).toMatch(/3 shards: 2 succeeded, 1 failed/);
    const row = (index: number) =>
      instant.locator(`tr[data-execution="${instantId}.shard-${index}"] td`).allTextContents();
    expect((await row(0)).slice(0, 4)).toEqual(['0/3', A, 'succeeded', '1']);
    expect((await row(1)).slice(0, 4)).toEqual(['1/3', B, 'succeeded', '1']);
    // Shard 2 was retried on the other member: its row names the member of its last attempt.
    expect((await row(2)).slice(0, 4)).toEqual(['2/3', B, 'failed', '2']);
    await page.screenshot({ path: join(SHOTS, 'shards-01-instant.png'), fullPage: true });
    await page.close();
  });
});
