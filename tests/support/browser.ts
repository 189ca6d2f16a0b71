import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { REPO_ROOT } from './processes.js';

const CHROMIUM = '/usr/bin/chromium';
/** Where browser tests leave their screenshots (created by `launchChromium`). */
export const SHOTS = join(REPO_ROOT, 'test-results/screenshots');

/** A headless Chromium (scripts/install-browser.sh installs it); says how to get it when missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium is not installed (${CHROMIUM} is missing): run scripts/install-browser.sh first.`,
    );
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
}

/** A new page at `url` signed in with `token` through the header's token box. */
export async function signedInPage(browser: Browser | undefined, url: string, token: string): Promise<Page> {
  if (browser === undefined) throw new Error('no browser');
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  await page.locator('#token').fill(token);
  await page.locator('#token-form button').click();
  return page;
}
