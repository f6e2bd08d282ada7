/**
 * The file-system calls of the per-order path (claim, read, stat, archive,
 * attachment checks), made synchronously where that is safe and cheaper,
 * asynchronously where it is not.
 *
 * Why: an asynchronous call crosses to libuv's thread pool and back (a futex
 * wake, an eventfd write, a loop wake-up), several times the CPU of the same
 * call made synchronously, and an order takes about 25 such calls (the
 * figures are in docs/benchmark.md). Synchronous calls, however, stop the
 * event loop while they wait, which is harmless on a local disk and a freeze
 * on a network share that stops answering. Hence the modes:
 *
 * - `async`: every call through fs/promises (the thread pool);
 * - `sync`: every call synchronous;
 * - `auto` (the default): synchronous, except asynchronous from the start when
 *   a folder the mailer uses is on a network file system (a `\\server\share`
 *   path, or NFS/SMB/CIFS/FUSE/9P… per statfs on Linux), and asynchronous for
 *   good as soon as one synchronous call took longer than `slowMs` (reported
 *   once through `onSlow`).
 *
 * Guarantees: the functions keep fs/promises' signatures (they return
 * promises and reject with the same Node errors: `code`, `syscall`, `path`),
 * so callers cannot tell the modes apart except by time. Each order store
 * makes its own (`createOrderStore`'s `fsMode`): the mode is the store's
 * state, and the other file helpers (io/store/files.ts) use fs/promises
 * unless the store hands them its calls.
 */
import * as fsSync from 'node:fs';
import type { Stats } from 'node:fs';
import fsp from 'node:fs/promises';

import type { FsMode } from '../../config/types.js';


/** Above this a synchronous call is too slow for the event loop (default of `slowMs`). */
export const SLOW_SYNC_MS = 50;

/**
 * statfs `f_type` magic numbers of network (and user-space) file systems on
 * Linux: NFS, SMB, CIFS, SMB2, FUSE (sshfs, rclone…), 9P, Ceph, AFS, Coda, NCP.
 */
const NETWORK_FS_TYPES = new Set([0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x65735546, 0x01021997, 0x00c36400, 0x5346414f, 0x73757245, 0x564c]);

/** True when `folder` is on a network share as far as this machine can tell (UNC path; on Linux, statfs). Never throws. */
export function isNetworkFolder(folder: string, platform: NodeJS.Platform = process.platform): boolean {
  if (/^[\\/]{2}[^\\/]/.test(folder)) return true; // \\server\share or //server/share
  if (platform !== 'linux') return false;
  try {
    return NETWORK_FS_TYPES.has(fsSync.statfsSync(folder).type);
  } catch {
    return false; // not there yet: its parent decides when it is created; the slow-call watch covers the rest
  }
}

export interface FileCallsOptions {
  mode: FsMode;
  /** Folders the per-order calls touch; in `auto`, one on a network share makes every call asynchronous. */
  folders?: readonly string[];
  slowMs?: number;
  /** Told once when `auto` gives up synchronous calls (at creation when a folder is on a network share). */
  onSlow?: (info: { op: string; target: string; ms: number; reason: 'network' | 'slow' }) => void;
}

/**
 * The per-order file calls, each made the way its `FileCalls` object
 * currently makes them. One object belongs to one owner (the order store):
 * the mode is its state, and nothing else in the process follows it.
 */
export interface FileCalls {
  /** How calls are made right now. */
  mode(): 'sync' | 'async';
  stat(p: string): Promise<Stats>;
  lstat(p: string): Promise<Stats>;
  /**
   * Whether something (a dangling symlink too) is at `p`. A miss is the
   * common answer on the per-order path, so in sync mode it costs no error
   * object; other errors reject as lstat's do.
   */
  exists(p: string): Promise<boolean>;
  rename(from: string, to: string): Promise<void>;
  unlink(p: string): Promise<void>;
  readFile(p: string): Promise<Buffer>;
  /** Writes the whole file (created or truncated), without fsync. */
  writeFile(p: string, data: string | Uint8Array): Promise<void>;
  /**
   * The file's bytes when its size (fstat of the open file, before anything
   * is read) is at most `limit`; otherwise `{ size }` and nothing read, so a
   * file of gigabytes costs one open and one fstat. Reads at most the size
   * fstat gave, as `readFile` does.
   */
  readAtMost(p: string, limit: number): Promise<Buffer | { size: number }>;
  readText(p: string): Promise<string>;
  /** The libuv realpath in both modes (fs/promises' one), not Node's JavaScript emulation. */
  realpath(p: string): Promise<string>;
  access(p: string, mode?: number): Promise<void>;
  mkdirp(p: string): Promise<void>;
}

/**
 * File calls made the way `options.mode` asks. In `auto` they start
 * synchronous unless a folder is on a network share (then `onSlow` is told
 * before this returns), and turn asynchronous for good after one slow call.
 */
export function createFileCalls(options: FileCallsOptions): FileCalls {
  const slowMs = options.slowMs ?? SLOW_SYNC_MS;
  const onSlow = options.onSlow;
  const watchSlow = options.mode === 'auto';
  let current: 'sync' | 'async' = options.mode === 'async' ? 'async' : 'sync';
  if (options.mode === 'auto') {
    const network = (options.folders ?? []).find((f) => isNetworkFolder(f));
    if (network !== undefined) {
      current = 'async';
      onSlow?.({ op: 'statfs', target: network, ms: 0, reason: 'network' });
    }
  }

  function timed<R>(op: string, target: string, call: () => R): R {
    if (!watchSlow) return call();
    const started = performance.now();
    try {
      return call();
    } finally {
      const ms = performance.now() - started;
      if (ms > slowMs && current === 'sync') {
        current = 'async';
        onSlow?.({ op, target, ms: Math.round(ms), reason: 'slow' });
      }
    }
  }

  /**
   * One call, made the current way. `sync` runs inside an async function, so a
   * thrown error becomes a rejection exactly like fs/promises'.
   */
  async function call<R>(op: string, target: string, sync: () => R, async: () => Promise<R>): Promise<R> {
    return current === 'sync' ? timed(op, target, sync) : async();
  }

  return {
    mode: () => current,
    stat: (p) => call('stat', p, () => fsSync.statSync(p), () => fsp.stat(p)),
    lstat: (p) => call('lstat', p, () => fsSync.lstatSync(p), () => fsp.lstat(p)),
    exists: (p) =>
      call(
        'lstat',
        p,
        () => fsSync.lstatSync(p, { throwIfNoEntry: false }) !== undefined,
        () =>
          fsp.lstat(p).then(
            () => true,
            (err: NodeJS.ErrnoException) => {
              if (err.code === 'ENOENT') return false;
              throw err;
            },
          ),
      ),
    rename: (from, to) => call('rename', from, () => fsSync.renameSync(from, to), () => fsp.rename(from, to)),
    unlink: (p) => call('unlink', p, () => fsSync.unlinkSync(p), () => fsp.unlink(p)),
    readFile: (p) => call('read', p, () => fsSync.readFileSync(p), () => fsp.readFile(p)),
    writeFile: (p, data) => call('write', p, () => fsSync.writeFileSync(p, data), () => fsp.writeFile(p, data)),
    readAtMost: (p, limit) => call('read', p, () => readAtMostSync(p, limit), () => readAtMostAsync(p, limit)),
    readText: (p) => call('read', p, () => fsSync.readFileSync(p, 'utf8'), () => fsp.readFile(p, 'utf8')),
    realpath: (p) => call('realpath', p, () => fsSync.realpathSync.native(p), () => fsp.realpath(p)),
    access: (p, mode) => call('access', p, () => fsSync.accessSync(p, mode), () => fsp.access(p, mode)),
    mkdirp: (p) =>
      call('mkdir', p, () => void fsSync.mkdirSync(p, { recursive: true }), async () => void (await fsp.mkdir(p, { recursive: true }))),
  };
}

/**
 * Always asynchronous, so it never changes: for callers outside an order
 * store (the `check` command, inspection, tests) that have no mode of their own.
 */
export const asyncFileCalls: FileCalls = createFileCalls({ mode: 'async' });

/**
 * Refuses a folder the way `readFile` does on Linux (EISDIR): on Windows a
 * folder opens and fstats as size 0, which would read as an empty order.
 */
function notAFile(p: string, stats: fsSync.Stats): void {
  if (stats.isFile()) return;
  const err = new Error(`EISDIR: illegal operation on a directory, read '${p}'`) as NodeJS.ErrnoException;
  err.code = 'EISDIR';
  err.syscall = 'read';
  err.path = p;
  throw err;
}

function readAtMostSync(p: string, limit: number): Buffer | { size: number } {
  const fd = fsSync.openSync(p, 'r');
  try {
    const stats = fsSync.fstatSync(fd);
    notAFile(p, stats);
    const { size } = stats;
    if (size > limit) return { size };
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const got = fsSync.readSync(fd, buffer, filled, size - filled, filled);
      if (got === 0) break;
      filled += got;
    }
    return filled === size ? buffer : buffer.subarray(0, filled);
  } finally {
    fsSync.closeSync(fd);
  }
}

async function readAtMostAsync(p: string, limit: number): Promise<Buffer | { size: number }> {
  const handle = await fsp.open(p, 'r');
  try {
    const stats = await handle.stat();
    notAFile(p, stats);
    const { size } = stats;
    if (size > limit) return { size };
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === size ? buffer : buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
