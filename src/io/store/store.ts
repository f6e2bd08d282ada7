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
 *   <dir>/enviados/<name>, <dir>/errores/<name> + <name>.error.txt   (io/store/archive.ts)
 */
import os from 'node:os';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, MailerError } from '../../errors.js';
import { ORDER_FILE_PATTERN, type AfterSend } from '../../order/types.js';
import type { OrderLocation, OrderStore, PersistedOrderState } from '../../ports.js';
import { FAILED_PATTERN, claimLost, createArchive } from './archive.js';
import { accessError, errnoOf, heldError, isHeld, listOrderEntries, listOrderFilesOrNone, moveError, renameRetrying, sanitizeHostId, writeFileAtomic, type NotAFile } from './files.js';
import { takeOverStaleClaims, writeHeartbeat } from './takeover.js';
import { createFileCalls, type FileCalls } from './file-calls.js';
import { readOrderBytes } from './readiness.js';
import type { FsMode } from '../../config/types.js';

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
  /**
   * How the store makes its per-order file calls (io/store/file-calls.ts);
   * default `async`, which never blocks the event loop.
   */
  fsMode?: FsMode;
  /** Other folders its calls touch (the attachments folder): in `auto`, one on a network share makes them asynchronous. */
  fsFolders?: readonly string[];
  /** Told how the file calls are made: once at creation (`mode`), and when `auto` turns them asynchronous (`async`). */
  onFileCalls?: (note: FileCallsNote) => void;
}

/** What the store says about its file calls (OrderStoreOptions.onFileCalls). */
export type FileCallsNote =
  | { kind: 'mode'; mode: FsMode; calls: 'sync' | 'async' }
  | { kind: 'async'; reason: 'network' | 'slow'; op: string; target: string; ms: number };

export interface FsOrderStore extends OrderStore {
  readonly hostId: string;
  /** The store's file calls, for the per-order reads made outside it (waiting for a file to be complete, attachments). */
  readonly calls: FileCalls;
  /** The order folder's orders (`files`, as `listInbox`) and the entries named like orders that are not files (links, folders), never taken. */
  scanInbox(): Promise<{ files: string[]; notFiles: NotAFile[] }>;
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

function assertName(fileName: string, pattern: RegExp = ORDER_FILE_PATTERN): void {
  if (!pattern.test(fileName)) throw new MailerError(ErrorCodes.INTERNAL, `not an order file name: ${fileName}`, { value: fileName });
}

export function createOrderStore(opts: OrderStoreOptions): FsOrderStore {
  const dir = path.resolve(opts.dir);
  const workDir = path.resolve(opts.workDir);
  const hostId = sanitizeHostId(opts.hostId ?? os.hostname());
  const claimsRoot = path.join(workDir, 'claims');
  const claimsDir = path.join(claimsRoot, hostId);
  const handoverDir = path.join(workDir, 'handover');
  // Loaded on first use: most installations never recycle, and it is the slowest package to load.
  const trash = opts.trash ?? (async (paths: string[]) => (await import('trash')).default(paths, { glob: false }));
  const warn = (err: MailerError) => opts.onWarning?.(err);
  const fsMode = opts.fsMode ?? 'async';
  const calls = createFileCalls({
    mode: fsMode,
    folders: [opts.dir, opts.workDir, ...(opts.fsFolders ?? [])], // as given: a UNC path says more than its resolved form
    onSlow: (info) => opts.onFileCalls?.({ kind: 'async', ...info }),
  });
  opts.onFileCalls?.({ kind: 'mode', mode: fsMode, calls: calls.mode() });
  const exists = calls.exists;
  const archive = createArchive({ dir, claimsDir, recycleDir: opts.recycleDir, trash, warn, calls });

  const claimPath = (fileName: string) => path.join(claimsDir, fileName);
  const statePath = (fileName: string) => claimPath(fileName) + STATE_SUFFIX;

  /**
   * Claimed orders this process knows have no state file (claimed with none
   * to adopt, none saved since): loading and dropping their state costs no
   * file-system call. Only this process writes this machine's claims folder
   * (one mailer per folder per machine), so the knowledge cannot go stale.
   */
  const stateless = new Set<string>();

  /** Removes the state file after an order left the claims folder; a leftover is only reported (claim clears it). */
  async function dropState(fileName: string): Promise<void> {
    if (stateless.delete(fileName)) return;
    if (!(await exists(statePath(fileName)).catch(() => true))) return; // the usual case, without an ENOENT error
    await calls.unlink(statePath(fileName)).catch((err) => {
      if (errnoOf(err) !== 'ENOENT') warn(moveError('delete state', statePath(fileName), err));
    });
  }

  /** Takes the state handed over with this order, or clears a leftover from an older order of the same name. */
  async function adoptState(fileName: string): Promise<void> {
    const handedOver = path.join(handoverDir, fileName + STATE_SUFFIX);
    // A handed-over state is written before its order returns to the order folder: if it is not there now, there is none.
    if (await exists(handedOver).catch(() => true)) {
      try {
        await renameRetrying(handedOver, statePath(fileName), calls);
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

  /**
   * Whether this process has had its claims folder (made it, or claimed or
   * beat into it). One that vanishes afterwards went with the work area: the
   * order folder was removed or restored, and the instance lock with it
   * (lock.ts tells the mailer within a second). It is not made again: in a
   * folder made anew, another mailer may be starting, and an order claimed
   * here before its start-up scan would be sent by both.
   */
  let claimsDirKnown = false;
  async function makeClaimsDir(): Promise<void> {
    if (claimsDirKnown) {
      throw moveError('claim', claimsDir, Object.assign(new Error('the claims folder vanished (the work area was removed); it is not made again by this mailer'), { code: 'ENOENT' }));
    }
    // Never the order folder itself: a mailer must not make a removed order folder again.
    if (!(await exists(dir))) throw moveError('claim', claimsDir, Object.assign(new Error(`the order folder ${dir} does not exist`), { code: 'ENOENT' }));
    await calls.mkdirp(claimsDir);
    claimsDirKnown = true;
  }

  const heartbeat = async () => {
    await writeHeartbeat(claimsDir, hostId, makeClaimsDir);
    claimsDirKnown = true;
  };

  async function scanInbox(): Promise<{ files: string[]; notFiles: NotAFile[] }> {
    try {
      return await listOrderEntries(dir);
    } catch (err) {
      throw accessError('list', dir, err);
    }
  }

  return {
    hostId,
    calls,
    claimPath,

    scanInbox,
    listInbox: async () => (await scanInbox()).files,

    listClaimed: () => listOrderFilesOrNone(claimsDir),

    /** The order's bytes; ORDER_TOO_LARGE, without reading a byte, when its fstat says it is above MAX_ORDER_BYTES. */
    async read(fileName: string, where: OrderLocation): Promise<Buffer> {
      assertName(fileName);
      const file = where === 'claimed' ? claimPath(fileName) : path.join(dir, fileName);
      try {
        return await readOrderBytes(file, undefined, calls);
      } catch (err) {
        if (err instanceof MailerError) throw err; // ORDER_TOO_LARGE: its size was stat'ed, nothing read
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
          await renameRetrying(from, to, calls);
        } catch (err) {
          if (errnoOf(err) !== 'ENOENT' || !(await exists(from))) throw err;
          await makeClaimsDir(); // first claim: create the folder, try again
          await renameRetrying(from, to, calls);
        }
        claimsDirKnown = true;
      } catch (err) {
        if (err instanceof MailerError) throw err;
        if (errnoOf(err) === 'ENOENT') return false; // another mailer took it
        // Its writer (or an antivirus) still has it open: it stays in the order folder for a later pass.
        if (isHeld(err)) throw heldError('claim', `${from} -> ${to}`, err);
        const why = errnoOf(err) === 'EXDEV' ? `${from} -> ${to} (the work area must be on the order folder's volume)` : `${from} -> ${to}`;
        throw moveError('claim', why, err);
      }
      await adoptState(fileName);
      return true;
    },

    async confirmClaim(fileName: string): Promise<void> {
      assertName(fileName);
      let claimed: boolean;
      try {
        claimed = await calls.exists(claimPath(fileName));
      } catch (err) {
        throw accessError('check claim', claimPath(fileName), err);
      }
      if (!claimed) throw claimLost(fileName, claimsDir);
    },

    async loadState(fileName: string): Promise<PersistedOrderState | undefined> {
      if (stateless.has(fileName)) return undefined;
      let text: string;
      try {
        text = await calls.readText(statePath(fileName));
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
      if (afterSend === 'CONSERVAR') await archive.toSent(fileName);
      else if (afterSend === 'RECICLAR') await archive.recycle(fileName);
      else {
        try {
          await calls.unlink(claimPath(fileName));
        } catch (err) {
          if (errnoOf(err) === 'ENOENT') throw claimLost(fileName, claimsDir);
          throw moveError('delete', claimPath(fileName), err);
        }
      }
      await dropState(fileName);
    },

    async archiveFailed(fileName: string, note: string): Promise<void> {
      assertName(fileName);
      await archive.toFailed(fileName, note);
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
          await renameRetrying(statePath(fileName), handedOver, calls);
          stateMoved = true;
        } catch (err) {
          if (errnoOf(err) !== 'ENOENT') warn(moveError('hand over state', statePath(fileName), err));
        }
      }
      try {
        await renameRetrying(from, to, calls);
      } catch (err) {
        if (stateMoved) await renameRetrying(handedOver, statePath(fileName), calls).catch(() => undefined);
        if (errnoOf(err) === 'ENOENT' && !(await exists(from).catch(() => true))) throw claimLost(fileName, claimsDir);
        throw moveError('release', `${from} -> ${to}`, err);
      }
      if (!keepState) return dropState(fileName);
      stateless.delete(fileName);
    },

    listFailed: () => archive.listFailed(),

    async requeueFailed(fileName: string): Promise<string> {
      assertName(fileName, FAILED_PATTERN);
      return archive.requeueFailed(fileName);
    },

    heartbeat,

    async takeOverStaleClaims(staleMs: number): Promise<string[]> {
      await heartbeat(); // also gives the file server's "now" (see takeover.ts)
      return takeOverStaleClaims({ dir, claimsRoot, hostId, handoverDir, staleMs, warn });
    },
  };
}
