/**
 * Real temporary folders for tests. `makeTmpDir()` creates one under
 * os.tmpdir(); `removeTmpDirs()` (call it in afterEach) deletes every folder
 * made since the last call, undoing the permission and immutability tricks the
 * failure tests use (see `holdFile`).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];
const held: { target: string; undo: () => void }[] = [];

export async function makeTmpDir(prefix = 'proscai-mailer-test-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export async function removeTmpDirs(): Promise<void> {
  for (const h of held.splice(0)) h.undo();
  await Promise.all(made.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * The Windows lane runs Node under Wine, which sets WINELOADER in every
 * process it starts. Wine emulates the file system slowly (tests that create
 * thousands of files use fewer there, asserting the same property) and has no
 * recycle bin, symbolic links or junctions.
 */
export const underWine = process.platform === 'win32' && process.env.WINELOADER !== undefined;

/** libuv's open flag for an exclusive open on Windows (share mode 0); Node does not name it. */
export const UV_FS_O_EXLOCK = 0x10000000;

/**
 * Makes a file impossible to move or delete, as a Windows antivirus holding it
 * would. On Windows that is what this does: opens it without sharing
 * (UV_FS_O_EXLOCK, share mode 0), so that any other open, rename or delete
 * fails with EBUSY until it is closed. On POSIX, where an open file never
 * blocks anything: as root with `chattr +i` (rename/unlink fail with EPERM),
 * otherwise by making its folder read-only (EACCES). Returns a function that
 * undoes it; `removeTmpDirs` also undoes it.
 */
export function holdFile(target: string): () => void {
  let undo: () => void;
  if (process.platform === 'win32') {
    const fd = openSync(target, fsConstants.O_RDWR | UV_FS_O_EXLOCK);
    undo = () => closeSync(fd);
  } else if (isRoot) {
    execFileSync('chattr', ['+i', target]);
    undo = () => execFileSync('chattr', ['-i', target]);
  } else {
    const folder = path.dirname(target);
    execFileSync('chmod', ['a-w', folder]);
    undo = () => execFileSync('chmod', ['u+w', folder]);
  }
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    undo();
  };
  held.push({ target, undo: once });
  return once;
}
