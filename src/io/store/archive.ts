/**
 * Where a claimed order goes when it is finished (spec §3): `enviados/`, the
 * recycle bin (or the configured recycle folder), `errores/` with its
 * `.error.txt` note; and the way back from `errores/` for `retry --failed`.
 * The claims are io/store/store.ts's; the store's promise holds here too:
 * an order file is at every moment in exactly one place, and an operation
 * that cannot complete throws a MailerError and leaves the order where it was.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

import { ErrorCodes, MailerError } from '../../errors.js';
import type { FileCalls } from './file-calls.js';
import { errnoOf, freeName, listOrderFilesOrNone, moveError, moveFile, renameRetrying, unnumberedName } from './files.js';

export const NOTE_SUFFIX = '.error.txt';
/** An order name, possibly numbered by an archive (`x (1).XML`). */
export const FAILED_PATTERN = /^_CFD_MAIL_REQ_[A-Za-z0-9_.-]+( \(\d+\))?\.XML$/i;

/** The order left the claims folder behind the mailer's back (or never reached it). */
export function claimLost(fileName: string, where: string): MailerError {
  return new MailerError(ErrorCodes.CLAIM_LOST, `order ${fileName} is no longer in ${where}`, { value: fileName });
}

/**
 * The `.error.txt` bytes: UTF-8 with a BOM and CRLF line ends, because the
 * people who open it use Notepad, and Notepad before Windows 10 1809 shows
 * UTF-8 without BOM as mojibake ("FacturaciÃ³n") and LF-only text on one line.
 */
export function encodeNote(note: string): Buffer {
  return Buffer.from(`\uFEFF${note.replace(/\r?\n/g, '\r\n')}`, 'utf8');
}

/**
 * Why the system recycle bin did not take a file, saying what to do instead,
 * with the exit status of the bin's helper program in hex when there is one:
 * on Windows the `trash` package runs a helper that exits with an HRESULT
 * (0x80070005: access denied) or dies of an exception (0xC0000005), and
 * Node's message names only the command.
 */
function binRefusal(err: unknown): Error {
  const detail = err instanceof Error ? err.message.trim() : String(err);
  const status = (err as { code?: unknown } | null)?.code;
  const exit = typeof status === 'number' ? ` (exit status 0x${(status >>> 0).toString(16).toUpperCase().padStart(8, '0')})` : '';
  const refusal = new Error(`the system recycle bin did not take it (set recycleDir to use a folder instead): ${detail}${exit}`, { cause: err });
  // An errno (ENOTDIR, EACCES…) stays the error's code, so that the message still names it.
  if (typeof status === 'string') Object.assign(refusal, { code: status });
  return refusal;
}

export interface ArchiveOptions {
  /** The order folder (`enviados/` and `errores/` are inside it). */
  dir: string;
  /** This machine's claims folder. */
  claimsDir: string;
  /** Folder for RECICLAR; null = the system recycle bin. */
  recycleDir: string | null;
  /** Moves files to the system recycle bin. */
  trash: (paths: string[]) => Promise<void>;
  /** Told of failures that did not stop the operation (a note left behind). */
  warn: (err: MailerError) => void;
  /** The store's file calls: the archive's moves follow the store's mode. */
  calls: FileCalls;
}

export interface Archive {
  /** Claimed order → `enviados/` under a free name. */
  toSent(fileName: string): Promise<void>;
  /** Claimed order → recycle folder, or the system recycle bin (checked to have really left). */
  recycle(fileName: string): Promise<void>;
  /** Claimed order → `errores/` with its note, the note written first (an order there always says why). */
  toFailed(fileName: string, note: string): Promise<void>;
  /** Names in `errores/` that are orders (including renamed copies such as `x (1).XML`). */
  listFailed(): Promise<string[]>;
  /** A failed order → the order folder under its original name; its note deleted. Returns that name. */
  requeueFailed(fileName: string): Promise<string>;
}

export function createArchive(opts: ArchiveOptions): Archive {
  const sentDir = path.join(opts.dir, 'enviados');
  const failedDir = path.join(opts.dir, 'errores');
  const claimPath = (fileName: string) => path.join(opts.claimsDir, fileName);
  /** Archive folders created by this process (created again if they vanish). */
  const madeDirs = new Set<string>();
  const { calls } = opts;
  const exists = calls.exists;

  /** Moves a claimed order into `destDir` under a free name; returns that name. */
  async function moveInto(fileName: string, destDir: string, companions: string[] = [], before?: (finalName: string) => Promise<void>): Promise<string> {
    const from = claimPath(fileName);
    let finalName = fileName;
    const attempt = async () => {
      if (!madeDirs.has(destDir)) {
        await calls.mkdirp(destDir);
        madeDirs.add(destDir);
      }
      finalName = await freeName(destDir, fileName, companions, calls);
      await before?.(finalName);
      await moveFile(from, path.join(destDir, finalName), calls);
      return finalName;
    };
    try {
      try {
        return await attempt();
      } catch (err) {
        // The folder this process created was removed since (by hand, or a
        // share that came back empty): create it again and try once more.
        if (!madeDirs.delete(destDir) || errnoOf(err) !== 'ENOENT') throw err;
        return await attempt();
      }
    } catch (err) {
      madeDirs.delete(destDir);
      if (err instanceof MailerError) throw err;
      if (errnoOf(err) === 'ENOENT' && !(await exists(from).catch(() => true))) throw claimLost(fileName, opts.claimsDir);
      throw moveError('move', `${from} -> ${path.join(destDir, finalName)}`, err);
    }
  }

  /**
   * To the system recycle bin by way of `enviados/`. Why: the bin records the
   * folder a file was deleted from, and "Restore" puts it back there. Straight
   * from the claims folder, a restored order would look like an unfinished
   * claim of this machine and be sent again at the next start; from
   * `enviados/` it lands among the kept ones. If the bin refuses the file (or
   * there is none: the `trash` package's Windows helper needs the shell's
   * IFileOperation, which Wine only stubs) it goes back to the claims folder
   * and the FS_MOVE_FAILED error says how to do without the bin; the order
   * machine keeps the order claimed, its `sentAt` saved, and tries the
   * archiving again without sending it again.
   */
  async function recycle(fileName: string): Promise<void> {
    if (opts.recycleDir !== null) {
      await moveInto(fileName, path.resolve(opts.recycleDir));
      return;
    }
    const from = claimPath(fileName);
    if (!(await exists(from).catch(() => true))) throw claimLost(fileName, opts.claimsDir);
    const parked = path.join(sentDir, await moveInto(fileName, sentDir));
    let failure: unknown;
    try {
      await opts.trash([parked]);
      // trash() ignores paths it could not find; make sure the file really left.
      if (await exists(parked).catch(() => true)) failure = new Error('file still present');
    } catch (err) {
      failure = err;
    }
    if (failure === undefined) return;
    await moveFile(parked, from, calls).catch((err: unknown) => {
      opts.warn(moveError('move back from enviados/ (kept there)', `${parked} -> ${from}`, err));
    });
    throw moveError('move to recycle bin', parked, binRefusal(failure));
  }

  async function toFailed(fileName: string, note: string): Promise<void> {
    let notePath: string | undefined;
    try {
      await moveInto(fileName, failedDir, [NOTE_SUFFIX], async (finalName) => {
        const target = path.join(failedDir, finalName + NOTE_SUFFIX);
        await fs.writeFile(target, encodeNote(note), { flag: 'wx' });
        notePath = target;
      });
    } catch (err) {
      if (notePath !== undefined) await fs.unlink(notePath).catch(() => undefined);
      throw err;
    }
  }

  async function requeueFailed(fileName: string): Promise<string> {
    const original = unnumberedName(fileName);
    const from = path.join(failedDir, fileName);
    const to = path.join(opts.dir, original);
    try {
      if (await exists(to)) throw Object.assign(new Error('an order of this name is waiting in the order folder'), { code: 'EEXIST' });
      await renameRetrying(from, to, calls);
    } catch (err) {
      throw moveError('requeue', `${from} -> ${to}`, err);
    }
    await fs.unlink(from + NOTE_SUFFIX).catch((err) => {
      if (errnoOf(err) !== 'ENOENT') opts.warn(moveError('delete note', from + NOTE_SUFFIX, err));
    });
    return original;
  }

  return {
    toSent: async (fileName) => void (await moveInto(fileName, sentDir)),
    recycle,
    toFailed,
    listFailed: () => listOrderFilesOrNone(failedDir, FAILED_PATTERN),
    requeueFailed,
  };
}
