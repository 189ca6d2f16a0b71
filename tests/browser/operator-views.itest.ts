import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHOTS, launchChromium, signedInPage } from '../support/browser.js';
import { eventually, isolate } from '../support/fixtures.js';
import { type OperatedCluster, startOperatedCluster } from '../support/operated-cluster.js';

const ADMIN = 'operator-views-admin';

/**
 * What an operator reads about runs, in a real Chromium against real processes (API, scheduler,
 * worker, Kafka, history): an execution's page with its trigger parameters and the output the
 * task captured, calendar changes on the Audit page, and each member's recent results on the
 * Groups page.
 */
describe('operator views (Chromium)', () => {
  let env: OperatedCluster;
  let browser: Browser | undefined;
  let executionId = '';

  beforeAll(async () => {
    env = await startOperatedCluster(await isolate('ui-operator-views'), {
      schedulers: ['ov1'],
      admin: ADMIN,
    });
    const ok = (result: { status: number; body: unknown }) =>
      expect(result.status < 300, JSON.stringify(result.body)).toBe(true);
    ok(
      await env.call('POST', '/tasks', {
        id: 'report-run',
        name: 'report run',
        schedule: { kind: 'interval', everyMs: 3_600_000 },
        target: {
          url: `${env.cluster.worker.url}/answer/report-run?text=${encodeURIComponent('rows written: 42')}`,
          capture: { headers: ['X-Report-Id'] },
        },
      }),
    );
    const triggered = await env.call('POST', '/tasks/report-run/trigger', {
      parameters: { region: 'eu-west' },
    });
    ok(triggered);
    executionId = (triggered.body as { executionId: string }).executionId;
    ok(await env.call('PUT', '/calendars/holidays', { timeZone: 'Europe/Paris', dates: ['2026-12-25'] }));
    ok(
      await env.call('POST', '/worker-groups', {
        name: 'renderers',
        members: [{ url: env.cluster.worker.url }],
      }),
    );
    ok(
      await env.call('POST', '/tasks', {
        id: 'render',
        name: 'render',
        schedule: { kind: 'interval', everyMs: 3_600_000 },
        target: { group: 'renderers', route: 'round-robin', path: '/ok/render' },
      }),
    );
    ok(await env.call('POST', '/tasks/render/trigger', {}));
    await eventually(
      async () => {
        const { body } = await env.call('GET', `/executions/${executionId}`);
        return (body as { status?: string }).status === 'succeeded' ? true : undefined;
      },
      30_000,
      'the run in history',
    );
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await env?.stop();
  });

  it("shows an execution's trigger parameters and captured output, reached from the task's page", async () => {
    const page = await signedInPage(browser, `${env.api.url}/#/tasks/report-run`, ADMIN);
    const link = page.locator(`tr[data-execution="${executionId}"] a.execution-link`);
    await link.waitFor({ timeout: 15_000 });
    await link.click();
    const output = page.locator('.attempt-output[data-attempt="1"] pre.output');
    await output.waitFor({ timeout: 15_000 });
    expect(await output.textContent()).toBe('rows written: 42');
    expect(await output.getAttribute('data-encoding')).toBe('utf8');
    expect(await page.locator('.output-note').textContent()).toBe('Response body: 16 bytes, UTF-8 text');
    expect(await page.locator('.output-headers').textContent()).toContain('report-report-run');
    expect(JSON.parse((await page.locator('#parameters').textContent()) ?? '')).toEqual({
      region: 'eu-west',
    });
    await page.screenshot({ path: join(SHOTS, 'execution-01-output.png'), fullPage: true });
    await page.close();
  });

  it('lists calendar changes on the Audit page', async () => {
    const page = await signedInPage(browser, `${env.api.url}/#/audit?subject=calendar`, ADMIN);
    const row = page.locator('tr[data-subject="calendar"]').first();
    await row.waitFor({ timeout: 20_000 });
    const cells = await row.locator('td').allTextContents();
    expect(cells[1]).toBe('calendar holidays');
    expect(cells[2]).toContain('calendar defined');
    expect(cells[5]).toBe('Europe/Paris, 1 date(s), 0 range(s)');
    await page.close();
  });

  it("shows each member's results of the last 24 hours on the Groups page", async () => {
    const page = await signedInPage(browser, `${env.api.url}/#/groups`, ADMIN);
    const cell = page.locator(
      `article[data-group="renderers"] tr[data-member="${env.cluster.worker.url}"] td.member-results`,
    );
    await cell.waitFor({ timeout: 15_000 });
    await eventually(
      async () => ((await cell.textContent())?.startsWith('1 attempts: 1 ok (100 %)') ? true : undefined),
      30_000,
      'the member result',
    );
    expect(await cell.textContent()).toMatch(/^1 attempts: 1 ok \(100 %\); last succeeded /);
    await page.screenshot({ path: join(SHOTS, 'groups-02-member-results.png'), fullPage: true });
    await page.close();
  });
});
