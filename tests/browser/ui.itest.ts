import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
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

/** Tokens besides start-local's admin one (NONO_API_TOKENS is added to its list). */
const VIEWER_TOKEN = `ui-viewer-${randomBytes(8).toString('hex')}`;
const OPERATOR_TOKEN = `ui-operator-${randomBytes(8).toString('hex')}`;
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

interface Running {
  readonly apiUrl: string;
  readonly workerUrl: string;
  readonly token: string;
  readonly page: Page;
  readonly pageErrors: string[];
  readonly shot: (name: string) => Promise<Buffer>;
  readonly signIn: (token: string) => Promise<void>;
}
let running: Promise<Running> | undefined;

/** One nono and one browser for every test of the file, started by the first that needs them. */
function nonoAndBrowser(): Promise<Running> {
  running ??= (async () => {
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
    const signIn = async (with_: string): Promise<void> => {
      // Signed in already (the header shows Sign out instead of the token box): sign out first.
      const signOut = page.locator('#sign-out');
      if (await signOut.isVisible()) await signOut.click();
      await page.locator('#token').fill(with_);
      await page.locator('#token-form button').click();
    };
    return { apiUrl, workerUrl, token, page, pageErrors, shot, signIn };
  })();
  return running;
}

describe('web UI (Chromium)', () => {
  it('defines a task in the form, sees it fire, pauses it, and shows schedulers and executions', async () => {
    const { apiUrl, workerUrl, token, page, pageErrors, shot } = await nonoAndBrowser();

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

    // Editing the schedule shows, before saving, the instants of the next 7 days the change
    // adds and removes (every second → every 2 seconds: half of them go).
    await page.goto(`${apiUrl}/#/tasks/ui-every-second/edit`);
    await expect
      .poll(() => page.locator('#f-schedule-everyMs').inputValue(), { timeout: 10_000 })
      .toBe('1000');
    await page.locator('#f-schedule-everyMs').fill('2000');
    await expect
      .poll(() => page.locator('#schedule-diff').textContent(), { timeout: 10_000 })
      .toMatch(/^Next 7 days( \(compared up to [^)]+\))?: 0 instants added, \d+ removed \(first /);
    await shot('05b-form-schedule-diff');
    await page.goto(`${apiUrl}/#/tasks/ui-every-second`);
    await page.locator('.facts dd.paused').waitFor({ timeout: 10_000 });
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

    // Tokens: create one (its secret shows once, and works), see it listed, revoke it.
    await page.locator('nav a[data-nav="tokens"]').click();
    await page.locator('#t-name').fill('ui-made');
    await page.locator('#t-role').selectOption('viewer');
    await page.locator('#t-expires').fill('7');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.locator('#token-secret code').textContent({ timeout: 10_000 })) ?? '';
    expect(secret).toMatch(/^nono_/);
    const used = await fetch(`${apiUrl}/api/v1/tasks`, { headers: { authorization: `Bearer ${secret}` } });
    expect(used.status).toBe(200);
    const tokenRow = page.locator('tr[data-token="ui-made"]');
    await expect.poll(() => tokenRow.count(), { timeout: 10_000 }).toBe(1);
    await shot('10-tokens');
    await tokenRow.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('#confirm-ok').click();
    await expect.poll(() => tokenRow.count(), { timeout: 10_000 }).toBe(0);
    const refused = await fetch(`${apiUrl}/api/v1/tasks`, { headers: { authorization: `Bearer ${secret}` } });
    expect(refused.status).toBe(401);

    expect(await page.locator('#backends').isHidden()).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 240_000);

  it('lists open alerts; an operator acknowledges and silences one, a viewer sees no action; the task page shows its rules', async () => {
    const { apiUrl, workerUrl, token, page, pageErrors, shot, signIn } = await nonoAndBrowser();
    const admin = async (method: string, path: string, body: unknown): Promise<void> => {
      const response = await fetch(`${apiUrl}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (response.status >= 300)
        throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    };
    // A rule for the task, one for every task, and one whose label the task does not carry.
    await admin('PUT', '/alerts/rules/ui-failing-fails', {
      name: 'ui-failing fails',
      scope: { kind: 'task', taskId: 'ui-failing' },
      condition: { kind: 'failed' },
      channels: [
        { kind: 'email', to: ['oncall@example.com'] },
        { kind: 'teams', url: 'http://127.0.0.1:9/teams' },
        { kind: 'google-chat', url: 'http://localhost:9/chat?key=k&token=t' },
      ],
    });
    await admin('PUT', '/alerts/rules/everything-dead-man', {
      name: 'nothing silent',
      scope: { kind: 'all' },
      condition: { kind: 'dead-man', graceMs: 600_000 },
    });
    await admin('PUT', '/alerts/rules/payments-only', {
      name: 'payments',
      scope: { kind: 'label', selector: 'team:payments' },
      condition: { kind: 'failed' },
    });
    // Every call answers 404 (no such job on the worker): each instant fails after its one attempt.
    await admin('POST', '/tasks', {
      id: 'ui-failing',
      name: 'UI: always fails',
      schedule: { kind: 'interval', everyMs: 2000 },
      target: { url: `${workerUrl}/no-such-job`, timeoutMs: 2000 },
      labels: { team: 'ui' },
    });

    await page.goto(apiUrl);
    await signIn(OPERATOR_TOKEN);
    await page.locator('[data-nav="alerts"]').click();
    const alertRow = page.locator('#alert-list tr[data-alert]').filter({ hasText: 'ui-failing' });
    await alertRow.first().waitFor({ timeout: 60_000 });
    expect(await alertRow.count()).toBe(1);
    expect(await alertRow.getAttribute('data-state')).toBe('open');
    expect(await alertRow.textContent()).toContain('ui-failing-fails');
    await shot('10-alerts-open');

    await alertRow.getByRole('button', { name: 'Acknowledge' }).click();
    await page.locator('#alert-action').waitFor();
    // An empty note is refused by the API and the dialog says so (stays open).
    await page.locator('#alert-action-ok').click();
    await expect
      .poll(() => page.locator('#alert-action-error').textContent(), { timeout: 10_000 })
      .toMatch(/note/);
    await page.locator('#alert-note').fill('looking at the worker');
    await shot('11-alert-acknowledge-dialog');
    await page.locator('#alert-action-ok').click();
    await expect.poll(() => alertRow.getAttribute('data-state'), { timeout: 10_000 }).toBe('acknowledged');
    expect(await alertRow.textContent()).toContain('looking at the worker');

    await alertRow.getByRole('button', { name: 'Silence' }).click();
    await page.locator('#alert-silence-for').selectOption({ label: '4 hours' });
    await page.locator('#alert-note').fill('maintenance window');
    await page.locator('#alert-action-ok').click();
    await expect.poll(() => alertRow.getAttribute('data-state'), { timeout: 10_000 }).toBe('silenced');
    await shot('12-alert-silenced');
    const [read] = (
      (await (
        await fetch(`${apiUrl}/api/v1/alerts?taskId=ui-failing`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as { alerts: { acknowledged: { by: string }; silencedUntil: string }[] }
    ).alerts;
    expect(read?.acknowledged.by).toBe(`operator:${sha256(OPERATOR_TOKEN).slice(0, 12)}`);
    expect(Date.parse(read?.silencedUntil ?? '') - Date.now()).toBeGreaterThan(3.9 * 3_600_000);

    // The task page: its open alert, and the rules whose scope takes it in (not the label rule).
    await alertRow.getByRole('link', { name: 'ui-failing' }).click();
    await page.waitForURL(/#\/tasks\/ui-failing$/);
    await page.locator('#task-rules tr[data-rule="ui-failing-fails"]').waitFor({ timeout: 10_000 });
    const ruleRows = await page.locator('#task-rules tr[data-rule]').all();
    expect(await Promise.all(ruleRows.map((row) => row.getAttribute('data-rule')))).toEqual([
      'everything-dead-man',
      'ui-failing-fails',
    ]);
    expect(await page.locator('#task-rules').textContent()).toContain(
      'no success within 10 min of a due instant',
    );
    // Channels by name and host, never the whole URL (chat webhook URLs carry their credentials).
    const notifies = (await page.locator('#task-rules tr[data-rule="ui-failing-fails"]').textContent()) ?? '';
    expect(notifies).toContain(
      'email to oncall@example.com, Microsoft Teams (127.0.0.1:9), Google Chat (localhost:9)',
    );
    expect(notifies).not.toContain('token=t');
    await page.locator('#task-alerts tr[data-alert][data-state="silenced"]').waitFor({ timeout: 10_000 });
    await page.locator('#task-alerts').scrollIntoViewIfNeeded();
    await shot('13-task-alerts-and-rules');

    // The audit page, from the alerts page's link: the rule changes (alerts topic → history), who made them.
    await page.locator('[data-nav="alerts"]').click();
    await page.locator('#rule-changes').click();
    await page.waitForURL(/#\/audit\?subject=alert-rule$/);
    const ruleChange = page
      .locator('#audit-list tr[data-subject="alert-rule"]')
      .filter({ hasText: 'ui-failing-fails' });
    await ruleChange.first().waitFor({ timeout: 30_000 });
    const change = (await ruleChange.first().textContent()) ?? '';
    expect(change).toContain('alert-rule defined');
    expect(change).toMatch(/admin:[0-9a-f]{12}/);
    expect(change).toContain('Microsoft Teams (127.0.0.1:9)');
    expect(await page.locator('#audit-list tr[data-subject="task"]').count()).toBe(0);
    await shot('15-audit-rule-changes');

    // A viewer sees the same alerts, without the operators' buttons.
    await signIn(VIEWER_TOKEN);
    await page.locator('[data-nav="alerts"]').click();
    await alertRow.first().waitFor({ timeout: 10_000 });
    expect(await page.locator('#alert-list button').count()).toBe(0);
    await page.locator('#alert-list').screenshot({ path: join(SHOTS, '14-alerts-viewer.png') });

    await admin('DELETE', '/tasks/ui-failing', undefined);
    expect(pageErrors).toEqual([]);
  }, 180_000);
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
    NONO_ALERTS_PORT: String(await freePort()),
    NONO_ALERTS_GROUP_ID: `ui-alerts-${tag}`,
    NONO_API_TOKENS: [`viewer:${sha256(VIEWER_TOKEN)}`, `operator:${sha256(OPERATOR_TOKEN)}`].join(','),
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
