import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../support/isolation.js';
import { REPO_ROOT, alive, freePort, twoFreePorts } from '../support/processes.js';

/**
 * The web UI in a real browser against a whole nono (scripts/start-local.mjs on free ports,
 * the shared ZooKeeper and Kafka, the built dist: `npx turbo run build` first). Debian's
 * Chromium driven by playwright-core: Playwright's own browser download does not work here,
 * so `scripts/install-browser.sh` installs /usr/bin/chromium, and without it this test fails
 * (it must not pass by skipping). Screenshots go to test-results/screenshots/.
 */
const CHROMIUM = '/usr/bin/chromium';
const START_SCRIPT = join(REPO_ROOT, 'scripts/start-local.mjs');
const SHOTS = join(REPO_ROOT, 'test-results/screenshots');
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const stateDir = mkdtempSync(join(tmpdir(), 'nono-ui-'));
const profileDir = mkdtempSync(join(tmpdir(), 'nono-ui-chromium-'));
let script: ChildProcess | undefined;
let browser: BrowserContext | undefined;
let childPids: number[] = [];

afterAll(async () => {
  await browser?.close();
  if (script && script.exitCode === null && script.signalCode === null) {
    const exited = new Promise((resolve) => script?.once('exit', resolve));
    script.kill('SIGINT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 60_000))]);
  }
  // Only if the orderly stop failed: never leave a process tree behind.
  if (script && script.exitCode === null) script.kill('SIGKILL');
  for (const pid of childPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(profileDir, { recursive: true, force: true });
}, 90_000);

describe('web UI (Chromium)', () => {
  it('defines a task in the form, sees it fire, pauses it, and shows schedulers and executions', async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `Chromium is not installed (${CHROMIUM} is missing): run scripts/install-browser.sh first (it installs Debian's chromium package).`,
      );
    mkdirSync(SHOTS, { recursive: true });
    const { apiUrl, workerUrl, token } = await startNono();

    // A fresh, empty profile per run (Playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1360, height: 900 },
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // The test provokes 4xx answers on purpose (bad cron, host not allowed); the UI shows
      // them, the browser logs them. Anything else logged as an error is a defect.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        pageErrors.push(message.text());
    });
    const shot = (name: string): Promise<Buffer> =>
      page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

    // Sign in with the admin token start-local created.
    await page.goto(apiUrl);
    await page.locator('#token').fill(token);
    await page.locator('#token-form button').click();
    await page.locator('#task-list').waitFor();
    await shot('01-tasks');

    // The form: live preview of a cron schedule, and the field errors of problem+json.
    await page.locator('#new-task').click();
    await page.locator('#f-id').fill('ui-every-second');
    await page.locator('#f-name').fill('UI: every second');
    await page.locator('#f-schedule-kind').selectOption('cron');
    await page.locator('#f-schedule-expression').fill('*/15 * * * *');
    await page.locator('#f-schedule-timeZone').fill('Europe/Paris');
    await expect.poll(() => page.locator('#cron-preview li').count(), { timeout: 10_000 }).toBe(5);
    // What the coming DST transitions do to the schedule, in words (docs/SCHEDULES.md).
    await expect
      .poll(() => page.locator('#dst-effects').textContent(), { timeout: 10_000 })
      .toMatch(/occur twice \(clocks go back from 03:00 to 02:00\); fires at both/);
    await page.locator('#f-schedule-expression').fill('61 * * * *');
    const cronError = page.locator('[data-error-for="schedule.expression"]');
    await expect.poll(() => cronError.textContent(), { timeout: 10_000 }).not.toBe('');
    await shot('02-form-cron-error');

    await page.locator('#f-schedule-kind').selectOption('interval');
    await page.locator('#f-schedule-everyMs').fill('1000');
    await page.locator('#f-target-url').fill('http://elsewhere.invalid/jobs');
    await page.locator('#save-task').click();
    const urlError = page.locator('[data-error-for="target.url"]');
    await expect.poll(() => urlError.textContent(), { timeout: 10_000 }).toMatch(/.+/);
    await shot('03-form-target-error');

    await page.locator('#f-target-url').fill(`${workerUrl}/jobs/ok`);
    await page.locator('#f-target-timeoutMs').fill('2000');
    await page.locator('#save-task').click();
    await page.waitForURL(/#\/tasks\/ui-every-second$/, { timeout: 10_000 });

    // It fires: an execution shows up on the detail page by the page's own refresh.
    const succeeded = page.locator('tr[data-execution][data-status="succeeded"]');
    await expect.poll(() => succeeded.count(), { timeout: 60_000, interval: 1_000 }).toBeGreaterThan(0);
    // Audit trail (API outbox → Kafka → history) and the charts follow.
    await expect
      .poll(() => page.locator('.detail table').last().textContent(), { timeout: 30_000, interval: 1_000 })
      .toContain('defined');
    await page.locator('#chart-window').selectOption('24h');
    await page.locator('#chart-window').selectOption('1h');
    await page.locator('svg.chart rect.bar-good').first().waitFor({ timeout: 20_000 });
    await shot('04-task-detail-firing');

    // The ledger: the instants it fired are listed as succeeded, none fired twice.
    await expect
      .poll(() => page.locator('#ledger tr[data-ledger-instant][data-outcome="succeeded"]').count(), {
        timeout: 30_000,
        interval: 1_000,
      })
      .toBeGreaterThan(0);
    expect(await page.locator('#ledger [data-count="doubled"]').textContent()).toBe('doubled 0');
    await page.locator('#ledger').screenshot({ path: join(SHOTS, '04b-task-ledger.png') });

    await page.getByRole('button', { name: 'Pause' }).click();
    await expect
      .poll(() => page.locator('.facts dd.paused').textContent(), { timeout: 10_000 })
      .toBe('paused');
    await shot('05-task-paused');
    await page.locator('a[href="#/tasks"]').first().click();
    await expect
      .poll(() => page.locator('tr[data-task="ui-every-second"] td.paused').textContent(), {
        timeout: 10_000,
      })
      .toBe('paused');
    await shot('06-tasks-after-pause');

    await page.locator('[data-nav="schedulers"]').click();
    await page.locator('tr[data-scheduler="local-a"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator('tr[data-scheduler]').count()).toBe(2);
    await shot('07-schedulers');

    await page.locator('[data-nav="executions"]').click();
    await page.locator('#execution-list tr[data-execution]').first().waitFor({ timeout: 10_000 });
    await page.locator('#x-taskId').fill('ui-every-second');
    await page.locator('#x-status').selectOption('succeeded');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=succeeded/);
    await expect
      .poll(async () => {
        const rows = await page.locator('#execution-list tr[data-execution]').all();
        const statuses = await Promise.all(rows.map((row) => row.getAttribute('data-status')));
        return statuses.length > 0 && statuses.every((status) => status === 'succeeded');
      })
      .toBe(true);
    await shot('08-executions-filtered');

    // Delete asks first: cancel keeps the task, confirm removes it.
    await page.locator('[data-nav="tasks"]').click();
    const row = page.locator('tr[data-task="ui-every-second"]');
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.locator('#confirm').waitFor();
    await shot('09-delete-confirm');
    await page.locator('#confirm-cancel').click();
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.locator('#confirm-ok').click();
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);

    expect(await page.locator('#backends').isHidden()).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 240_000);
});

async function startNono(): Promise<{ apiUrl: string; workerUrl: string; token: string }> {
  const tag = randomBytes(4).toString('hex');
  const env: Record<string, string | undefined> = {
    ...process.env,
    NONO_LOCAL_DIR: stateDir,
    NONO_API_PORT: String(await freePort()),
    NONO_HISTORY_PORT: String(await freePort()),
    NONO_WORKER_PORT: String(await freePort()),
    NONO_SCHEDULER_PORT_BASE: String(await twoFreePorts()),
    NONO_ZK_ROOT: `/nono-tests/ui-${tag}/nono`,
    NONO_TOPIC_PREFIX: `t.ui-${tag}.`,
    NONO_HISTORY_GROUP_ID: `ui-${tag}`,
    // The demo tasks give the pages something to show besides the task the test defines.
    NONO_LOCAL_DEMO_TASKS: '1',
    NONO_LOCAL_LOG: 'quiet',
    NONO_ZK_CONNECT: inject('zkConnect'),
    NONO_KAFKA_BROKERS: inject('kafkaBrokers'),
  };
  const child = spawn(process.execPath, [START_SCRIPT], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  script = child;
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`start-local exited:\n${output}`);
      return /nono is running\./.test(output) ? true : undefined;
    },
    90_000,
    `nono to start (output so far:\n${output.slice(-3000)})`,
  );
  const state = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as {
    urls: { api: string; worker: string };
    children: Array<{ pid: number }>;
  };
  childPids = state.children.map((c) => c.pid);
  return {
    apiUrl: state.urls.api,
    workerUrl: state.urls.worker,
    token: readFileSync(join(stateDir, 'local-token'), 'utf8').trim(),
  };
}
