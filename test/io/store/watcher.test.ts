import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MailerError } from '../../../src/errors.js';
import { notificationAction, watchOrders, type OrderWatcher, type WatchOrdersOptions } from '../../../src/io/store/watcher.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

const watchers: OrderWatcher[] = [];

afterEach(async () => {
  for (const w of watchers.splice(0)) await w.close();
  await removeTmpDirs();
});

interface Seen {
  name: string;
  at: number;
}

function start(dir: string, opts: Partial<WatchOrdersOptions> = {}) {
  const seen: Seen[] = [];
  const errors: MailerError[] = [];
  const watcher = watchOrders({
    dir,
    pollSeconds: 0,
    onOrder: (name) => seen.push({ name, at: performance.now() }),
    onError: (err) => errors.push(err),
    ...opts,
  });
  watchers.push(watcher);
  return { watcher, seen, errors, names: () => [...new Set(seen.map((s) => s.name))].sort() };
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watchOrders', () => {
  it('reports the orders already in the folder at start', async () => {
    const dir = await makeTmpDir();
    await fs.writeFile(path.join(dir, '_CFD_MAIL_REQ_1.XML'), 'x');
    await fs.writeFile(path.join(dir, '_cfd_mail_req_2.xml'), 'x');
    const { names } = start(dir);
    await until(() => names().length === 2, 1000);
    expect(names()).toEqual(['_CFD_MAIL_REQ_1.XML', '_cfd_mail_req_2.xml']);
  });

  it('keeps one watch for the folder however many orders wait in it (counts fs.watch handles; on Linux inotify watches too)', async () => {
    const dir = await makeTmpDir();
    for (let i = 0; i < 2000; i++) await fs.writeFile(path.join(dir, `_CFD_MAIL_REQ_${i}.XML`), 'x');
    // Each fs.watch holds one FSEventWrap handle on every system; on Linux each also costs inotify watches, a limited kernel resource.
    const fsWatches = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
    const inotifyWatches = async () => {
      if (process.platform !== 'linux') return 0;
      let count = 0;
      for (const fd of await fs.readdir('/proc/self/fdinfo')) {
        const info = await fs.readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
        count += (info.match(/^inotify wd:/gm) ?? []).length;
      }
      return count;
    };
    const before = { handles: fsWatches(), inotify: await inotifyWatches() };
    const { names } = start(dir);
    await until(() => names().length === 2000, 5000);
    // chokidar lists the folder before it watches it, which under Wine takes a while with 2,000 entries.
    await until(() => fsWatches() > before.handles, 5000);
    await sleep(300);
    expect(fsWatches() - before.handles).toBe(1);
    expect((await inotifyWatches()) - before.inotify).toBeLessThanOrEqual(1);
  });

  it('reports a new order within a second of its creation', async () => {
    const dir = await makeTmpDir();
    const { seen } = start(dir);
    await sleep(300); // let the watcher settle
    const createdAt = performance.now();
    await fs.writeFile(path.join(dir, '_CFD_MAIL_REQ_NEW.XML'), 'x');
    await until(() => seen.some((s) => s.name === '_CFD_MAIL_REQ_NEW.XML'), 1000);
    expect(seen.find((s) => s.name === '_CFD_MAIL_REQ_NEW.XML')!.at - createdAt).toBeLessThan(1000);
  });

  it('reports an order renamed into the folder (the ERP writing a .tmp first) and changes to an order', async () => {
    const dir = await makeTmpDir();
    const { seen } = start(dir);
    await sleep(300);
    const tmp = path.join(dir, '_CFD_MAIL_REQ_7.XML.tmp');
    const order = path.join(dir, '_CFD_MAIL_REQ_7.XML');
    await fs.writeFile(tmp, 'x');
    await fs.rename(tmp, order);
    await until(() => seen.length > 0, 1000);
    expect(seen.map((s) => s.name)).toContain('_CFD_MAIL_REQ_7.XML');
    await sleep(300);
    const before = seen.length;
    await fs.appendFile(order, 'more');
    await until(() => seen.length > before, 1000);
    expect(seen.slice(before).map((s) => s.name)).toContain('_CFD_MAIL_REQ_7.XML');
  });

  it('reports nothing but orders: no other files, no sub-folders, nothing inside them', async () => {
    const dir = await makeTmpDir();
    await fs.mkdir(path.join(dir, 'enviados'));
    await fs.writeFile(path.join(dir, 'enviados', '_CFD_MAIL_REQ_OLD.XML'), 'x');
    const { seen, watcher, names } = start(dir);
    await sleep(300);
    for (const name of ['notes.txt', '_CFD_MAIL_REQ_1.XML.tmp', '~_CFD_MAIL_REQ_1.XML', '_CFD_MAIL_REQ_ 1.XML']) {
      await fs.writeFile(path.join(dir, name), 'x');
    }
    await fs.mkdir(path.join(dir, '_CFD_MAIL_REQ_DIR.XML'));
    await fs.mkdir(path.join(dir, 'errores'));
    await fs.writeFile(path.join(dir, 'errores', '_CFD_MAIL_REQ_2.XML'), 'x');
    await fs.writeFile(path.join(dir, 'enviados', '_CFD_MAIL_REQ_3.XML'), 'x');
    await fs.writeFile(path.join(dir, '_CFD_MAIL_REQ_MARK.XML'), 'x'); // written last: once seen, the others had their chance
    await until(() => seen.length > 0, 1000);
    await sleep(300);
    await watcher.rescan();
    expect(names()).toEqual(['_CFD_MAIL_REQ_MARK.XML']);
  });

  it('rescan() reports a file that chokidar has not reported (yet) before it resolves', async () => {
    const dir = await makeTmpDir();
    // Polling chokidar looks every 500 ms, so an order found within a few ms can only come from the rescan.
    const { seen, watcher } = start(dir, { usePolling: true });
    await sleep(600);
    await fs.writeFile(path.join(dir, '_CFD_MAIL_REQ_9.XML'), 'x');
    const started = performance.now();
    await watcher.rescan();
    expect(seen.map((s) => s.name)).toContain('_CFD_MAIL_REQ_9.XML');
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('rescans by itself every pollSeconds (the safety net for shares that lose events)', async () => {
    const dir = await makeTmpDir();
    await fs.writeFile(path.join(dir, '_CFD_MAIL_REQ_1.XML'), 'x');
    const { seen } = start(dir, { pollSeconds: 0.2 });
    await sleep(1100);
    // At start (twice: immediately and once chokidar is ready), then about every 200 ms.
    expect(seen.filter((s) => s.name === '_CFD_MAIL_REQ_1.XML').length).toBeGreaterThanOrEqual(5);
  });

  it('reports nothing after close()', async () => {
    const dir = await makeTmpDir();
    const { seen, watcher } = start(dir, { pollSeconds: 0.1 });
    await sleep(300);
    await watcher.close();
    const count = seen.length;
    await fs.writeFile(path.join(dir, '_CFD_MAIL_REQ_1.XML'), 'x');
    await sleep(400);
    await watcher.rescan();
    expect(seen.length).toBe(count);
  });

  it('reports a missing or vanished folder through onError as FS_ACCESS_FAILED, and keeps going', async () => {
    const dir = await makeTmpDir();
    const folder = path.join(dir, 'orders');
    const { errors, watcher, names } = start(folder);
    await until(() => errors.length > 0, 1000);
    expect(errors[0].code).toBe('FS_ACCESS_FAILED');
    expect(errors[0].message).toContain('ENOENT');
    await fs.mkdir(folder);
    await fs.writeFile(path.join(folder, '_CFD_MAIL_REQ_1.XML'), 'x');
    await watcher.rescan();
    expect(names()).toEqual(['_CFD_MAIL_REQ_1.XML']);
    // Once the folder is back, events are prompt again (no rescan needed).
    await sleep(300);
    await fs.writeFile(path.join(folder, '_CFD_MAIL_REQ_2.XML'), 'x');
    await until(() => names().length === 2, 1000);
  });

  it('acts on a notification by its name: checks an order, rescans when there is no name or (Windows) a short 8.3 name', () => {
    expect(notificationAction('_CFD_MAIL_REQ_7.XML')).toBe('check');
    expect(notificationAction('_cfd_mail_req_7.xml')).toBe('check');
    expect(notificationAction('')).toBe('rescan');
    for (const other of ['notes.txt', '_CFD_MAIL_REQ_7.XML.tmp', '~_CFD_MAIL_REQ_7.XML', 'enviados']) expect(notificationAction(other)).toBe('ignore');
    // Windows may name a file by its 8.3 alias in change notifications; Linux has no such aliases.
    expect(notificationAction('_CFD_M~1.XML', 'win32')).toBe('rescan');
    expect(notificationAction('_CFD_M~1.XML', 'linux')).toBe('ignore');
  });
});
