import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, apiRequest, startApiProcess } from '../support/api.js';
import { SHOTS, launchChromium, signedInPage } from '../support/browser.js';
import {
  HISTORY_READ_TOKEN,
  type TestCluster,
  startHistoryProcess,
  startTestCluster,
} from '../support/cluster.js';
import { eventually, isolate } from '../support/fixtures.js';
import { type RunningProcess } from '../support/processes.js';

/**
 * The task page's backfills in a real Chromium against a real API, scheduler, history and
 * worker: an operator plans a backfill (dry run), starts it, watches its progress and cancels it.
 */
const TOKENS = { admin: 'bf-ui-admin', operator: 'bf-ui-operator' };
const TASK = 'bf-ui-task';

let cluster: TestCluster | undefined;
let history: RunningProcess | undefined;
let api: ApiProcess | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  cluster = await startTestCluster(await isolate('ui-backfills'), { schedulers: ['bfu1'] });
  const started = await startHistoryProcess(cluster.iso);
  history = started;
  api = await startApiProcess(cluster.iso, TOKENS, {
    NONO_HISTORY_URL: started.url,
    NONO_HISTORY_READ_TOKEN: HISTORY_READ_TOKEN,
  });
  const created = await apiRequest(api, TOKENS.admin, 'POST', '/tasks', {
    id: TASK,
    name: 'backfilled in the UI',
    paused: true,
    schedule: { kind: 'interval', everyMs: 1_000 },
    // 400 ms a call, two at a time: the backfill is still running when the test cancels it.
    target: { url: `${cluster.worker.url}/slow/${TASK}?ms=400`, timeoutMs: 5_000 },
    retry: { maxAttempts: 1 },
  });
  expect(created.status, created.text).toBe(201);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.kill();
  await history?.kill();
  await cluster?.stop();
});

describe('task page: backfills (Chromium)', () => {
  it('plans a backfill, starts it, shows its progress and cancels it', async () => {
    if (api === undefined || cluster === undefined) throw new Error('not started');
    const page: Page = await signedInPage(browser, `${api.url}/#/tasks/${TASK}`, TOKENS.operator);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // The page renders again once signed in and loaded, with the form's default window: fill
    // ours after its list of backfills shows (CI on 273fb1d planned the default hour instead).
    await expect
      .poll(async () => ((await page.locator('#backfill-list').textContent()) ?? '').trim(), {
        timeout: 20_000,
      })
      .not.toBe('');
    const to = new Date(Math.floor(Date.now() / 1_000) * 1_000 - 10_000);
    const from = new Date(to.getTime() - 299_000);
    await page.locator('#backfill-from').fill(from.toISOString());
    await page.locator('#backfill-to').fill(to.toISOString());
    await page.locator('#backfill-rate').fill('4');

    await page.locator('#backfill-dry-run').click();
    await expect
      .poll(() => page.locator('#backfill-plan-summary').textContent(), { timeout: 20_000 })
      .toContain('300 of 300 instants would fire');
    expect(await cluster.worker.calls()).toHaveLength(0);

    await page.locator('#backfill-start').click();
    const row = page.locator('.backfill-row').first();
    await row.waitFor({ timeout: 20_000 });
    // Progress shows as calls come back (the page refreshes itself).
    await eventually(
      async () => ((await cluster?.worker.calls())?.length ?? 0) >= 3 || undefined,
      30_000,
      'a few backfill calls',
    );
    await expect.poll(() => row.locator('progress').getAttribute('value'), { timeout: 20_000 }).not.toBe('0');
    await page.screenshot({ path: join(SHOTS, 'backfill-running.png'), fullPage: true });

    await row.locator('.backfill-cancel').click();
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 20_000 }).toBe('cancelled');
    await expect.poll(() => row.textContent(), { timeout: 20_000 }).toContain('not started');
    await page.screenshot({ path: join(SHOTS, 'backfill-cancelled.png'), fullPage: true });
    const calls = (await cluster.worker.calls()).length;
    expect(calls).toBeLessThan(300);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
