/**
 * The order store on the file system: listing, claiming, persisted retry state
 * and outcomes (spec §1 and §3). Its one promise: an order file is at every
 * moment in exactly one of the order folder, this machine's claims folder,
 * `enviados/`, `errores/`, the recycle bin, or deleted after it was sent.
 * Every operation that cannot complete throws a MailerError and leaves the
 * order where it was.
 *
 * Layout (the work area must be on the order folder's volume, so that a claim
 * is one atomic rename; by default it is inside the order folder):
 *   <dir>/_CFD_MAIL_REQ_<id>.XML                      waiting
 *   <workDir>/claims/<hostId>/<name>                  claimed by a machine
 *   <workDir>/claims/<hostId>/<name>.state.json       its retry state
 *   <workDir>/claims/<hostId>/.heartbeat              "this machine is alive"
 *   <workDir>/handover/<name>.state.json              state of an order given back, adopted by the next claim
 *   <dir>/enviados/<name>, <dir>/errores/<name> + <name>.error.txt
 */
import os from 'node:os';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, MailerError } from '../errors.js';
import { ORDER_FILE_PATTERN, type AfterSend } from '../order/types.js';
import type { OrderLocation, OrderStore, PersistedOrderState } from '../ports.js';
import {
  accessError,
  errnoOf,
  exists,
  freeName,
  listOrderFiles,
  moveError,
  moveFile,
  renameRetrying,
  sanitizeHostId,
  unnumberedName,
  writeFileAtomic,
} from './fsutil.js';
import { takeOverStaleClaims, writeHeartbeat } from './takeover.js';
import { fastFs } from './fastfs.js';

export interface OrderStoreOptions {
  /** The order folder. */
  dir: string;
  /** The work area; must be on the same volume as `dir`. */
  workDir: string;
  /** This machine's name in the claims folder; default `os.hostname()`, sanitised. */
  hostId?: string;
  /** Folder for RECICLAR; null = the system recycle bin. */
  recycleDir: string | null;
  /** Moves files to the system recycle bin; default: the `trash` package. */
  trash?: (paths: string[]) => Promise<void>;
  /** Told of failures that did not stop the operation (a leftover state file, an order left for later). */
  onWarning?: (err: MailerError) => void;
}

export interface FsOrderStore extends OrderStore {
  readonly hostId: string;
  /** Where a claimed order of this machine lives. */
  claimPath(fileName: string): string;
  /**
   * Gives a claimed order back to the order folder (for `retry`, or on handing
   * over). Its state follows it through the handover folder unless
   * `keepState` is false. Refuses to replace an order of the same name.
   */
  releaseClaim(fileName: string, opts?: { keepState?: boolean }): Promise<void>;
  /** Names in `errores/` that are orders (including renamed copies such as `x (1).XML`). */
  listFailed(): Promise<string[]>;
  /** Moves a failed order back to the order folder under its original name and deletes its note; returns that name. */
  requeueFailed(fileName: string): Promise<string>;
  /** Touches this machine's heartbeat file; call it periodically (well under the stale time). */
  heartbeat(): Promise<void>;
  /** Gives back to the order folder the orders claimed by machines whose heartbeat is older than `staleMs`; returns their names. */
  takeOverStaleClaims(staleMs: number): Promise<string[]>;
}

const STATE_SUFFIX = '.state.json';
const NOTE_SUFFIX = '.error.txt';
/** An order name, possibly numbered by an archive (`x (1).XML`). */
const FAILED_PATTERN = /^_CFD_MAIL_REQ_[A-Za-z0-9_.-]+( \(\d+\))?\.XML$/i;

function assertName(fileName: string, pattern: RegExp = ORDER_FILE_PATTERN): void {
  if (!pattern.test(fileName)) throw new MailerError(ErrorCodes.INTERNAL, `not an order file name: ${fileName}`, { value: fileName });
}

function claimLost(fileName: string, where: string): MailerError {
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

export function createOrderStore(opts: OrderStoreOptions): FsOrderStore {
  const dir = path.resolve(opts.dir);
  const workDir = path.resolve(opts.workDir);
  const hostId = sanitizeHostId(opts.hostId ?? os.hostname());
  const claimsRoot = path.join(workDir, 'claims');
  const claimsDir = path.join(claimsRoot, hostId);
  const handoverDir = path.join(workDir, 'handover');
  const sentDir = path.join(dir, 'enviados');
  const failedDir = path.join(dir, 'errores');
  // Loaded on first use: most installations never recycle, and it is the slowest package to load.
  const trash = opts.trash ?? (async (paths: string[]) => (await import('trash')).default(paths, { glob: false }));
  const warn = (err: MailerError) => opts.onWarning?.(err);

  const claimPath = (fileName: string) => path.join(claimsDir, fileName);
  const statePath = (fileName: string) => claimPath(fileName) + STATE_SUFFIX;

  /** Lists order names in a folder that may not exist yet. */
  async function listOrEmpty(folder: string, pattern?: RegExp): Promise<string[]> {
    try {
      return await listOrderFiles(folder, pattern);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return [];
      throw accessError('list', folder, err);
    }
  }

  /**
   * Claimed orders this process knows have no state file (claimed with none
   * to adopt, none saved since): loading and dropping their state costs no
   * file-system call. Only this process writes this machine's claims folder
   * (one mailer per folder per machine), so the knowledge cannot go stale.
   */
  const stateless = new Set<string>();
  /** Archive folders created by this process (created again if they vanish). */
  const madeDirs = new Set<string>();

  /** Removes the state file after an order left the claims folder; a leftover is only reported (claim clears it). */
  async function dropState(fileName: string): Promise<void> {
    if (stateless.delete(fileName)) return;
    if (!(await exists(statePath(fileName)).catch(() => true))) return; // the usual case, without an ENOENT error
    await fastFs.unlink(statePath(fileName)).catch((err) => {
      if (errnoOf(err) !== 'ENOENT') warn(moveError('delete state', statePath(fileName), err));
    });
  }

  /** Takes the state handed over with this order, or clears a leftover from an older order of the same name. */
  async function adoptState(fileName: string): Promise<void> {
    const handedOver = path.join(handoverDir, fileName + STATE_SUFFIX);
    // A handed-over state is written before its order returns to the order folder: if it is not there now, there is none.
    if (await exists(handedOver).catch(() => true)) {
      try {
        await renameRetrying(handedOver, statePath(fileName));
        stateless.delete(fileName);
        return;
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') warn(moveError('adopt state', statePath(fileName), err));
      }
    }
    stateless.delete(fileName);
    await dropState(fileName);
    stateless.add(fileName);
  }

  /** Moves a claimed order into `destDir` under a free name; returns that name. */
  async function archiveMove(fileName: string, destDir: string, companions: string[] = [], before?: (finalName: string) => Promise<void>): Promise<string> {
    const from = claimPath(fileName);
    let finalName = fileName;
    const attempt = async () => {
      if (!madeDirs.has(destDir)) {
        await fastFs.mkdirp(destDir);
        madeDirs.add(destDir);
      }
      finalName = await freeName(destDir, fileName, companions);
      await before?.(finalName);
      await moveFile(from, path.join(destDir, finalName));
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
      if (errnoOf(err) === 'ENOENT' && !(await exists(from).catch(() => true))) throw claimLost(fileName, claimsDir);
      throw moveError('move', `${from} -> ${path.join(destDir, finalName)}`, err);
    }
  }

  async function recycle(fileName: string): Promise<void> {
    if (opts.recycleDir !== null) {
      await archiveMove(fileName, path.resolve(opts.recycleDir));
      return;
    }
    const from = claimPath(fileName);
    if (!(await exists(from).catch(() => true))) throw claimLost(fileName, claimsDir);
    try {
      await trash([from]);
    } catch (err) {
      throw moveError('move to recycle bin', from, err);
    }
    // trash() ignores paths it could not find; make sure the file really left.
    if (await exists(from).catch(() => true)) throw moveError('move to recycle bin', from, new Error('file still present'));
  }

  const heartbeat = () => writeHeartbeat(claimsDir, hostId);

  return {
    hostId,
    claimPath,

    listInbox: async () => {
      try {
        return await listOrderFiles(dir);
      } catch (err) {
        throw accessError('list', dir, err);
      }
    },

    listClaimed: () => listOrEmpty(claimsDir),

    async read(fileName: string, where: OrderLocation): Promise<Buffer> {
      assertName(fileName);
      const file = where === 'claimed' ? claimPath(fileName) : path.join(dir, fileName);
      try {
        return await fastFs.readFile(file);
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') throw claimLost(fileName, path.dirname(file));
        throw accessError('read', file, err);
      }
    },

    async claim(fileName: string): Promise<boolean> {
      assertName(fileName);
      const from = path.join(dir, fileName);
      const to = claimPath(fileName);
      try {
        // Never replace an order of the same name that this machine still holds (ERP reusing an id).
        if (await exists(to)) throw moveError('claim', to, Object.assign(new Error('an order of this name is already claimed'), { code: 'EEXIST' }));
        try {
          await renameRetrying(from, to);
        } catch (err) {
          if (errnoOf(err) !== 'ENOENT' || !(await exists(from))) throw err;
          await fastFs.mkdirp(claimsDir); // first claim: create the folder, try again
          await renameRetrying(from, to);
        }
      } catch (err) {
        if (err instanceof MailerError) throw err;
        if (errnoOf(err) === 'ENOENT') return false; // another mailer took it
        const why = errnoOf(err) === 'EXDEV' ? `${from} -> ${to} (the work area must be on the order folder's volume)` : `${from} -> ${to}`;
        throw moveError('claim', why, err);
      }
      await adoptState(fileName);
      return true;
    },

    async loadState(fileName: string): Promise<PersistedOrderState | undefined> {
      if (stateless.has(fileName)) return undefined;
      let text: string;
      try {
        text = await fastFs.readText(statePath(fileName));
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') return undefined;
        throw accessError('read state', statePath(fileName), err);
      }
      try {
        const state = JSON.parse(text) as PersistedOrderState;
        if (typeof state?.attempts === 'number' && typeof state.firstSeenAt === 'number') return state;
      } catch {
        /* reported below */
      }
      // Unreadable state must not block the order: it restarts its retries.
      warn(new MailerError(ErrorCodes.FS_ACCESS_FAILED, `invalid state file ignored: ${statePath(fileName)}`, { value: statePath(fileName) }));
      return undefined;
    },

    async saveState(fileName: string, state: PersistedOrderState): Promise<void> {
      stateless.delete(fileName);
      try {
        await writeFileAtomic(statePath(fileName), JSON.stringify(state));
      } catch (err) {
        throw moveError('write state', statePath(fileName), err);
      }
    },

    async archiveSent(fileName: string, afterSend: AfterSend): Promise<void> {
      assertName(fileName);
      if (afterSend === 'CONSERVAR') await archiveMove(fileName, sentDir);
      else if (afterSend === 'RECICLAR') await recycle(fileName);
      else {
        try {
          await fastFs.unlink(claimPath(fileName));
        } catch (err) {
          if (errnoOf(err) === 'ENOENT') throw claimLost(fileName, claimsDir);
          throw moveError('delete', claimPath(fileName), err);
        }
      }
      await dropState(fileName);
    },

    async archiveFailed(fileName: string, note: string): Promise<void> {
      assertName(fileName);
      let notePath: string | undefined;
      try {
        await archiveMove(fileName, failedDir, [NOTE_SUFFIX], async (finalName) => {
          const target = path.join(failedDir, finalName + NOTE_SUFFIX);
          await fs.writeFile(target, encodeNote(note), { flag: 'wx' }); // the note first: an order in errores/ always says why
          notePath = target;
        });
      } catch (err) {
        if (notePath !== undefined) await fs.unlink(notePath).catch(() => undefined);
        throw err;
      }
      await dropState(fileName);
    },

    async releaseClaim(fileName: string, { keepState = true } = {}): Promise<void> {
      assertName(fileName);
      const from = claimPath(fileName);
      const to = path.join(dir, fileName);
      const handedOver = path.join(handoverDir, fileName + STATE_SUFFIX);
      if (await exists(to).catch(() => false)) {
        throw moveError('release', `${from} -> ${to}`, Object.assign(new Error('an order of this name is waiting in the order folder'), { code: 'EEXIST' }));
      }
      // The state goes first: whoever claims the order next finds it already in the handover folder.
      let stateMoved = false;
      if (keepState && !stateless.has(fileName)) {
        try {
          await fs.mkdir(handoverDir, { recursive: true });
          await renameRetrying(statePath(fileName), handedOver);
          stateMoved = true;
        } catch (err) {
          if (errnoOf(err) !== 'ENOENT') warn(moveError('hand over state', statePath(fileName), err));
        }
      }
      try {
        await renameRetrying(from, to);
      } catch (err) {
        if (stateMoved) await renameRetrying(handedOver, statePath(fileName)).catch(() => undefined);
        if (errnoOf(err) === 'ENOENT' && !(await exists(from).catch(() => true))) throw claimLost(fileName, claimsDir);
        throw moveError('release', `${from} -> ${to}`, err);
      }
      if (!keepState) return dropState(fileName);
      stateless.delete(fileName);
    },


    listFailed: () => listOrEmpty(failedDir, FAILED_PATTERN),

    async requeueFailed(fileName: string): Promise<string> {
      assertName(fileName, FAILED_PATTERN);
      const original = unnumberedName(fileName);
      const from = path.join(failedDir, fileName);
      const to = path.join(dir, original);
      try {
        if (await exists(to)) throw Object.assign(new Error('an order of this name is waiting in the order folder'), { code: 'EEXIST' });
        await renameRetrying(from, to);
      } catch (err) {
        throw moveError('requeue', `${from} -> ${to}`, err);
      }
      await fs.unlink(from + NOTE_SUFFIX).catch((err) => {
        if (errnoOf(err) !== 'ENOENT') warn(moveError('delete note', from + NOTE_SUFFIX, err));
      });
      return original;
    },

    heartbeat,

    async takeOverStaleClaims(staleMs: number): Promise<string[]> {
      await heartbeat(); // also gives the file server's "now" (see takeover.ts)
      return takeOverStaleClaims({ dir, claimsRoot, hostId, handoverDir, staleMs, warn });
    },
  };
}
