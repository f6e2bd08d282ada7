/**
 * The file reads of the operator's commands `status`, `trace` and `check`:
 * the bytes of an order anywhere, what stands at an order's path, when each
 * order in `errores/` failed.
 *
 * Guarantees: read-only; nothing here takes a lock or moves an order, so these
 * are safe while a mailer runs. Missing files are answers (undefined, left
 * out), never errors.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { MailerError } from '../../errors.js';
import { accessError } from './files.js';
import { readOrderBytes } from './readiness.js';

/** The bytes of an order file; throws ORDER_TOO_LARGE (unread) above the size limit, else a FS_ACCESS_FAILED MailerError naming the path. */
export async function readFileBytes(file: string): Promise<Buffer> {
  try {
    return await readOrderBytes(file);
  } catch (err) {
    if (err instanceof MailerError) throw err;
    throw accessError('read', file, err);
  }
}

/** The bytes of an order file, or undefined when it cannot be read (gone, held, not a file, above the size limit: never read). */
export async function readFileIfPossible(file: string): Promise<Buffer | undefined> {
  return readOrderBytes(file).catch(() => undefined);
}

/** True when something other than a file stands at `file`'s path (a folder, say); false when it is a file or nothing is there. */
export async function isNotAFile(file: string): Promise<boolean> {
  const info = await fs.stat(file).catch(() => undefined);
  return info !== undefined && !info.isFile();
}

/** A file of `errores/` and when it failed. */
export interface FailedFile {
  fileName: string;
  /** The note's modification time (written when the order failed); else the order's change time. */
  failedAt: Date;
}

/**
 * When each order of `errores/` failed. The order file keeps the ERP's
 * modification time through the move, so the time comes from its
 * `.error.txt` note, written at the failure.
 */
export async function failedTimes(dir: string, fileNames: string[]): Promise<FailedFile[]> {
  const failedDir = path.join(dir, 'errores');
  const out: FailedFile[] = [];
  for (const fileName of fileNames) {
    const file = path.join(failedDir, fileName);
    const note = await fs.stat(`${file}.error.txt`).catch(() => undefined);
    const order = note ?? (await fs.stat(file).catch(() => undefined));
    if (order === undefined) continue; // moved away meanwhile
    out.push({ fileName, failedAt: note ? note.mtime : order.ctime });
  }
  return out;
}
