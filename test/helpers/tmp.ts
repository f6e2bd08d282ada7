/**
 * Real temporary folders for tests. `makeTmpDir()` creates one under
 * os.tmpdir(); `removeTmpDirs()` (call it in afterEach) deletes every folder
 * made since the last call, undoing the permission and immutability tricks the
 * failure tests use (see `holdFile`).
 */
import { execFileSync } from 'node:child_process';
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
 * Makes a file impossible to move or delete, as a Windows antivirus holding it
 * would: as root with `chattr +i` (rename/unlink fail with EPERM), otherwise by
 * making its folder read-only (EACCES). Returns a function that undoes it;
 * `removeTmpDirs` also undoes it.
 */
export function holdFile(target: string): () => void {
  let undo: () => void;
  if (isRoot) {
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
