/**
 * The status window in a real browser: Debian's headless Chromium, driven by
 * playwright-core, against the real `proscai-mailer run --ui` (the built CLI
 * as a child process) watching a real temp folder and sending through a real
 * SMTP server (smtp-server), whose refusals the test scripts and lifts.
 *
 * Only where the browser exists: the Windows lane runs Node under Wine and has
 * no Windows Chromium, so there these cases are left out by their condition;
 * under PROSCAI_REQUIRE_CHROMIUM=1 (set by .ci/run, which installs Chromium
 * as root) a missing browser fails instead.
 *
 * With PROSCAI_SCREENSHOTS=<folder> the page is also photographed there
 * (es.png, en.png) with a failed and a deferred order.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, browserRequired, CHROMIUM, closeBrowser, scopedPage } from '../helpers/browser.js';
import { eventually, type RunningCli } from '../helpers/cli.js';
import { scopedCli, scopedSink } from '../helpers/scoped.js';
import type { SmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { simpleOrder } from './folder.js';

afterAll(closeBrowser);
afterAll(removeTmpDirs);

const HOSTILE_SUBJECT = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';

/** The XML text of a string (the order file carries the subject escaped, as the ERP writes it). */
const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An SMTP server that refuses the addresses in `refused` (550) and `busy` (451) until the test says otherwise. */
async function scriptedServer(): Promise<{ sink: SmtpSink; refused: Set<string>; busy: Set<string> }> {
  const refused = new Set<string>();
  const busy = new Set<string>();
  const sink = await scopedSink({
    rcptError: (address) =>
      refused.has(address)
        ? { code: 550, message: `5.1.1 <${address}>: mailbox unavailable` }
        : busy.has(address)
          ? { code: 451, message: '4.7.1 Greylisted, try again later' }
          : undefined,
  });
  return { sink, refused, busy };
}

/** Writes an order the way the ERP's "write then rename" does; resolves at the rename. */
async function dropOrder(dir: string, id: string, xml: string): Promise<number> {
  const name = `_CFD_MAIL_REQ_${id}.XML`;
  await writeFile(path.join(dir, `${name}.tmp`), xml);
  await rename(path.join(dir, `${name}.tmp`), path.join(dir, name));
  return Date.now();
}

/** `run --ui` on a free loopback port; resolves with the window's base URL once it listens and the mailer watches. */
async function startWindow(dir: string | undefined, args: string[] = [], env: Record<string, string> = {}): Promise<{ cli: RunningCli; base: string }> {
  const cli = scopedCli(['run', ...(dir === undefined ? [] : ['--dir', dir]), '--retry', '600', '--ui', '127.0.0.1:0', ...args], env);
  const base = await eventually(() => /(http:\/\/127\.0\.0\.1:\d+)/.exec(cli.stderr())?.[1], 15_000, `the status window's address (stderr: ${cli.stderr()})`);
  await eventually(() => /vigila|is watching/.test(cli.stderr()), 15_000, 'the mailer watching');
  return { cli, base };
}

/** The failed order's card. */
/** The part of /api/page-state these tests read: one folder's reasons by order id. */
interface PageReasons {
  status: { dir: string };
  reasons: Record<string, Record<string, string>>;
}

const failedCard = (page: Page, id: string) => page.locator(`.order.failed[data-order="${id}"]`);
const deferredCard = (page: Page, id: string) => page.locator(`.order.deferred[data-order="${id}"]`);

/** Marks the document, so that a test can tell it was never reloaded. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
}
async function sameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true);
}

/** `run --ui` on a new empty folder, with the page open on it (all well) and marked; orders come after. */
async function openOnEmptyFolder(): Promise<{ dir: string; base: string; page: Page; errors: string[] }> {
  const dir = await makeTmpDir('proscai-ui-');
  const { base } = await startWindow(dir);
  const { page, errors } = await scopedPage();
  await page.goto(`${base}/`);
  await page.locator('.alerts.ok').waitFor({ timeout: 10_000 });
  await markDocument(page);
  return { dir, base, page, errors };
}

// Linux only: the Windows lane (Node under Wine) has no Windows Chromium; see ui-browser-wine.test.ts for
// the Windows build of the mailer driven from this side's browser.
describe.runIf(browserAvailable || browserRequired)('the status window in headless Chromium (run --ui)', () => {
  beforeAll(() => {
    if (!browserAvailable) throw new Error(`PROSCAI_REQUIRE_CHROMIUM=1 but ${CHROMIUM} is missing: apt-get install chromium (.ci/run does as root)`);
  });

  it('shows a failed order with its reason and timeline; once the cause is fixed, Reintentar sends it and the page shows it sent, without reload', async () => {
    const { sink, refused } = await scriptedServer();
    refused.add('cobranza@cliente.example');
    const { dir, base, page, errors } = await openOnEmptyFolder();
    await dropOrder(dir, 'F1', simpleOrder({ port: sink.port, to: 'cobranza@cliente.example', subject: 'Factura F-1', company: 'ACME' }));

    const card = failedCard(page, 'F1');
    await card.waitFor({ timeout: 10_000 });
    expect(await page.locator('html').getAttribute('lang')).toBe('es');
    expect(await card.locator('.to dd').textContent()).toBe('cobranza@cliente.example');
    expect(await card.locator('.subject dd').textContent()).toBe('Factura F-1');
    // The reason in plain words is the server's own (PageState.reasons), and names what refused.
    const reason = await expect
      .poll(() => card.locator('.reason dd').textContent({ timeout: 500 }).catch(() => '(no reason shown)'), { timeout: 5_000 })
      .toMatch(/550|cobranza@cliente\.example/)
      .then(() => card.locator('.reason dd').textContent());
    const state = (await (await page.request.get(`${base}/api/page-state`)).json()) as PageReasons;
    expect(reason).toBe(state.reasons[state.status.dir]!.F1);
    // The company's counters: one failed in 24 h, none sent.
    const acme = page.locator('.company[data-company="ACME"]');
    expect(await acme.locator('.failed dd').textContent()).toBe('1');
    expect(await acme.locator('.sent dd').textContent()).toBe('0');
    // Something needs a person (the company's server refuses), said at the top.
    await page.locator('.alerts.bad li').first().waitFor({ timeout: 5_000 });
    expect(await page.title()).toBe(`(${await page.locator('.alerts.bad li').count()}) proscai-mailer: estado de los envíos`);

    // The timeline (what `trace` shows), one click away.
    await card.locator('details.timeline summary').click();
    await expect.poll(() => card.locator('details.timeline pre').textContent({ timeout: 500 }), { timeout: 5_000 }).toMatch(/F1[\s\S]*FALLÓ/);

    // Fix the cause, press Reintentar: the button is disabled until the answer comes, and the answer is shown.
    refused.clear();
    const button = card.locator('button.retry');
    expect(await button.textContent()).toBe('Reintentar');
    let answer: () => void = () => {};
    const held = new Promise<void>((resolve) => (answer = resolve));
    await page.route('**/api/orders/F1/retry*', async (route) => {
      await held;
      await route.continue();
    });
    await button.click();
    // While the request is on its way: disabled, saying so (the request is held by the test until here).
    await expect.poll(() => button.isDisabled(), { timeout: 2_000 }).toBe(true);
    expect(await button.textContent()).toBe('Reintentando…');
    answer();
    await sink.waitForMessages(1, 10_000);
    expect(sink.messages[0].envelope.to).toEqual(['cobranza@cliente.example']);
    expect(sink.messages[0].parsed.subject).toBe('Factura F-1');
    // The page follows by itself: the order is reported sent, the failed card and the alert go, sent (24 h) counts it.
    await page.locator('.retried-order.sent[data-order="F1"]').waitFor({ timeout: 5_000 });
    expect(await page.locator('.retried-order[data-order="F1"] .message').textContent()).not.toBe('');
    await card.waitFor({ state: 'detached', timeout: 5_000 });
    await expect.poll(() => acme.locator('.sent dd').textContent({ timeout: 500 }), { timeout: 5_000 }).toBe('1');
    await expect.poll(() => page.locator('.alerts.ok').count(), { timeout: 5_000 }).toBe(1);
    expect(await page.locator('.alerts.ok').textContent()).toMatch(/todo en orden/i);
    expect(await page.title()).toBe('proscai-mailer: estado de los envíos');
    expect(sink.messages).toHaveLength(1);
    expect(await sameDocument(page)).toBe(true);
    expect(errors).toEqual([]);
  });

  it('shows a new order within 2 s of it appearing in the folder, without reload, and a hostile subject as plain text', async () => {
    const { sink, refused, busy } = await scriptedServer();
    refused.add('rechazo@cliente.example');
    busy.add('ocupado@cliente.example');
    const { dir, page, errors } = await openOnEmptyFolder();

    // A new order (its server answers "try later"): its company shows up with it within 2 s, then the
    // order itself as deferred, with the server's reply and its next try.
    expect(await page.locator('.company').count()).toBe(0);
    const droppedAt = await dropOrder(dir, 'N1', simpleOrder({ port: sink.port, to: 'ocupado@cliente.example', company: 'ACME' }));
    await page.locator('.company[data-company="ACME"]').waitFor({ timeout: 5_000 });
    const shownAfter = Date.now() - droppedAt;
    expect(shownAfter).toBeLessThan(2_000);
    await deferredCard(page, 'N1').waitFor({ timeout: 5_000 });
    expect(await deferredCard(page, 'N1').locator('.last-reply dd').textContent()).toMatch(/451|Greylisted/);
    expect(await deferredCard(page, 'N1').locator('.next-try dd').textContent()).not.toBe('');
    expect(await page.locator('.company[data-company="ACME"] .deferred dd').textContent()).toBe('1');

    // An order whose Asunto is markup: shown as the very text, nothing of it runs or loads.
    await dropOrder(dir, 'X1', simpleOrder({ port: sink.port, to: 'rechazo@cliente.example', company: 'ACME', subject: xmlText(HOSTILE_SUBJECT) }));
    const card = failedCard(page, 'X1');
    await card.waitFor({ timeout: 5_000 });
    expect(await card.locator('.subject dd').textContent()).toBe(HOSTILE_SUBJECT);
    await card.locator('details.timeline summary').click();
    await expect.poll(() => card.locator('details.timeline pre').textContent({ timeout: 500 }), { timeout: 5_000 }).toMatch(/X1/);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(1);
    expect(await sameDocument(page)).toBe(true);
    expect(sink.messages).toHaveLength(0);
    expect(errors).toEqual([]);
    console.info(`[ui-browser] a new order showed on the page ${shownAfter} ms after it was dropped`);
  });

  it('speaks English with ?lang=en, and photographs both languages with a failed and a deferred order', async () => {
    const { sink, refused, busy } = await scriptedServer();
    refused.add('cobranza@cliente.example');
    busy.add('compras@almacen.example');
    const dir = await makeTmpDir('proscai-ui-');
    await dropOrder(dir, '0042_20261203093015', simpleOrder({ port: sink.port, to: 'cobranza@cliente.example', company: 'ACME', subject: 'Factura F-20931 <CFDI>'.replace(/</g, '&lt;').replace(/>/g, '&gt;') }));
    await dropOrder(dir, '0107_20261203101500', simpleOrder({ port: sink.port, to: 'compras@almacen.example', company: 'ALMACENES GARCIA', subject: 'Estado de cuenta noviembre' }));
    const { base } = await startWindow(dir);
    // This case is about the words, not the live updates: open the page once the mailer has tried both.
    await eventually(async () => {
      const state = (await (await fetch(`${base}/api/page-state?lang=en`)).json()) as PageReasons;
      const reasons = state.reasons[state.status.dir] ?? {};
      return reasons['0042_20261203093015'] !== undefined && reasons['0107_20261203101500'] !== undefined;
    }, 15_000, 'both orders tried');

    const { page, errors } = await scopedPage({ viewport: { width: 412, height: 915 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
    await page.goto(`${base}/?lang=en`);
    await failedCard(page, '0042_20261203093015').waitFor({ timeout: 10_000 });
    await deferredCard(page, '0107_20261203101500').waitFor({ timeout: 10_000 });
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.title()).toMatch(/status/i);
    const card = failedCard(page, '0042_20261203093015');
    expect(await card.locator('button.retry').textContent()).toBe('Retry');
    // The server's sentences come in English too: the reason and the alert are the English page state's.
    await expect.poll(() => card.locator('.reason dd').textContent({ timeout: 500 }).catch(() => ''), { timeout: 5_000 }).toMatch(/550/);
    const state = (await (await page.request.get(`${base}/api/page-state?lang=en`)).json()) as PageReasons & { lang: string; alerts: string[] };
    expect(state.lang).toBe('en');
    expect(await card.locator('.reason dd').textContent()).toBe(state.reasons[state.status.dir]!['0042_20261203093015']);
    expect(await page.locator('.order.failed dt').allTextContents()).toEqual(['Failed', 'To', 'Subject', 'Reason']);
    await expect.poll(() => page.locator('.alerts.bad li').allTextContents(), { timeout: 5_000 }).toEqual(state.alerts);
    expect(state.alerts.join(' ')).toMatch(/ACME/);
    await card.locator('details.timeline summary').click();
    await expect.poll(() => card.locator('details.timeline pre').textContent({ timeout: 500 }), { timeout: 5_000 }).toMatch(/FAILED/);
    expect(await page.locator('body').textContent()).not.toMatch(/Reintentar|Motivo|En espera/);
    // Readable on a phone: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(412);

    const shots = process.env.PROSCAI_SCREENSHOTS;
    if (shots !== undefined && shots !== '') {
      await mkdir(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, 'en.png'), fullPage: true });
      await page.goto(`${base}/`);
      const es = failedCard(page, '0042_20261203093015');
      await es.waitFor({ timeout: 10_000 });
      await es.locator('details.timeline summary').click();
      await expect.poll(() => es.locator('details.timeline pre').textContent({ timeout: 500 }), { timeout: 5_000 }).toMatch(/FALLÓ/);
      await page.screenshot({ path: path.join(shots, 'es.png'), fullPage: true });
    }
    expect(errors).toEqual([]);
  });

  it('says when the connection to the mailer is lost and comes back by itself when the mailer is back', async () => {
    const { sink } = await scriptedServer();
    const dir = await makeTmpDir('proscai-ui-');
    const first = await startWindow(dir);
    const { page } = await scopedPage();
    await page.goto(`${first.base}/`);
    await page.locator('#conn.live').waitFor({ timeout: 10_000 });
    await markDocument(page);

    first.cli.child.kill('SIGTERM');
    await first.cli.exited;
    await page.locator('#lost:not([hidden])').waitFor({ timeout: 10_000 });
    expect(await page.locator('#lost').textContent()).toMatch(/reconectando/);
    expect(await page.locator('#conn').getAttribute('class')).toContain('lost');

    // The same address again: the page reconnects and shows what happened meanwhile.
    const port = new URL(first.base).port;
    const cli = scopedCli(['run', '--dir', dir, '--retry', '600', '--ui', `127.0.0.1:${port}`]);
    await eventually(() => /vigila|is watching/.test(cli.stderr()), 15_000, 'the mailer watching again');
    await page.locator('#conn.live').waitFor({ timeout: 15_000 });
    expect(await page.locator('#lost').isHidden()).toBe(true);
    await dropOrder(dir, 'B1', simpleOrder({ port: sink.port, company: 'ACME' }));
    await sink.waitForMessages(1, 10_000);
    await expect.poll(() => page.locator('.company[data-company="ACME"] .sent dd').textContent({ timeout: 500 }), { timeout: 5_000 }).toBe('1');
    expect(await sameDocument(page)).toBe(true);
  });

  it('with several order folders: one section per folder, each with its own orders, and Reintentar finds the order in its folder', async () => {
    const { sink, refused } = await scriptedServer();
    refused.add('cobranza@beta.example');
    const root = await makeTmpDir('proscai-ui-folders-');
    const [a, b] = [path.join(root, 'acme'), path.join(root, 'beta')];
    await mkdir(a);
    await mkdir(b);
    const config = path.join(root, 'config.json');
    await writeFile(config, JSON.stringify({ folders: [{ dir: a }, { dir: b }] }));
    const { base } = await startWindow(undefined, ['--config', config]);
    const { page, errors } = await scopedPage();
    await page.goto(`${base}/`);

    const folders = page.locator('section.folder');
    await expect.poll(() => folders.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-dir'))), { timeout: 10_000 }).toEqual([a, b]);
    expect(await folders.locator('h2').first().textContent()).toBe(`Carpeta: ${a}`);
    await dropOrder(a, 'A1', simpleOrder({ port: sink.port, company: 'ACME' }));
    await dropOrder(b, 'B1', simpleOrder({ port: sink.port, company: 'BETA', to: 'cobranza@beta.example' }));
    const [inA, inB] = [page.locator(`section.folder[data-dir="${a}"]`), page.locator(`section.folder[data-dir="${b}"]`)];
    await expect.poll(() => inA.locator('.company[data-company="ACME"] .sent dd').textContent({ timeout: 500 }).catch(() => ''), { timeout: 10_000 }).toBe('1');
    const card = inB.locator('.order.failed[data-order="B1"]');
    await card.waitFor({ timeout: 10_000 });
    expect(await inA.locator('.order.failed').count()).toBe(0);
    expect(await inB.locator('.company').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-company')))).toEqual(['BETA']);

    refused.clear();
    await card.locator('button.retry').click();
    await sink.waitForMessages(2, 10_000);
    expect(sink.messages.map((m) => m.envelope.to[0]).sort()).toEqual(['cliente@example.com', 'cobranza@beta.example']);
    await page.locator('.retried-order.sent[data-order="B1"]').waitFor({ timeout: 5_000 });
    await expect.poll(() => inB.locator('.company[data-company="BETA"] .sent dd').textContent({ timeout: 500 }).catch(() => ''), { timeout: 5_000 }).toBe('1');
    expect(errors).toEqual([]);
  });

  it('with a token: 401 without it; opened as /?token=… the page works, live, and Reintentar is accepted; a changed token is said on the page', async () => {
    const { sink, refused } = await scriptedServer();
    refused.add('cobranza@cliente.example');
    const dir = await makeTmpDir('proscai-ui-');
    const config = path.join(await makeTmpDir('proscai-ui-config-'), 'config.json');
    await writeFile(config, JSON.stringify({ ui: { tokenEnv: 'PROSCAI_TEST_UI_TOKEN' } }));
    const token = 'prueba-7f3a9c1e-token';
    const { cli, base } = await startWindow(dir, ['--config', config], { PROSCAI_TEST_UI_TOKEN: token });
    const { page, errors } = await scopedPage();

    // Without the token nothing is served: not the page, not its data, not its script.
    for (const route of ['/', '/app.js', '/api/page-state', '/api/status', '/api/events']) {
      expect((await page.request.get(`${base}${route}`)).status(), route).toBe(401);
    }
    expect((await page.request.get(`${base}/?token=wrong`)).status()).toBe(401);
    expect((await page.request.post(`${base}/api/orders/F1/retry`)).status()).toBe(401);

    // With it: the server sets its cookie and sends the browser to / without the token in the address.
    await page.goto(`${base}/?token=${token}`);
    expect(new URL(page.url()).search).toBe('');
    await page.locator('.alerts.ok').waitFor({ timeout: 10_000 });
    expect(await page.content()).not.toContain(token);
    await markDocument(page);
    await dropOrder(dir, 'F1', simpleOrder({ port: sink.port, to: 'cobranza@cliente.example', company: 'ACME' }));
    const card = failedCard(page, 'F1');
    await card.waitFor({ timeout: 5_000 });
    refused.clear();
    await card.locator('button.retry').click();
    await sink.waitForMessages(1, 10_000);
    await page.locator('.retried-order.sent[data-order="F1"]').waitFor({ timeout: 5_000 });
    expect(await sameDocument(page)).toBe(true);
    // The 401 answers above were the test's own requests, not the page's.
    expect(errors).toEqual([]);

    // A new token (the mailer restarted with it on the same address): the open page's cookie no longer
    // opens anything, and the page says what to do instead of "reconnecting" for ever.
    cli.child.kill('SIGTERM');
    await cli.exited;
    const again = scopedCli(['run', '--dir', dir, '--retry', '600', '--config', config, '--ui', `127.0.0.1:${new URL(base).port}`], { PROSCAI_TEST_UI_TOKEN: 'otro-token-9b2d' });
    await eventually(() => /vigila/.test(again.stderr()), 15_000, 'the mailer watching again');
    await expect.poll(() => page.locator('#lost').textContent(), { timeout: 15_000 }).toMatch(/token/);
    expect(await page.locator('#lost').isVisible()).toBe(true);
  });
});
