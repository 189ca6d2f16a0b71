import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Isolation, isolateOn } from '../support/isolation.js';
import { startApiProcess } from '../support/api.js';
import { SHOTS, launchChromium, signedInPage } from '../support/browser.js';
import { type RunningProcess, freePort } from '../support/processes.js';

/**
 * What a newcomer sees first in the web UI, in a real Chromium (scripts/install-browser.sh)
 * against a real API process (built dist) on the shared ZooKeeper: the token box leaves once
 * signed in, a wrong token is said once, a viewer is not offered what a viewer may not do,
 * intervals read one way, and a 128-character id does not widen the page.
 */
const TOKENS = { admin: 'ui-admin-token', operator: 'ui-operator-token', viewer: 'ui-viewer-token' };
const LONG_ID = `long-${'x'.repeat(119)}-end`;

let iso: Isolation;
let api: RunningProcess | undefined;
let apiUrl = '';
let browser: Browser | undefined;
const profileDir = mkdtempSync(join(tmpdir(), 'nono-ui-roles-'));

beforeAll(async () => {
  iso = await isolateOn('ui-roles', inject('zkConnect'), inject('kafkaBrokers'));
  // Nothing answers at history's and alerts' addresses: the pages must still show the tasks.
  const started = await startApiProcess(iso, TOKENS, {
    NONO_HISTORY_URL: `http://127.0.0.1:${await freePort()}`,
    NONO_ALERTS_URL: `http://127.0.0.1:${await freePort()}`,
  });
  api = started;
  apiUrl = started.url;
  for (const [id, everyMs] of [
    ['every-5s', 5_000],
    ['every-15s', 15_000],
    ['every-1500ms', 1_500],
    [LONG_ID, 60_000],
  ] as const) {
    const response = await fetch(`${apiUrl}/api/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id,
        name: `task ${id.slice(0, 20)}`,
        schedule: { kind: 'interval', everyMs },
        target: { url: 'http://127.0.0.1:9/jobs' },
      }),
    });
    expect(response.status, await response.text()).toBe(201);
  }
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.kill('SIGTERM');
  rmSync(profileDir, { recursive: true, force: true });
});

const signedIn = (token: string): Promise<Page> => signedInPage(browser, apiUrl, token);

describe('web UI for a newcomer (Chromium)', () => {
  it('takes the token box out of the header once signed in, and shows the role', async () => {
    const page = await signedIn(TOKENS.admin);
    await page.locator('tr[data-task="every-5s"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#token-form').isHidden()).toBe(true);
    await expect.poll(() => page.locator('#session').textContent()).toContain('admin');
    // Signing out brings the box back.
    await page.locator('#sign-out').click();
    expect(await page.locator('#token-form').isVisible()).toBe(true);
    await page.close();
  });

  it('says a wrong token is wrong once, and keeps the token box', async () => {
    const page = await signedIn('not-a-token');
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/token/i);
    // Past the page's own refresh: the message is not repeated or doubled.
    await page.waitForTimeout(6_000);
    const status = (await page.locator('#status').textContent()) ?? '';
    expect(status.match(/bearer token is required/gi) ?? []).toHaveLength(1);
    expect(await page.locator('#token-form').isVisible()).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'roles-01-wrong-token.png') });
    await page.close();
  });

  it('offers a viewer no Pause, Run now, Edit, Delete or New task; an operator no Edit, Delete', async () => {
    const viewer = await signedIn(TOKENS.viewer);
    const row = viewer.locator('tr[data-task="every-5s"]');
    await row.waitFor({ timeout: 15_000 });
    await expect.poll(() => viewer.locator('#session').textContent()).toContain('viewer');
    for (const name of ['Pause', 'Run now', 'Edit', 'Delete'])
      expect(
        await viewer.getByRole('button', { name }).or(viewer.getByRole('link', { name })).count(),
        name,
      ).toBe(0);
    expect(await viewer.locator('#new-task').count()).toBe(0);
    await row.locator('a').first().click();
    await viewer.locator('.facts').waitFor({ timeout: 10_000 });
    for (const name of ['Pause', 'Run now', 'Edit', 'Delete'])
      expect(
        await viewer.getByRole('button', { name }).or(viewer.getByRole('link', { name })).count(),
        name,
      ).toBe(0);
    await viewer.screenshot({ path: join(SHOTS, 'roles-02-viewer-detail.png') });
    await viewer.close();

    const operator = await signedIn(TOKENS.operator);
    const operatorRow = operator.locator('tr[data-task="every-5s"]');
    await operatorRow.waitFor({ timeout: 15_000 });
    expect(await operatorRow.getByRole('button', { name: 'Pause' }).count()).toBe(1);
    expect(await operatorRow.getByRole('button', { name: 'Run now' }).count()).toBe(1);
    expect(await operatorRow.getByRole('link', { name: 'Edit' }).count()).toBe(0);
    expect(await operatorRow.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await operator.close();

    const admin = await signedIn(TOKENS.admin);
    const adminRow = admin.locator('tr[data-task="every-5s"]');
    await adminRow.waitFor({ timeout: 15_000 });
    for (const name of ['Pause', 'Run now', 'Delete'])
      expect(await adminRow.getByRole('button', { name }).count(), name).toBe(1);
    expect(await adminRow.getByRole('link', { name: 'Edit' }).count()).toBe(1);
    expect(await admin.locator('#new-task').count()).toBe(1);
    await admin.close();
  });

  it('writes intervals one way and says "active" for a task that is not paused', async () => {
    const page = await signedIn(TOKENS.viewer);
    await page.locator('tr[data-task="every-5s"]').waitFor({ timeout: 15_000 });
    const cell = (id: string, column: number): Promise<string | null> =>
      page.locator(`tr[data-task="${id}"] td`).nth(column).textContent();
    expect(await cell('every-5s', 2)).toBe('every 5 s');
    expect(await cell('every-15s', 2)).toBe('every 15 s');
    expect(await cell('every-1500ms', 2)).toBe('every 1.5 s');
    expect(await cell('every-5s', 3)).toBe('active');
    await page.close();
  });

  it('keeps a 128-character id from widening the page: cut with an ellipsis, whole in its title', async () => {
    expect(LONG_ID).toHaveLength(128);
    const page = await signedIn(TOKENS.admin);
    const row = page.locator(`tr[data-task="${LONG_ID}"]`);
    await row.waitFor({ timeout: 15_000 });
    // Evaluated in the page (a string: this file is not compiled with the DOM's types).
    const width = (): Promise<{ scroll: number; client: number }> =>
      page.evaluate(
        '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
      );
    const list = await width();
    expect(list.scroll).toBeLessThanOrEqual(list.client);
    const link = row.locator('a').first();
    expect(await link.getAttribute('title')).toBe(LONG_ID);
    expect(
      await page.evaluate(
        `getComputedStyle(document.querySelector('tr[data-task="${LONG_ID}"] a')).textOverflow`,
      ),
    ).toBe('ellipsis');
    // Its actions stay on screen.
    const box = await row.getByRole('button', { name: 'Delete' }).boundingBox();
    expect((box?.x ?? Infinity) + (box?.width ?? 0)).toBeLessThanOrEqual(list.client);
    await page.screenshot({ path: join(SHOTS, 'roles-03-long-id-list.png') });

    await link.click();
    await page.locator('.facts').waitFor({ timeout: 10_000 });
    const detail = await width();
    expect(detail.scroll).toBeLessThanOrEqual(detail.client);
    await page.screenshot({ path: join(SHOTS, 'roles-04-long-id-detail.png') });
    await page.close();
  });
});
