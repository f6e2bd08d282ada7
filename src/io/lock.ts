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
 */
import os from 'node:os';
import fs from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ErrorCodes, MailerError, toMailerError } from '../errors.js';
import { accessError, errnoOf, sanitizeHostId, writeFileAtomic } from './fsutil.js';

export interface InstanceOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

export interface InstanceLockOptions {
  workDir: string;
  /** Default `os.hostname()`, sanitised. */
  hostId?: string;
  /**
   * Called (never thrown) when the lock was lost while held: its mtime could
   * not be refreshed in time (share gone, machine asleep) or its folder vanished.
   * Another instance may start; the caller should stop.
   */
  onCompromised?: (err: MailerError) => void;
  /** proper-lockfile timings; defaults 30 s and 10 s (tests shorten them). */
  staleMs?: number;
  updateMs?: number;
}

export interface InstanceLock {
  /** Idempotent. Rejects with a MailerError only when the lock could not be removed. */
  release(): Promise<void>;
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
  try {
    const data = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<InstanceOwner>;
    if (typeof data.pid === 'number' && typeof data.host === 'string' && typeof data.since === 'string') {
      return { pid: data.pid, host: data.host, since: data.since };
    }
  } catch {
    /* missing or half-written: unknown owner */
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
 * Takes this machine's instance lock, or tells who holds it (at once: no
 * retries, no waiting). Rejects with a MailerError (FS_ACCESS_FAILED) only when
 * the work area cannot be used at all.
 */
export async function acquireInstanceLock(opts: InstanceLockOptions): Promise<AcquireResult> {
  const hostId = sanitizeHostId(opts.hostId ?? os.hostname());
  const workDir = path.resolve(opts.workDir);
  const target = path.join(workDir, `instance-${hostId}`);
  const ownerFile = `${target}.owner.json`;
  const lockOptions: lockfile.LockOptions = {
    realpath: false,
    stale: opts.staleMs ?? 30_000,
    update: opts.updateMs ?? 10_000,
    retries: 0,
    onCompromised: (err) => {
      try {
        opts.onCompromised?.(new MailerError(ErrorCodes.FS_ACCESS_FAILED, `instance lock lost: ${target}.lock: ${err.message}`, { value: target, cause: err }));
      } catch {
        /* a throwing callback must not crash the process from a timer */
      }
    },
  };

  try {
    await fs.mkdir(workDir, { recursive: true });
  } catch (err) {
    throw accessError('create work area', workDir, err);
  }

  /** One attempt: the release function, or undefined when the lock is held. */
  const tryLock = async (): Promise<(() => Promise<void>) | undefined> => {
    try {
      return await lockfile.lock(target, lockOptions);
    } catch (err) {
      if (errnoOf(err) === 'ELOCKED') return undefined;
      throw accessError('lock', `${target}.lock`, err);
    }
  };

  const taken = await withGuard(target, async () => {
    let release = await tryLock();
    if (!release) {
      const owner = await readOwner(ownerFile);
      if (owner === undefined || owner.host !== hostId || isProcessAlive(owner.pid)) {
        return { running: owner ?? (await unknownOwner(target, hostId)) };
      }
      // Left by a process of this machine that no longer exists (crash, kill -9, power loss).
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
    return { release, owner };
  });

  if ('running' in taken) return taken;
  return handle(taken.release, ownerFile, taken.owner);
}

/** The holder of a lock without an owner file (it crashed between the two steps, or is an older version). */
async function unknownOwner(target: string, host: string): Promise<InstanceOwner> {
  const since = await fs.stat(`${target}.lock`).then(
    (s) => s.mtime.toISOString(),
    () => '',
  );
  return { pid: 0, host, since };
}

function handle(releaseLock: () => Promise<void>, ownerFile: string, self: InstanceOwner): InstanceLock {
  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= (async () => {
        // Only our own owner file: after a compromised lock it may already be the next holder's.
        const owner = await readOwner(ownerFile);
        if (owner?.pid === self.pid && owner.since === self.since) await fs.unlink(ownerFile).catch(() => undefined);
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
