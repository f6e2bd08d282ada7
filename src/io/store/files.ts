/**
 * Small file-system helpers shared by the order store, the lock and the
 * watcher. Every failure leaves here as a `MailerError` whose message names the
 * operation, the path and the errno, so that the caller's log line is enough to
 * diagnose a share that went away or a file held by an antivirus.
 *
 * Written for the worst file systems the mailer meets: Windows (files held
 * open, rename refusing to replace), SMB/NFS shares (no dirent types, no hard
 * links, lost events) and several machines writing into one folder.
 */
import { constants as fsConstants, type Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, MailerError, type ErrorCode } from '../../errors.js';
import { ORDER_FILE_PATTERN } from '../../order/types.js';
import type { FileCalls } from './file-calls.js';

/** The errno code of a node fs error (`ENOENT`, `EPERM`…), or undefined. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Errors Windows gives while another program (ERP, antivirus, indexer) holds a
 * file: EBUSY for a sharing violation, EPERM/EACCES for some holders. Elsewhere
 * only a permission denial gives EPERM/EACCES; it is handled alike (the file is
 * left where it is and tried again), and named as such in messages.
 */
const BUSY_CODES: ReadonlySet<string> = new Set(['EPERM', 'EBUSY', 'EACCES']);

/** True when an fs error says the file is held by another program (or, EPERM/EACCES, access was denied). */
export function isHeld(err: unknown): boolean {
  const errno = errnoOf(err);
  return errno !== undefined && BUSY_CODES.has(errno);
}

/** The errno and the text of an fs error, for messages. */
function describe(err: unknown): { errno: string; detail: string } {
  return { errno: errnoOf(err) ?? 'UNKNOWN', detail: err instanceof Error ? err.message : String(err) };
}

/** A typed error for a failed fs operation: message `<op> failed (<errno>): <path>: <detail>`. */
export function fsError(code: ErrorCode, op: string, target: string, err: unknown): MailerError {
  const { errno, detail } = describe(err);
  return new MailerError(code, `${op} failed (${errno}): ${target}: ${detail}`, { value: target, cause: err });
}

/**
 * FS_HELD: the file is held open by another program, so it is left where it
 * is. Message `held open by another program (<errno>): <path>: <op> failed:
 * <detail>`, which reads whole after an order id in a log line. EBUSY is
 * certainly that (a Windows sharing violation); EPERM/EACCES may also be a
 * plain denial, and the message then says both.
 */
export function heldError(op: string, target: string, err: unknown): MailerError {
  const { errno, detail } = describe(err);
  const why = errno === 'EBUSY' ? 'held open by another program' : 'held open by another program, or access denied';
  return new MailerError(ErrorCodes.FS_HELD, `${why} (${errno}): ${target}: ${op} failed: ${detail}`, { value: target, cause: err });
}

/** `fsError` with FS_MOVE_FAILED: moving, writing or deleting did not happen. */
export function moveError(op: string, target: string, err: unknown): MailerError {
  return fsError(ErrorCodes.FS_MOVE_FAILED, op, target, err);
}

/** `fsError` with FS_ACCESS_FAILED: listing, reading or creating a folder failed. */
export function accessError(op: string, target: string, err: unknown): MailerError {
  return fsError(ErrorCodes.FS_ACCESS_FAILED, op, target, err);
}

/**
 * The calls the helpers below make, fs/promises' unless the caller passes its
 * own (the order store passes its `FileCalls`, so that its moves follow its mode).
 */
export type MoveCalls = Pick<FileCalls, 'rename' | 'exists'>;

const plainCalls: MoveCalls = {
  rename: (from, to) => fs.rename(from, to),
  exists: (target) =>
    fs.lstat(target).then(
      () => true,
      (err: unknown) => {
        if (errnoOf(err) === 'ENOENT') return false;
        throw err;
      },
    ),
};

/**
 * `fs.rename`, retried briefly on Windows when the file is held (antivirus
 * scanners open new files for a few tens of milliseconds); not when the
 * target is a folder, which no wait makes replaceable. Elsewhere those
 * errors are permanent, so it fails at once. Throws the raw fs error.
 */
export async function renameRetrying(from: string, to: string, calls: MoveCalls = plainCalls): Promise<void> {
  const delays = process.platform === 'win32' ? [50, 150, 300] : [];
  for (let i = 0; ; i++) {
    try {
      await calls.rename(from, to);
      return;
    } catch (err) {
      if (i >= delays.length || !isHeld(err) || (await isFolder(to))) throw err;
      await sleep(delays[i]);
    }
  }
}

/** Whether `p` is a folder: Windows refuses to replace one with EPERM, which no wait changes. */
async function isFolder(p: string): Promise<boolean> {
  try {
    return (await fs.lstat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** True when something exists at `target` (a dangling symlink counts). Throws the raw error except ENOENT. */
export function exists(target: string): Promise<boolean> {
  return plainCalls.exists(target);
}

/**
 * `name` the n-th time it is taken, Windows Explorer style: `a.XML`, `a (1).XML`,
 * `a (2).XML`… The result still opens with a double click, and it never matches
 * ORDER_FILE_PATTERN (no spaces in ids), so a renamed copy is never taken for a new order.
 */
export function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  const ext = path.extname(name);
  const stem = ext === '' ? name : name.slice(0, -ext.length);
  return `${stem} (${n})${ext}`;
}

/** The name `numberedName` was made from: `a (2).XML` → `a.XML`. */
export function unnumberedName(name: string): string {
  return name.replace(/ \(\d+\)(\.[^.]*)?$/, '$1');
}

/**
 * The first of `numberedName(name, 0…)` for which neither `<dir>/<candidate>`
 * nor `<dir>/<candidate><suffix>` (for each of `companions`) exists. This is how
 * archives never overwrite: an ERP that reuses an id keeps both files. Another
 * machine choosing the same name in the same millisecond can still collide;
 * that window is accepted (rename has no portable "no replace" flag and hard
 * links are missing on many shares). Throws raw fs errors.
 */
export async function freeName(dir: string, name: string, companions: string[] = [], calls: MoveCalls = plainCalls): Promise<string> {
  for (let n = 0; n < 10_000; n++) {
    const candidate = numberedName(name, n);
    const taken = await Promise.all([candidate, ...companions.map((c) => candidate + c)].map((f) => calls.exists(path.join(dir, f))));
    if (!taken.some(Boolean)) return candidate;
  }
  throw Object.assign(new Error(`no free name for ${name} in ${dir}`), { code: 'EEXIST' });
}

/**
 * Moves one file, falling back to copy + fsync + unlink when the target is on
 * another volume (EXDEV: a recycle folder on another disk). The fallback never
 * leaves two copies: if the source cannot be removed, the copy is removed and
 * the error is thrown, so the file is still only where it was. Throws raw fs errors.
 */
export async function moveFile(from: string, to: string, calls: MoveCalls = plainCalls): Promise<void> {
  try {
    await renameRetrying(from, to, calls);
    return;
  } catch (err) {
    if (errnoOf(err) !== 'EXDEV') throw err;
  }
  try {
    await fs.copyFile(from, to, fsConstants.COPYFILE_EXCL);
  } catch (err) {
    // A half-written copy (ENOSPC, share dropped) must not stay; an existing file (EEXIST) is not ours.
    if (errnoOf(err) !== 'EEXIST') await fs.unlink(to).catch(() => undefined);
    throw err;
  }
  try {
    const handle = await fs.open(to, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.unlink(from);
  } catch (err) {
    await fs.unlink(to).catch(() => undefined);
    throw err;
  }
}

/**
 * Writes a file so that readers see either the old or the new content, never
 * half of it: write a temporary file beside it, fsync, rename over. Throws raw fs errors.
 *
 * Why not write-file-atomic: it renames once, so on Windows a target that an
 * antivirus or indexer holds for a moment fails the write with EPERM/EBUSY
 * (npm/write-file-atomic#28); ours renames through `renameRetrying`, as every
 * move of the store does. It also installs a signal-exit handler in the process.
 */
export async function writeFileAtomic(target: string, data: string | Buffer): Promise<void> {
  // Unique per call: two writes of one target in the same millisecond must not share a temporary file.
  const tmp = `${target}.${process.pid}.${Date.now().toString(36)}.${(tmpSerial++).toString(36)}.tmp`;
  try {
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await renameRetrying(tmp, target);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

let tmpSerial = 0;

/** What an entry named like an order is when it is not a regular file: never taken, never followed. */
export type NotAFileKind = 'link' | 'folder' | 'other';

/** An entry named like an order that is not a regular file (a symbolic link, a folder, a FIFO…). */
export interface NotAFile {
  fileName: string;
  kind: NotAFileKind;
}

/** The kind of one file-system entry (`lstat` or a directory entry): links are not followed. */
export function entryKind(entry: Pick<Dirent, 'isFile' | 'isDirectory' | 'isSymbolicLink'>): 'file' | NotAFileKind {
  if (entry.isFile()) return 'file';
  if (entry.isSymbolicLink()) return 'link';
  return entry.isDirectory() ? 'folder' : 'other';
}

/**
 * The kind of a directory entry; undefined when it vanished meanwhile.
 * Network file systems may not report entry types (all `isX()` false); only
 * then is the entry stat'ed.
 */
async function kindOfEntry(dir: string, entry: Dirent): Promise<'file' | NotAFileKind | undefined> {
  const known =
    entry.isFile() || entry.isDirectory() || entry.isSymbolicLink() || entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice();
  if (known) return entryKind(entry);
  try {
    return entryKind(await fs.lstat(path.join(dir, entry.name)));
  } catch {
    return undefined; // gone meanwhile: not ours to list
  }
}

/**
 * The entries of `dir` named like orders (ORDER_FILE_PATTERN), sorted:
 * `files`, the regular files, which are the orders; `notFiles`, those that
 * are something else (a symbolic link, a folder…), which are never taken.
 * One readdir; a stat only for entries of unknown type. Throws the raw fs
 * error (callers wrap it), so that ENOENT can be told apart.
 */
export async function listOrderEntries(dir: string, pattern: RegExp = ORDER_FILE_PATTERN): Promise<{ files: string[]; notFiles: NotAFile[] }> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  const notFiles: NotAFile[] = [];
  for (const entry of entries) {
    if (!pattern.test(entry.name)) continue;
    const kind = await kindOfEntry(dir, entry);
    if (kind === 'file') files.push(entry.name);
    else if (kind !== undefined) notFiles.push({ fileName: entry.name, kind });
  }
  return { files: files.sort(compareNames), notFiles: notFiles.sort((a, b) => compareNames(a.fileName, b.fileName)) };
}

/** Names of the order files in `dir` (`listOrderEntries`' `files`). Throws the raw fs error. */
export async function listOrderFiles(dir: string, pattern: RegExp = ORDER_FILE_PATTERN): Promise<string[]> {
  return (await listOrderEntries(dir, pattern)).files;
}

/** `listOrderFiles` for a folder that may not exist yet (none listed then); other failures as FS_ACCESS_FAILED. */
export async function listOrderFilesOrNone(dir: string, pattern?: RegExp): Promise<string[]> {
  try {
    return await listOrderFiles(dir, pattern);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw accessError('list', dir, err);
  }
}

/** Code-unit order: stable across platforms and locales. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Replaces anything but letters, digits, `_`, `-`, `.` so a host name is a
 * safe, portable folder name (Windows forbids `:` `\` `*`…; `..` is refused).
 */
export function sanitizeHostId(raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_').slice(0, 100);
  return cleaned === '' ? 'host' : cleaned;
}
