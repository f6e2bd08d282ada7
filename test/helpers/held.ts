/**
 * An order file held open by its writer, as the ERP (or an antivirus) holds
 * one on Windows, for the tests of what the mailer does meanwhile.
 *
 * - Windows: the file is opened without sharing (UV_FS_O_EXLOCK, share mode
 *   0), so any other open, read, rename or delete fails with EBUSY until it is
 *   closed; its stat still works.
 * - POSIX: an open file blocks no other process, so the nearest case that
 *   takes the mailer down the same path is used: mode 000, so reading it fails
 *   with EACCES (an errno the mailer treats as "held") while its stat works.
 *   Root reads anything: when the tests run as root, the reader must run as
 *   `READER` (an unprivileged account), the CLI through `runCli`'s account,
 *   an in-process reader through `asReader`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, constants as fsConstants, openSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UV_FS_O_EXLOCK } from './tmp.js';
import { CLI, type Account } from './cli.js';

/** The account a reader runs as for `holdOpen` to apply to it: `nobody` when running as root on POSIX, else this process's own. */
export const READER: Account | undefined =
  process.platform !== 'win32' && process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;

/**
 * Whether the CLI can run as `READER` from this checkout: its folders must be
 * readable by an unprivileged account (a clone under a private home is not).
 * Always true when no `READER` is needed.
 */
export const READER_RUNS_CLI: boolean =
  READER === undefined ||
  spawnSync(
    process.execPath,
    ['-e', `const fs = require('fs'); for (const f of ${JSON.stringify([CLI, fileURLToPath(new URL('../../node_modules/xstate/package.json', import.meta.url))])}) fs.accessSync(f, fs.constants.R_OK)`],
    { uid: READER.uid, gid: READER.gid, stdio: 'ignore' },
  ).status === 0;

const releases: (() => void)[] = [];

/** Holds `file` (see above) until the returned function, or `releaseHeld`, lets it go. */
export function holdOpen(file: string): () => void {
  let release: () => void;
  if (process.platform === 'win32') {
    const fd = openSync(file, fsConstants.O_RDWR | UV_FS_O_EXLOCK);
    release = () => closeSync(fd);
  } else {
    // Owned by the reader, so that it may be released whichever account the process runs as at that moment.
    if (READER) chownSync(file, READER.uid, READER.gid);
    chmodSync(file, 0);
    release = () => chmodSync(file, 0o644);
  }
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    release();
  };
  releases.push(once);
  return once;
}

/** Releases every file still held (call it in afterEach, before the folders are removed). */
export function releaseHeld(): void {
  for (const release of releases.splice(0)) release();
}

/** Makes `folder` and everything in it the reader's, so that the reader can work there (nothing to do unless `READER` is set). */
export function giveToReader(folder: string): void {
  if (!READER) return;
  chownSync(folder, READER.uid, READER.gid);
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const child = path.join(folder, entry.name);
    if (entry.isDirectory()) giveToReader(child);
    else chownSync(child, READER.uid, READER.gid);
  }
}

/**
 * Runs `fn` with this process's effective ids as `READER`'s, and back after
 * it settles (root only; a no-op elsewhere). Everything else the process does
 * meanwhile runs as that account too: keep `fn` to the reads under test.
 */
export async function asReader<T>(fn: () => Promise<T>): Promise<T> {
  if (!READER) return fn();
  process.setegid!(READER.gid);
  process.seteuid!(READER.uid);
  try {
    return await fn();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
  }
}
