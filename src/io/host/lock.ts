/**
 * One mailer per order folder per machine (spec §3: a second one says so and
 * exits at once with status 3). Several machines sharing the folder each run
 * their own mailer, so the lock is per host: `<workDir>/instance-<hostId>`.
 *
 * Built on proper-lockfile (an mkdir lock, safe on SMB/NFS, kept fresh by
 * touching its mtime). proper-lockfile only knows staleness by time, which
 * would make a restart after a crash wait `stale` ms; so the holder also writes
 * `<target>.owner.json` ({pid, host, since}), and a lock whose owner process is
 * gone from this machine is removed at once.
 *
 * Deciding "the owner is dead, remove its lock" and taking the lock must not
 * interleave between two starting mailers (the second would remove the lock the
 * first just took, before the first wrote its owner file). Both steps therefore
 * run under a short-lived guard lock `<target>.guard`, held for milliseconds.
 *
 * A held lock is checked every second (proper-lockfile's refresh: a stat, a
 * read of the owner file, then a touch). When its folder is gone (the order
 * folder or the work area was removed, a share remounted empty) or it is no
 * longer ours (its time is not the one we set, or its owner file names
 * another holder: another mailer took it, a backup restored an old one), the
 * holder is told once, within about a second, through `onLost` and
 * `onCompromised` (INSTANCE_LOCK_LOST): another mailer may start from then on,
 * so the holder must stop taking orders. A lost lock is never removed by its
 * former holder (not by `release`, not at exit): the folder at its path may
 * be the new holder's.
 *
 * `readMailerProcess` answers from outside (for `status`) whether a mailer
 * holds the lock; it only reads.
 */
import fsCallbacks, { readFileSync } from 'node:fs';
import os from 'node:os';
import fs from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ErrorCodes, MailerError, toMailerError } from '../../errors.js';
import { accessError, errnoOf, sanitizeHostId, writeFileAtomic } from '../store/files.js';

export interface InstanceOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

export interface InstanceLockOptions {
  workDir: string;
  /**
   * The order folder. It is never created here: when the work area lies
   * inside it and it is missing (or is not a folder), nothing is created and
   * the call rejects with FS_ACCESS_FAILED (ENOENT / ENOTDIR). A work area
   * elsewhere is created with its missing parents.
   */
  orderDir?: string;
  /** Default `os.hostname()`, sanitised. */
  hostId?: string;
  /**
   * Called (never thrown) when the lock was lost while held: its folder
   * vanished, it was replaced, or it could not be refreshed for `staleMs`
   * (share gone). Another instance may start; the caller should stop.
   */
  onCompromised?: (err: MailerError) => void;
  /**
   * proper-lockfile timings: a lock not refreshed for `staleMs` (default 30 s)
   * may be taken by another mailer; the holder refreshes and checks it every
   * `updateMs` (default 1 s, the least proper-lockfile allows), which is how
   * soon a lost lock is noticed.
   */
  staleMs?: number;
  updateMs?: number;
}

export interface InstanceLock {
  /**
   * Idempotent. Rejects with a MailerError only when the lock could not be
   * removed. After the lock was lost it removes nothing (the folder at its
   * path may be another mailer's).
   */
  release(): Promise<void>;
  /** Calls `listener` once when the lock is lost (INSTANCE_LOCK_LOST); at once if it already is. Never called after `release`. */
  onLost(listener: (err: MailerError) => void): void;
}

export type AcquireResult = InstanceLock | { running: InstanceOwner };

/** True unless the process is certainly gone (ESRCH). EPERM: exists, belongs to someone else. */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true; // unknown: assume alive, never steal
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) !== 'ESRCH';
  }
}

async function readOwner(file: string): Promise<InstanceOwner | undefined> {
  return parseOwner(await fs.readFile(file, 'utf8').catch(() => ''));
}

/** The owner file's content; undefined when it is missing or half-written (unknown owner). */
function parseOwner(text: string): InstanceOwner | undefined {
  try {
    const data = JSON.parse(text) as Partial<InstanceOwner>;
    if (typeof data.pid === 'number' && typeof data.host === 'string' && typeof data.since === 'string') {
      return { pid: data.pid, host: data.host, since: data.since };
    }
  } catch {
    /* unknown owner */
  }
  return undefined;
}

/** Runs `fn` under the guard lock (waits up to ~10 s: the guard is held for milliseconds, or is stale after 5 s). */
async function withGuard<T>(target: string, fn: () => Promise<T>): Promise<T> {
  let releaseGuard: () => Promise<void>;
  try {
    releaseGuard = await lockfile.lock(`${target}.guard`, {
      realpath: false,
      stale: 5_000,
      retries: { retries: 60, factor: 1.3, minTimeout: 10, maxTimeout: 200 },
      onCompromised: () => undefined, // held for milliseconds; nothing to protect after that
    });
  } catch (err) {
    throw accessError('lock', `${target}.guard`, err);
  }
  try {
    return await fn();
  } finally {
    await releaseGuard().catch(() => undefined);
  }
}

/**
 * The locks this process holds now, by target. A lock whose owner file names
 * this very process but that is not here is one this process lost (its order
 * folder moved away and back with the lock inside, a share remounted): it is
 * stale like a dead process's, not a second mailer. A lock that is here is
 * still this process's own (the status window's `retry` asks while `run`
 * holds it): running.
 */
const heldHere = new Map<string, InstanceOwner>();

/**
 * Takes this machine's instance lock, or tells who holds it (at once: no
 * retries, no waiting). Rejects with a MailerError (FS_ACCESS_FAILED) only when
 * the work area cannot be used at all.
 */
export async function acquireInstanceLock(opts: InstanceLockOptions): Promise<AcquireResult> {
  const hostId = sanitizeHostId(opts.hostId ?? os.hostname());
  const workDir = path.resolve(opts.workDir);
  const target = path.join(workDir, `instance-${hostId}`);
  const ownerFile = `${target}.owner.json`;
  const staleMs = opts.staleMs ?? 30_000;
  const loss = lossReporter(opts.onCompromised);
  const guard = ownerGuard(ownerFile);
  const lockOptions: lockfile.LockOptions = {
    realpath: false,
    fs: guard.fs,
    stale: staleMs,
    update: opts.updateMs ?? 1_000,
    retries: 0,
    onCompromised: (err) => {
      forget(target, mine);
      loss.report(lostError(`${target}.lock`, err, staleMs));
    },
  };
  /** The owner this call wrote, once it took the lock. */
  let mine: InstanceOwner | undefined;

  await makeWorkArea(workDir, opts.orderDir);

  /** One attempt: the release function, or undefined when the lock is held. */
  const tryLock = async (): Promise<(() => Promise<void>) | undefined> => {
    try {
      return await lockfile.lock(target, lockOptions);
    } catch (err) {
      if (errnoOf(err) === 'ELOCKED') return undefined;
      throw accessError('lock', `${target}.lock`, err);
    }
  };

  const taken = await withGuard<{ running: InstanceOwner } | { release: () => Promise<void>; owner: InstanceOwner }>(target, async () => {
    let release = await tryLock();
    if (!release) {
      const owner = await readOwner(ownerFile);
      const lostHere = owner?.host === hostId && owner.pid === process.pid && !isSelf(heldHere.get(target), owner);
      if (owner === undefined || owner.host !== hostId || (isProcessAlive(owner.pid) && !lostHere)) {
        return { running: owner ?? (await unknownOwner(target, hostId)) };
      }
      // Left by a process of this machine that no longer exists (crash, kill -9, power loss), or lost by this one.
      await fs.rm(`${target}.lock`, { recursive: true, force: true }).catch((err) => {
        throw accessError('remove stale lock', `${target}.lock`, err);
      });
      release = await tryLock();
      if (!release) return { running: (await readOwner(ownerFile)) ?? (await unknownOwner(target, hostId)) };
    }
    const owner: InstanceOwner = { pid: process.pid, host: hostId, since: new Date().toISOString() };
    try {
      await writeFileAtomic(ownerFile, JSON.stringify(owner));
    } catch (err) {
      await release().catch(() => undefined);
      throw accessError('write lock owner', ownerFile, err);
    }
    guard.own(owner);
    mine = owner;
    heldHere.set(target, owner);
    return { release, owner };
  });

  if ('running' in taken) return taken;
  return handle(taken.release, ownerFile, taken.owner, loss, guard, () => forget(target, taken.owner));
}

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
 * Whether a mailer holds this machine's lock, seen from outside (`status`):
 * reads `<workDir>/instance-<host>.lock` and its owner file, takes nothing.
 * Running means: the lock folder exists, the owner file names a pid, and that
 * process is alive. A crashed mailer leaves both behind with a dead pid: not
 * running.
 */
export async function readMailerProcess(workDir: string, hostId: string | undefined = undefined): Promise<MailerProcess> {
  const target = path.join(path.resolve(workDir), `instance-${sanitizeHostId(hostId ?? os.hostname())}`);
  const lockExists = await fs.stat(`${target}.lock`).then(
    () => true,
    () => false,
  );
  const owner = await readOwner(`${target}.owner.json`);
  if (!lockExists) return { running: false };
  if (owner === undefined) return { running: true }; // locked, owner not written yet (or an older version)
  return { running: owner.pid > 0 && isProcessAlive(owner.pid), owner };
}

/**
 * Creates the work area. Inside the order folder it is made one level at a
 * time below that folder, so a missing order folder stays missing (a typo in
 * `--dir`, a share not mounted yet) instead of being made empty here.
 */
async function makeWorkArea(workDir: string, orderDir: string | undefined): Promise<void> {
  const inside = orderDir === undefined ? undefined : path.relative(path.resolve(orderDir), workDir);
  try {
    if (inside === undefined || inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
      await fs.mkdir(workDir, { recursive: true });
      return;
    }
    let folder = path.resolve(orderDir!);
    for (const part of inside.split(path.sep)) {
      folder = path.join(folder, part);
      await fs.mkdir(folder).catch((err: unknown) => {
        if (errnoOf(err) !== 'EEXIST') throw err;
      });
    }
  } catch (err) {
    throw accessError('create work area', workDir, err);
  }
}

/** What is at the order folder's path: a folder, nothing, or something else (a file). Other errors (EACCES, a share's failure) are thrown raw. */
export async function orderFolderState(dir: string): Promise<'folder' | 'missing' | 'not_folder'> {
  try {
    return (await fs.stat(dir)).isDirectory() ? 'folder' : 'not_folder';
  } catch (err) {
    // ENOTDIR: a folder on the way is a file, so this folder does not exist either.
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return 'missing';
    throw err;
  }
}

/** Drops `owner`'s entry in heldHere (released or lost); a newer holder's entry for the same target stays. */
function forget(target: string, owner: InstanceOwner | undefined): void {
  if (owner !== undefined && isSelf(heldHere.get(target), owner)) heldHere.delete(target);
}

function isSelf(owner: InstanceOwner | undefined, self: InstanceOwner): boolean {
  return owner?.pid === self.pid && owner.host === self.host && owner.since === self.since;
}

interface OwnerGuard {
  /** The file system for proper-lockfile. */
  fs: typeof fsCallbacks;
  /** The owner file now names this holder. */
  own(self: InstanceOwner): void;
  /** Whether `release` may remove the lock's folder (it read the owner file just before). */
  decide(remove: boolean): void;
}

/**
 * The file system proper-lockfile works through: node's, except where the
 * lock's folder may already be another holder's. proper-lockfile tells its
 * own lock by the folder's time alone, and the time it gives a new lock is
 * the next whole second plus 5 ms: two locks taken within one second (a
 * folder removed and a second mailer started right after the first one's
 * start) look alike, and the first would go on refreshing the second's lock,
 * which then looks lost to its rightful holder. So once this holder wrote its
 * owner file:
 * - each refresh first reads the owner file; if it is gone or names another
 *   holder, the refresh fails and proper-lockfile reports the lock lost
 *   (a read that fails otherwise, a share's hiccup, decides nothing);
 * - the folder is removed (by `release`, or by proper-lockfile's handler at
 *   process exit) only while the owner file still names this holder: a lock
 *   lost a moment ago, not yet noticed, may be the next holder's, and removing
 *   it would let a third mailer start beside that one.
 */
function ownerGuard(ownerFile: string): OwnerGuard {
  let self: InstanceOwner | undefined;
  let decided: boolean | undefined;
  const mayRemove = (): boolean => {
    if (self === undefined) return true;
    if (decided !== undefined) return decided;
    // Only proper-lockfile's exit handler gets here (release decides first): it must be synchronous.
    try {
      return isSelf(parseOwner(readFileSync(ownerFile, 'utf8')), self);
    } catch {
      return false;
    }
  };
  return {
    fs: {
      ...fsCallbacks,
      utimes: ((p: string, atime: Date, mtime: Date, callback: (err: NodeJS.ErrnoException | null) => void) => {
        if (self === undefined) return fsCallbacks.utimes(p, atime, mtime, callback);
        const holder = self;
        fsCallbacks.readFile(ownerFile, 'utf8', (err, text) => {
          const owner = err === null ? parseOwner(text) : undefined;
          if ((err === null && isSelf(owner, holder)) || (err !== null && errnoOf(err) !== 'ENOENT')) {
            fsCallbacks.utimes(p, atime, mtime, callback);
            return;
          }
          const who = owner === undefined ? 'no holder' : `pid ${owner.pid} on ${owner.host} since ${owner.since}`;
          callback(Object.assign(new Error(`it was replaced (its owner file names ${who})`), { code: 'ENOENT' }));
        });
      }) as typeof fsCallbacks.utimes,
      rmdir: ((p: string, callback: (err: NodeJS.ErrnoException | null) => void) => {
        if (mayRemove()) fsCallbacks.rmdir(p, callback);
        else process.nextTick(callback, null);
      }) as typeof fsCallbacks.rmdir,
      rmdirSync: (p: fsCallbacks.PathLike) => {
        if (mayRemove()) fsCallbacks.rmdirSync(p);
      },
    },
    own: (owner) => (self = owner),
    decide: (remove) => (decided = remove),
  };
}

/**
 * Why a held lock was lost, in words. proper-lockfile sets `code` to
 * ECOMPROMISED on whatever it met: the file system's error (ENOENT: the
 * folder is gone), or its own "Unable to update lock within the stale
 * threshold" when the lock's time is not the one it set.
 */
function lostError(lockDir: string, err: Error, staleMs: number): MailerError {
  const why =
    /\bENOENT\b/.test(err.message)
      ? 'its folder is gone (the order folder or the work area was removed, or the share was remounted)'
      : /stale threshold/i.test(err.message)
        ? 'it was replaced (another mailer took it, or the folder was restored from a copy)'
        : /^it was replaced/.test(err.message)
          ? `${err.message}: another mailer took it, or the folder was restored from a copy`
          : `it could not be refreshed for ${Math.round(staleMs / 1000)} s (${err.message})`;
  return new MailerError(ErrorCodes.INSTANCE_LOCK_LOST, `instance lock lost: ${lockDir}: ${why}`, { value: lockDir, cause: err });
}

interface LossReporter {
  readonly error: MailerError | undefined;
  report(err: MailerError): void;
  onLost(listener: (err: MailerError) => void): void;
  /** No listener is called from now on (the holder released the lock). */
  close(): void;
}

/** Tells `onCompromised` and every `onLost` listener of one loss, once; a throwing listener stops nothing. */
function lossReporter(onCompromised: ((err: MailerError) => void) | undefined): LossReporter {
  let error: MailerError | undefined;
  let closed = false;
  const listeners: ((err: MailerError) => void)[] = onCompromised ? [onCompromised] : [];
  const call = (listener: (err: MailerError) => void, err: MailerError) => {
    try {
      listener(err);
    } catch {
      /* a throwing callback must not crash the process from a timer */
    }
  };
  return {
    get error() {
      return error;
    },
    report(err) {
      if (error !== undefined || closed) return;
      error = err;
      for (const listener of listeners.splice(0)) call(listener, err);
    },
    onLost(listener) {
      if (closed) return;
      if (error !== undefined) call(listener, error);
      else listeners.push(listener);
    },
    close() {
      closed = true;
      listeners.length = 0;
    },
  };
}

/** The holder of a lock without an owner file (it crashed between the two steps, or is an older version). */
async function unknownOwner(target: string, host: string): Promise<InstanceOwner> {
  const since = await fs.stat(`${target}.lock`).then(
    (s) => s.mtime.toISOString(),
    () => '',
  );
  return { pid: 0, host, since };
}

function handle(releaseLock: () => Promise<void>, ownerFile: string, self: InstanceOwner, loss: LossReporter, guard: OwnerGuard, forgetHere: () => void): InstanceLock {
  let released: Promise<void> | undefined;
  return {
    onLost: (listener) => loss.onLost(listener),
    release() {
      released ??= (async () => {
        forgetHere();
        const lost = loss.error !== undefined;
        loss.close();
        // proper-lockfile forgot a lock it reported lost (its release answers ERELEASED, its exit handler skips it).
        if (lost) return;
        // Only our own lock: lost a moment ago, unnoticed, it may already be the next holder's (see ownerGuard).
        const mine = isSelf(await readOwner(ownerFile), self);
        guard.decide(mine);
        if (mine) await fs.unlink(ownerFile).catch(() => undefined);
        try {
          await releaseLock();
        } catch (err) {
          // ERELEASED/ENOTACQUIRED: the lock was already lost (reported through onCompromised).
          if (errnoOf(err) === 'ERELEASED' || errnoOf(err) === 'ENOTACQUIRED') return;
          throw toMailerError(accessError('release lock', ownerFile.replace(/\.owner\.json$/, '.lock'), err));
        }
      })();
      return released;
    },
  };
}

/**
 * Resolves true once `dir` is a folder (at once if it is), checking every
 * `everyMs` (default 1 s); false if `stopped` settles first. `onWait` is
 * called once, when the first check finds no folder. For a mailer that lost
 * its lock with the order folder: it takes the lock again once the folder is
 * back, never creating the folder itself.
 */
export async function untilFolderExists(dir: string, opts: { stopped: Promise<void>; everyMs?: number; onWait?: () => void }): Promise<boolean> {
  // Any failure to look (share not mounted yet, permissions) counts as "not back yet".
  const isFolder = () => orderFolderState(dir).then((state) => state === 'folder', () => false);
  if (await isFolder()) return true;
  opts.onWait?.();
  let timer: NodeJS.Timeout | undefined;
  const stopped = opts.stopped.then(() => false);
  try {
    for (;;) {
      const tick = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), opts.everyMs ?? 1000)));
      if (!(await Promise.race([tick, stopped]))) return false;
      if (await isFolder()) return true;
    }
  } finally {
    clearTimeout(timer);
  }
}
