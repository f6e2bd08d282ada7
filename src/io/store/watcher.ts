/**
 * Tells the caller which order files are in the order folder: the operating
 * system's change notifications on the folder itself for promptness, plus a
 * plain readdir at start and every `pollSeconds` as the safety net, because
 * SMB/NFS shares lose change notifications. Names may be reported more than
 * once (the caller dedupes); every order present is reported at least once per
 * scan, and a new one within about a second.
 *
 * How chokidar is used: by default, at depth 0, it opens one watch per FILE
 * (one inotify watch each on Linux, where the default limit can be 8,192)
 * and stats entries on every change; with thousands of orders waiting that
 * slowed everything else down, including another company's order
 * (test/reliability/fairness.test.ts). So every entry of the folder is
 * "ignored": chokidar keeps one watch, on the folder, and its `raw` events
 * still name the file that changed; each such event costs one lstat of that
 * one file.
 *
 * chokidar hands its `ignored` test every path with `/` separators, on
 * Windows too (`C:/envio`, `//server/share`), so the folder is recognised by
 * resolving that spelling, case-insensitively on Windows: a plain comparison
 * with `C:\envio` would ignore the folder itself, leaving no events at all.
 *
 * Only order names that are regular files are reported, so `enviados/`,
 * `errores/`, the work area and the ERP's temporary files never cost an event;
 * an entry named like an order that is something else (a symbolic link, a
 * folder) goes to `onNotAFile` instead, so that it is not ignored silently.
 * A notification names the entry relative to the folder (`fs.watch` gives the
 * bare name on Linux and Windows); one without a name (some platforms), or
 * with a Windows short name (`_CFD_M~1.XML`: Windows may report either the
 * long or the 8.3 name of a file), triggers a rescan.
 *
 * Reading a file that is still being written is guarded elsewhere:
 * `waitUntilComplete` (io/store/readiness.ts).
 */
import chokidar, { type FSWatcher } from 'chokidar';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, type MailerError, toMailerError } from '../../errors.js';
import { ORDER_FILE_PATTERN } from '../../order/types.js';
import { accessError, entryKind, errnoOf, listOrderEntries, type NotAFile } from './files.js';

export interface WatchOrdersOptions {
  /** The order folder. */
  dir: string;
  /** Seconds between safety-net rescans; 0 or less: none. */
  pollSeconds: number;
  /** Called with the file name (not the path) of each order seen. */
  onOrder: (fileName: string) => void;
  /**
   * Called for each entry named like an order that is not a regular file (a
   * symbolic link, a folder…), at every scan and notification that sees it;
   * such entries are never reported as orders.
   */
  onNotAFile?: (entry: NotAFile) => void;
  /** Called for watch and listing failures; watching goes on. */
  onError: (err: MailerError) => void;
  /** No native notifications: list the folder every `pollingMs` instead (for shares where events never arrive). */
  usePolling?: boolean;
  /** Interval of the listing when `usePolling` is set; default 1000 ms. */
  pollingMs?: number;
}

export interface OrderWatcher {
  /** Stops events and rescans; no callback is made after it resolves. */
  close(): Promise<void>;
  /** Lists the folder now and reports every order in it; never rejects (failures go to onError). */
  rescan(): Promise<void>;
}

export function watchOrders(opts: WatchOrdersOptions): OrderWatcher {
  const root = path.resolve(opts.dir);
  const isRoot = sameAs(root);
  let closed = false;

  const fail = (err: MailerError) => {
    if (closed) return;
    try {
      opts.onError(err);
    } catch {
      /* a throwing error handler must not stop the watcher */
    }
  };

  /** Calls one of the caller's callbacks until closed; one that throws must not stop the watcher. */
  const tell = <T>(callback: ((value: T) => void) | undefined, value: T) => {
    if (closed || callback === undefined) return;
    try {
      callback(value);
    } catch (err) {
      fail(toMailerError(err, ErrorCodes.INTERNAL));
    }
  };
  const report = (fileName: string) => tell(opts.onOrder, fileName);
  const notAFile = (entry: NotAFile) => tell(opts.onNotAFile, entry);

  // After a failed listing (share gone, folder removed) the native watch is
  // dead even once the folder is back; the first listing that works again
  // starts a new one, so events are prompt again without waiting for the poll.
  let folderLost = false;
  const scanOnce = async () => {
    try {
      const { files, notFiles } = await listOrderEntries(root);
      if (folderLost && !closed) {
        folderLost = false;
        restartNative();
      }
      for (const name of files) report(name);
      for (const entry of notFiles) notAFile(entry);
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

  /** A notification named `name`: report it if it is an order file now (not one that just left). */
  const pending = new Set<Promise<void>>();
  const onNotified = (name: string) => {
    const action = notificationAction(name);
    if (action === 'rescan') void rescan();
    if (action !== 'check') return;
    const check = fs
      .lstat(path.join(root, name))
      .then(
        (stats) => {
          const kind = entryKind(stats);
          if (kind === 'file') report(name);
          else notAFile({ fileName: name, kind });
        },
        (err: unknown) => {
          // Gone again (claimed, renamed away): nothing to report. Anything else: the scan decides.
          if (errnoOf(err) !== 'ENOENT') void rescan();
        },
      )
      .finally(() => pending.delete(check));
    pending.add(check);
  };

  const startNative = (): FSWatcher | undefined => {
    if (opts.usePolling === true) return undefined;
    // Every entry of the folder is "ignored", so chokidar keeps exactly one
    // watch (on the folder); its raw events still name the file that changed.
    const w = chokidar.watch(root, { depth: 0, ignoreInitial: true, persistent: true, ignored: (p: string) => !isRoot(p) });
    w.on('raw', (_event: string, filename: string | null | undefined) => {
      if (closed) return;
      onNotified(filename === null || filename === undefined ? '' : path.basename(String(filename)));
    });
    // chokidar sets its watch up asynchronously: a file that arrived between
    // our first listing and that moment is caught by listing once more.
    w.on('ready', () => void rescan());
    w.on('error', (err: unknown) => {
      void w.close();
      if (native === w) native = undefined;
      folderLost = true;
      fail(accessError('watch', root, err));
    });
    return w;
  };
  let native = startNative();
  function restartNative(): void {
    void native?.close();
    native = startNative();
  }

  // Listed now for promptness, and again once the watch is ready (above).
  void rescan();
  const timer = opts.pollSeconds > 0 ? setInterval(() => void rescan(), opts.pollSeconds * 1000) : undefined;
  const pollTimer = opts.usePolling === true ? setInterval(() => void rescan(), opts.pollingMs ?? 1000) : undefined;

  return {
    rescan,
    async close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      if (pollTimer !== undefined) clearInterval(pollTimer);
      await native?.close();
      native = undefined;
      await Promise.allSettled([...pending]);
      await queued;
      await running;
    },
  };
}

/**
 * What a change notification naming `name` (a bare file name, '' when the
 * platform gave none) calls for: `check` an order name, `rescan` when the
 * name cannot be trusted to be the one listed (none at all, or on Windows an
 * 8.3 short name such as `_CFD_M~1.XML`), `ignore` anything else.
 */
export function notificationAction(name: string, platform: NodeJS.Platform = process.platform): 'check' | 'rescan' | 'ignore' {
  if (name === '') return 'rescan';
  if (ORDER_FILE_PATTERN.test(name)) return 'check';
  return platform === 'win32' && SHORT_NAME.test(name) ? 'rescan' : 'ignore';
}

/** An 8.3 alias Windows generates for a long name: up to 6 characters, `~` and a number, up to 3 of extension. */
const SHORT_NAME = /^[^.~\\/]{1,6}~[0-9]{1,6}(\.[^.]{1,3})?$/;

/**
 * A test for "is this path the folder `root`" that accepts any spelling of it
 * the platform's `path.resolve` normalises (either separator on Windows, as
 * chokidar writes them), ignoring case on Windows as its file systems do.
 */
function sameAs(root: string): (p: string) => boolean {
  if (process.platform !== 'win32') return (p) => p === root || path.resolve(p) === root;
  const key = root.toLowerCase();
  return (p) => path.resolve(p).toLowerCase() === key;
}
