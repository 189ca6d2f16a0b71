import { join } from 'node:path';
import { ZkClient, ZnodeLayout, workerHealthDocument } from '@nono/coordination';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Isolation, isolateOn } from '../support/isolation.js';
import { apiRequest, startApiProcess } from '../support/api.js';
import { SHOTS, launchChromium, signedInPage } from '../support/browser.js';
import { type RunningProcess } from '../support/processes.js';

/**
 * The Groups page in a real Chromium against a real API process (built dist): a group with two
 * static members, one of which a scheduler's passive health took out (its health node written
 * as a scheduler would), a live dynamic member and a lapsed one; and a task whose target is the
 * group, shown on its page with a link to the groups.
 */
const TOKENS = { admin: 'gr-admin-token', operator: 'gr-operator-token', viewer: 'gr-viewer-token' };

let iso: Isolation;
let api: RunningProcess | undefined;
let apiUrl = '';
let browser: Browser | undefined;
let zk: ZkClient | undefined;

async function call(role: keyof typeof TOKENS, method: string, path: string, body?: unknown): Promise<void> {
  const { status, text } = await apiRequest({ url: apiUrl }, TOKENS[role], method, path, body);
  expect(status < 300, text).toBe(true);
}

beforeAll(async () => {
  iso = await isolateOn('ui-groups', inject('zkConnect'), inject('kafkaBrokers'));
  const started = await startApiProcess(iso, TOKENS);
  api = started;
  apiUrl = started.url;
  await call('admin', 'POST', '/worker-groups', {
    name: 'renderers',
    description: 'report renderers',
    members: [{ url: 'http://127.0.0.1:7781' }, { url: 'http://127.0.0.1:7782' }],
    leaseMs: 1_000,
  });
  await call('operator', 'PUT', '/worker-groups/renderers/members/gone', { url: 'http://127.0.0.1:7784' });
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  // Its lease is 1 s: registered last, the live member is still live when the page is read once.
  await call('admin', 'PUT', '/worker-groups/renderers', {
    description: 'report renderers',
    members: [{ url: 'http://127.0.0.1:7781' }, { url: 'http://127.0.0.1:7782' }],
    leaseMs: 600_000,
  });
  await call('operator', 'PUT', '/worker-groups/renderers/members/host-c', { url: 'http://127.0.0.1:7783' });
  zk = await ZkClient.connect({ connect: iso.zkConnect, sessionTimeoutMs: 10_000 });
  await zk.create(
    new ZnodeLayout('/nono').workerHealthOf('s-ui'),
    workerHealthDocument.encode({
      schedulerId: 's-ui',
      updatedAt: new Date().toISOString(),
      ejected: [
        {
          group: 'renderers',
          url: 'http://127.0.0.1:7781',
          until: new Date(Date.now() + 600_000).toISOString(),
          failures: 3,
          lastError: 'ECONNREFUSED',
        },
      ],
    }),
    'ephemeral',
  );
  await call('admin', 'POST', '/tasks', {
    id: 'grouped',
    name: 'grouped task',
    schedule: { kind: 'interval', everyMs: 60_000 },
    target: { group: 'renderers', route: 'failover', path: '/jobs/report' },
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  zk?.close();
  await api?.kill('SIGTERM');
});

const signedIn = (url: string): Promise<Page> => signedInPage(browser, url, TOKENS.viewer);

describe('Groups page (Chromium)', () => {
  it('lists each member with its source, lease state and passive health', async () => {
    const page = await signedIn(`${apiUrl}/#/groups`);
    const group = page.locator('article[data-group="renderers"]');
    await group.locator('tr[data-member]').first().waitFor({ timeout: 15_000 });
    expect(await page.locator('header nav a[href="#/groups"]').count()).toBe(1);
    expect(await group.locator('h3').textContent()).toContain('3 live');
    const row = (url: string) => group.locator(`tr[data-member="${url}"] td`);
    expect(await row('http://127.0.0.1:7781').allTextContents()).toEqual([
      'http://127.0.0.1:7781',
      'static',
      'static',
      'out',
      '-',
      expect.stringMatching(/^s-ui until .*: 3 failures \(ECONNREFUSED\)$/),
      // No history behind this API: the results column says so.
      'history unavailable',
    ]);
    expect((await row('http://127.0.0.1:7782').allTextContents()).slice(1, 4)).toEqual([
      'static',
      'static',
      'in',
    ]);
    expect((await row('http://127.0.0.1:7783').allTextContents()).slice(0, 4)).toEqual([
      'http://127.0.0.1:7783 (host-c)',
      'dynamic',
      'live',
      'in',
    ]);
    expect((await row('http://127.0.0.1:7784').allTextContents()).slice(1, 3)).toEqual(['dynamic', 'lapsed']);
    await page.screenshot({ path: join(SHOTS, 'groups-01-members.png'), fullPage: true });
    await page.close();
  });

  it("shows a group-targeted task's group, route and path on its page", async () => {
    const page = await signedIn(`${apiUrl}/#/tasks/grouped`);
    const target = page
      .locator('dl.facts dt', { hasText: 'target' })
      .locator('xpath=following-sibling::dd[1]');
    await target.waitFor({ timeout: 15_000 });
    expect(await target.textContent()).toBe('POST a member of group renderers (failover), path /jobs/report');
    expect(await target.locator('a').getAttribute('href')).toBe('#/groups');
    await page.close();
  });
});
