/**
 * A real headless Chromium for tests: Debian's `chromium` driven through
 * playwright-core (which downloads no browser of its own). Only the Linux
 * side has it; the Windows lane runs Node under Wine and has no Windows
 * Chromium, so browser tests are conditioned on `browserAvailable`.
 *
 * ```ts
 * const page = await scopedPage();          // closed after the test
 * await page.goto(`http://127.0.0.1:${port}/`);
 * ```
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterThisTest } from './scoped.js';

export const CHROMIUM = '/usr/bin/chromium';

/** True where a browser test can run: Linux (or another POSIX) with Debian's Chromium installed. */
export const browserAvailable = process.platform !== 'win32' && existsSync(CHROMIUM);

/** Set by .ci/run (as root it installs Chromium): a missing browser then fails instead of being left out. */
export const browserRequired = process.env.PROSCAI_REQUIRE_CHROMIUM === '1' && process.platform !== 'win32';

let browser: Promise<Browser> | undefined;

/** The one browser of this test file, launched on first use (`closeBrowser` in afterAll). */
export function sharedBrowser(): Promise<Browser> {
  browser ??= chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  return browser;
}

export async function closeBrowser(): Promise<void> {
  if (browser !== undefined) await (await browser).close();
  browser = undefined;
}

/**
 * A page in a fresh context (no cookies shared with other tests), closed after
 * the test; waiting for an element gives up after 5 s unless told otherwise. Script errors in the page fail loudly: they are collected in
 * `errors`, which a test checks is empty.
 */
export async function scopedPage(options: BrowserContextOptions = {}): Promise<{ page: Page; errors: string[] }> {
  const context = await (await sharedBrowser()).newContext(options);
  afterThisTest(() => context.close());
  // A missing element fails in seconds, with the locator in the message, not at the test's timeout.
  context.setDefaultTimeout(5_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return { page, errors };
}
