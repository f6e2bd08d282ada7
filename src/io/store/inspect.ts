/**
 * The file reads (and the one log line) of the operator's commands `status`,
 * `trace`, `check` and `retry`: is a mailer running here, the bytes of an
 * order anywhere, when each order in `errores/` failed.
 *
 * Guarantees: read-only except `appendLogEntry`; nothing here takes a lock or
 * moves an order, so these are safe while a mailer runs. Missing files are
 * answers (undefined, not running), never errors.
 */
import os from 'node:os';
import fs from 'node:fs/promises';
import path from 'node:path';
import { MailerError } from '../../errors.js';
import { accessError, errnoOf, sanitizeHostId } from './files.js';
import { readOrderBytes } from './readiness.js';
import { isProcessAlive, type InstanceOwner } from '../host/lock.js';

/** `{ hostId }` when the configuration names this machine (Config.hostId), else nothing: the host name is used. */
export function hostOf(config: { hostId?: string | null }): { hostId?: string } {
  return typeof config.hostId === 'string' ? { hostId: config.hostId } : {};
}

/** Whether a mailer holds this machine's instance lock on the work area. */
export interface MailerProcess {
  running: boolean;
  /** The holder's pid, host and start time, when its owner file says. */
  owner?: InstanceOwner;
}

/**
 * Reads `<workDir>/instance-<host>.owner.json` (see lock.ts). Running means:
 * the lock folder exists, the owner file names a pid, and that process is
 * alive. A crashed mailer leaves both files behind with a dead pid: not
 * running.
 */
export async function readMailerProcess(workDir: string, hostId: string | undefined = undefined): Promise<MailerProcess> {
  const target = path.join(path.resolve(workDir), `instance-${sanitizeHostId(hostId ?? os.hostname())}`);
  const lockExists = await fs.stat(`${target}.lock`).then(
    () => true,
    () => false,
  );
  let owner: InstanceOwner | undefined;
  try {
    const data = JSON.parse(await fs.readFile(`${target}.owner.json`, 'utf8')) as Partial<InstanceOwner>;
    if (typeof data.pid === 'number' && typeof data.host === 'string' && typeof data.since === 'string') {
      owner = { pid: data.pid, host: data.host, since: data.since };
    }
  } catch {
    /* missing or half-written */
  }
  if (!lockExists) return { running: false };
  if (owner === undefined) return { running: true }; // locked, owner not written yet (or an older version)
  return { running: owner.pid > 0 && isProcessAlive(owner.pid), owner };
}

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

/**
 * Appends one JSON line to the bitácora, in pino's shape (`level`, `time`,
 * `pid`, `hostname`, then the fields). One `appendFile` (O_APPEND) per line,
 * so a running mailer writing the same file never interleaves inside it.
 * A failure is returned, not thrown: what the command did still stands.
 */
export async function appendLogEntry(logFile: string, fields: Record<string, unknown>, msg: string): Promise<Error | undefined> {
  const line = { level: 30, time: new Date().toISOString(), pid: process.pid, hostname: os.hostname(), ...fields, msg };
  try {
    await fs.mkdir(path.dirname(logFile), { recursive: true });
    await fs.appendFile(logFile, `${JSON.stringify(line)}\n`);
    return undefined;
  } catch (err) {
    return errnoOf(err) === undefined ? (err as Error) : accessError('append to', logFile, err);
  }
}
