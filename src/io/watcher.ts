/**
 * Tells the caller which order files are in the order folder: chokidar events
 * for promptness, plus a plain readdir at start and every `pollSeconds` as the
 * safety net, because SMB/NFS shares lose change notifications. Names may be
 * reported more than once (the caller dedupes); every order present is
 * reported at least once per scan, and a new one within about a second.
 *
 * The folder is watched at depth 0 and only order names pass the filter, so
 * `enviados/`, `errores/`, the work area and the ERP's temporary files never
 * cost an event. The initial listing is done by our own scan (chokidar's
 * ignoreInitial is on), so start-up and safety-net scans behave the same.
 *
 * Reading a file that is still being written is guarded elsewhere:
 * `waitUntilComplete` (re-exported here).
 */
import path from 'node:path';
import chokidar from 'chokidar';
import { ErrorCodes, type MailerError, toMailerError } from '../errors.js';
import { ORDER_FILE_PATTERN } from '../order/types.js';
import { accessError, listOrderFiles } from './fsutil.js';

export { looksComplete, waitUntilComplete, type WaitOptions } from './readiness.js';

export interface WatchOrdersOptions {
  /** The order folder. */
  dir: string;
  /** Seconds between safety-net rescans; 0 or less: none. */
  pollSeconds: number;
  /** Called with the file name (not the path) of each order seen. */
  onOrder: (fileName: string) => void;
  /** Called for watch and listing failures; watching goes on. */
  onError: (err: MailerError) => void;
  /** Poll instead of native events (for shares where events never arrive). */
  usePolling?: boolean;
}

export interface OrderWatcher {
  /** Stops events and rescans; no callback is made after it resolves. */
  close(): Promise<void>;
  /** Lists the folder now and reports every order in it; never rejects (failures go to onError). */
  rescan(): Promise<void>;
}

export function watchOrders(opts: WatchOrdersOptions): OrderWatcher {
  const root = path.resolve(opts.dir);
  let closed = false;

  const fail = (err: MailerError) => {
    if (closed) return;
    try {
      opts.onError(err);
    } catch {
      /* a throwing error handler must not stop the watcher */
    }
  };

  const report = (fileName: string) => {
    if (closed) return;
    try {
      opts.onOrder(fileName);
    } catch (err) {
      fail(toMailerError(err, ErrorCodes.INTERNAL));
    }
  };

  // After a failed listing (share gone, folder removed) chokidar's native watch
  // is dead even once the folder is back; the first listing that works again
  // starts a new one, so events are prompt again without waiting for the poll.
  let folderLost = false;
  const scanOnce = async () => {
    try {
      const names = await listOrderFiles(root);
      if (folderLost && !closed) {
        folderLost = false;
        await restartChokidar();
      }
      for (const name of names) report(name);
    } catch (err) {
      folderLost = true;
      fail(accessError('list', root, err));
    }
  };

  // One scan at a time; a request during a scan runs one more scan after it
  // (the running one may have listed the folder before the file arrived).
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const rescan = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running === undefined) {
      running = scanOnce().finally(() => {
        running = undefined;
      });
      return running;
    }
    queued ??= running.then(() => {
      queued = undefined;
      return rescan();
    });
    return queued;
  };

  const onPath = (p: string) => {
    const name = path.basename(p);
    if (ORDER_FILE_PATTERN.test(name)) report(name);
  };
  const startChokidar = () => {
    const w = chokidar.watch(root, {
      depth: 0,
      ignoreInitial: true,
      persistent: true,
      followSymlinks: false,
      usePolling: opts.usePolling ?? false,
      interval: 500,
      binaryInterval: 500,
      ignored: (p, stats) => {
        if (path.resolve(p) === root) return false;
        if (stats !== undefined && !stats.isFile()) return true;
        return !ORDER_FILE_PATTERN.test(path.basename(p));
      },
    });
    w.on('add', onPath);
    w.on('change', onPath);
    w.on('error', (err) => fail(accessError('watch', root, err)));
    // Files created between our listing and chokidar being ready are caught here.
    w.on('ready', () => void rescan());
    return w;
  };
  let watcher = startChokidar();
  async function restartChokidar(): Promise<void> {
    const old = watcher;
    watcher = startChokidar();
    await old.close();
  }

  void rescan();
  const timer = opts.pollSeconds > 0 ? setInterval(() => void rescan(), opts.pollSeconds * 1000) : undefined;

  return {
    rescan,
    async close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      await watcher.close();
      await queued;
      await running;
    },
  };
}
