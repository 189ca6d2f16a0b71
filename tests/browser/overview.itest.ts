import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Isolation, isolateOn } from '../support/isolation.js';
import { startApiProcess } from '../support/api.js';
import { SHOTS, launchChromium, signedInPage } from '../support/browser.js';
import { type RunningProcess, freePort } from '../support/processes.js';

/**
 * The overview page in a real Chromium (scripts/install-browser.sh) against a real API process
 * (built dist) on the shared ZooKeeper, with nothing answering at the two history replicas' and
 * alerts' addresses and no scheduler running: the page still shows every section, the paused
 * task under "Needs attention", the next fires of the active task, and says which backends
 * (and which history replicas) are unavailable.
 */
const TOKENS = { admin: 'ov-admin-token', viewer: 'ov-viewer-token' };

let iso: Isolation;
let api: RunningProcess | undefined;
let apiUrl = '';
let browser: Browser | undefined;

async function call(method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${apiUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  expect(response.ok, await response.text()).toBe(true);
}

beforeAll(async () => {
  iso = await isolateOn('ui-overview', inject('zkConnect'), inject('kafkaBrokers'));
  // Two history replicas, neither answering: each gets its own line.
  const historyUrls = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`];
  const started = await startApiProcess(iso, TOKENS, {
    NONO_HISTORY_URLS: historyUrls.join(','),
    NONO_HISTORY_URL: historyUrls[0] ?? '',
    NONO_ALERTS_URL: `http://127.0.0.1:${await freePort()}`,
  });
  api = started;
  apiUrl = started.url;
  for (const id of ['ov-active', 'ov-paused'])
    await call('POST', '/tasks', {
      id,
      name: `task ${id}`,
      schedule: { kind: 'interval', everyMs: 60_000 },
      target: { url: 'http://127.0.0.1:9/jobs' },
    });
  await call('POST', '/tasks/ov-paused/pause', { note: 'maintenance' });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.kill('SIGTERM');
});

const signedIn = (token: string): Promise<Page> => signedInPage(browser, `${apiUrl}/#/overview`, token);

describe('overview page (Chromium)', () => {
  it('is linked first in the nav and shows its sections to a viewer, with history and alerts unavailable', async () => {
    const page = await signedIn(TOKENS.viewer);
    await expect.poll(() => page.locator('#session').textContent()).toContain('viewer');
    expect(await page.locator('header nav a').first().getAttribute('href')).toBe('#/overview');
    await page.locator('#ov-paused tr[data-task="ov-paused"]').waitFor({ timeout: 15_000 });
    for (const title of ['Cluster', 'Last hour', 'Next fires', 'Needs attention'])
      expect(await page.locator('.overview h3', { hasText: title }).count(), title).toBe(1);

    // The paused task is under attention with its note; the active one is not.
    expect(await page.locator('#ov-paused tr[data-task="ov-paused"]').textContent()).toContain(
      'paused: maintenance',
    );
    expect(await page.locator('#ov-paused tr[data-task="ov-active"]').count()).toBe(0);
    // Next fires come from ZooKeeper: the active task is there, the paused one is not.
    expect(await page.locator('#ov-next-fires tr[data-task="ov-active"]').count()).toBe(1);
    expect(await page.locator('#ov-next-fires tr[data-task="ov-paused"]').count()).toBe(0);

    // History and alerts do not answer: their sections say so, and so does the cluster verdict.
    expect(await page.locator('#ov-last-hour [data-unavailable="history"]').textContent()).toMatch(
      /^Unavailable/,
    );
    expect(await page.locator('#ov-failing [data-unavailable="history"]').count()).toBe(1);
    expect(await page.locator('#ov-alerts [data-unavailable="alerts"]').textContent()).toMatch(
      /^Unavailable/,
    );
    expect(await page.locator('[data-backend-state="history"]').textContent()).toMatch(/^unreachable/);
    for (const replica of ['1', '2'])
      expect(await page.locator(`[data-history-replica="${replica}"]`).textContent()).toMatch(/^down/);
    expect(await page.locator('[data-backend-state="zookeeper"]').textContent()).toMatch(/^ok \(/);
    // No scheduler process runs in this test.
    expect(await page.locator('[data-schedulers]').textContent()).toContain('none running');
    expect(await page.locator('#ov-verdict').textContent()).toMatch(/^Not healthy/);
    await page.screenshot({ path: join(SHOTS, 'overview-01-viewer.png'), fullPage: true });
    await page.close();
  });
});
