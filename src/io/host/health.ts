/**
 * The mailer's health file: what needs a person *now* and that only the
 * running mailer sees (the log file cannot be written, claims fail, the last
 * SMTP error of each company), kept where `status`, a separate process and
 * maybe another account, can read it.
 *
 * Where: `<workDir>/health-<host>.json` (one per machine, since machines may
 * share a work area), and, while that cannot be written (the work area itself
 * refuses writes: the same failure that makes claims fail), the same name in
 * the log folder when it is outside the work area (`logDir`). `readHealth`
 * takes the newest of the two. When neither can be written, the failure still
 * reaches the log, the terminal and the system's log, and `status` probes the
 * folders itself (`probeAsStatus`).
 *
 * Guarantees:
 * - written atomically (temporary file + rename), only when something changes
 *   (a new problem, a different error, one cleared; a repeated identical SMTP
 *   error at most once a minute), never once per order;
 * - one write at a time: changes during a write are written once after it;
 * - never throws and never holds up sending: a failed write is reported once
 *   per outage through `onWriteError` and tried again at the next change;
 * - bounded: at most MAX_COMPANIES SMTP entries (further companies are
 *   counted in `smtpOmitted`, not kept).
 *
 * An SMTP entry stays until that company sends successfully, also across
 * restarts (the file is read back at start); the log entry is the current
 * process's only (a new process opens the log anew and reports it if it
 * fails again).
 */
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { errnoOf, sanitizeHostId, writeFileAtomic } from '../store/files.js';

/** The log file cannot be written (folder read-only, disk full, a folder where the file should be). */
export interface LogProblem {
  file: string;
  error: string;
  /** ISO time the outage began. */
  since: string;
}

/** Orders cannot be claimed: the claims folder (or the work area) refuses writes. */
export interface ClaimsProblem {
  dir: string;
  error: string;
  since: string;
}

/** The last failed send of one company, until one of its sends succeeds. */
export interface SmtpProblem {
  code: string;
  message: string;
  smtpCode?: number;
  smtpResponse?: string;
  /** ISO time of the first failure with this error, and of the last one. */
  since: string;
  at: string;
  orderId?: string;
}

export interface Health {
  host: string;
  pid: number;
  /** ISO time the file was written. */
  updatedAt: string;
  log?: LogProblem;
  claims?: ClaimsProblem;
  /** By company (the lane key). */
  smtp: Record<string, SmtpProblem>;
  /** Companies with a failing send beyond MAX_COMPANIES, not listed. */
  smtpOmitted?: number;
}

/**
 * A file-system error in few words: Node's `EACCES: permission denied, open
 * '<path>'` without the path part (the alert names the folder itself).
 */
export function shortFsError(error: Error): string {
  const match = /^(E[A-Z]+: [^,]+), \w+ '/.exec(error.message);
  return match === null ? error.message : match[1]!;
}

/** SMTP entries kept at most. */
export const MAX_COMPANIES = 200;
/** A repeated identical SMTP error rewrites the file at most this often (to move its `at`). */
const REPEAT_WRITE_MS = 60_000;

/** The health file's name for this machine. */
export function healthFileName(hostId: string | undefined): string {
  return `health-${sanitizeHostId(hostId ?? os.hostname())}.json`;
}

/** Where the health file may be, the usual place first (see the module comment). */
export function healthPaths(opts: { workDir: string; logDir?: string | null; hostId?: string | null }): string[] {
  const name = healthFileName(opts.hostId ?? undefined);
  const workDir = path.resolve(opts.workDir);
  const paths = [path.join(workDir, name)];
  if (typeof opts.logDir === 'string') {
    const logDir = path.resolve(opts.logDir);
    const inside = path.relative(workDir, logDir);
    if (inside.startsWith('..') || path.isAbsolute(inside)) paths.push(path.join(logDir, name));
  }
  return paths;
}

/** The newest readable health file among `paths`; undefined when there is none. */
export async function readHealth(paths: string[]): Promise<Health | undefined> {
  let newest: Health | undefined;
  for (const file of paths) {
    try {
      const data = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<Health>;
      if (typeof data.updatedAt !== 'string' || typeof data.smtp !== 'object' || data.smtp === null) continue;
      if (newest === undefined || data.updatedAt > newest.updatedAt) newest = data as Health;
    } catch {
      /* missing or half-written elsewhere: the other one, or none */
    }
  }
  return newest;
}

/** A send error as the health file keeps it (only SMTP failures are kept). */
export interface SendFailure {
  code: string;
  message: string;
  smtp?: { responseCode?: number; response?: string };
}

/** True for a failure of the conversation with the server (as opposed to the order's own data). */
export function isSmtpFailure(error: SendFailure): boolean {
  return error.code.startsWith('SMTP_') || error.smtp?.responseCode !== undefined;
}

export interface HealthRecorder {
  logFailing(file: string, error: Error): void;
  logWorks(): void;
  claimsFailing(dir: string, error: Error): void;
  claimsWork(): void;
  smtpFailed(company: string, error: SendFailure, orderId?: string): void;
  smtpWorks(company: string): void;
  /** Resolves once every change so far is written (or its write failed). */
  flush(): Promise<void>;
}

export interface HealthRecorderOptions {
  /** `healthPaths(...)`: the usual place first. */
  paths: string[];
  host: string;
  now?: () => Date;
  /** Told once per outage when the file cannot be written anywhere; again after a write succeeded. */
  onWriteError?: (error: Error) => void;
}

/** See the module comment. */
export function createHealthRecorder(opts: HealthRecorderOptions): HealthRecorder {
  const now = opts.now ?? (() => new Date());
  let log: LogProblem | undefined;
  let claims: ClaimsProblem | undefined;
  const smtp = new Map<string, SmtpProblem>();
  /** Companies whose state this process decided (loaded entries never override them). */
  const decided = new Set<string>();
  let omitted = 0;
  let dirty = false;
  let writing: Promise<void> | undefined;
  let failing = false;
  /** Where the last write landed: a copy left in another place is removed after a write to the usual one. */
  let lastPath: string | undefined;

  const loaded = readHealth(opts.paths).then((previous) => {
    if (previous === undefined) return;
    for (const [company, problem] of Object.entries(previous.smtp)) {
      if (!decided.has(company) && !smtp.has(company) && smtp.size < MAX_COMPANIES) smtp.set(company, problem);
    }
    if (previous.claims !== undefined && claims === undefined && !decided.has('\0claims')) claims = previous.claims;
    // The log entry is the writing process's own: this one reports its own log.
    if (previous.log !== undefined) changed();
  });

  const snapshot = (): Health => ({
    host: opts.host,
    pid: process.pid,
    updatedAt: now().toISOString(),
    ...(log !== undefined && { log }),
    ...(claims !== undefined && { claims }),
    smtp: Object.fromEntries(smtp),
    ...(omitted > 0 && { smtpOmitted: omitted }),
  });

  const writeOnce = async (): Promise<void> => {
    const text = `${JSON.stringify(snapshot(), null, 2)}\n`;
    let firstError: Error | undefined;
    for (const file of opts.paths) {
      try {
        await writeFileAtomic(file, text);
        if (lastPath !== undefined && lastPath !== file && opts.paths.indexOf(file) < opts.paths.indexOf(lastPath)) {
          await fs.rm(lastPath, { force: true }).catch(() => undefined);
        }
        lastPath = file;
        failing = false;
        return;
      } catch (err) {
        firstError ??= err as Error;
      }
    }
    if (!failing) opts.onWriteError?.(firstError ?? new Error('no place to write the health file'));
    failing = true;
  };

  function changed(): void {
    dirty = true;
    writing ??= (async () => {
      await loaded.catch(() => undefined);
      while (dirty) {
        dirty = false;
        await writeOnce();
      }
      writing = undefined;
    })();
  }

  return {
    logFailing(file, error) {
      const text = shortFsError(error);
      if (log !== undefined && log.error === text) return;
      log = { file, error: text, since: log?.since ?? now().toISOString() };
      changed();
    },
    logWorks() {
      if (log === undefined) return;
      log = undefined;
      changed();
    },
    claimsFailing(dir, error) {
      decided.add('\0claims');
      const text = shortFsError(error);
      if (claims !== undefined && claims.error === text && claims.dir === dir) return;
      claims = { dir, error: text, since: claims?.since ?? now().toISOString() };
      changed();
    },
    claimsWork() {
      decided.add('\0claims');
      if (claims === undefined) return;
      claims = undefined;
      changed();
    },
    smtpFailed(company, error, orderId) {
      if (!isSmtpFailure(error)) return;
      decided.add(company);
      const at = now().toISOString();
      const old = smtp.get(company);
      const next: SmtpProblem = {
        code: error.code,
        message: error.message,
        ...(error.smtp?.responseCode !== undefined && { smtpCode: error.smtp.responseCode }),
        ...(error.smtp?.response !== undefined && { smtpResponse: error.smtp.response }),
        since: at,
        at,
        ...(orderId !== undefined && { orderId }),
      };
      const same = old !== undefined && old.code === next.code && old.smtpCode === next.smtpCode && old.smtpResponse === next.smtpResponse && old.message === next.message;
      if (same) {
        const stale = Date.parse(at) - Date.parse(old.at) >= REPEAT_WRITE_MS;
        smtp.set(company, { ...next, since: old.since });
        if (stale) changed();
        return;
      }
      if (old === undefined && smtp.size >= MAX_COMPANIES) {
        omitted += 1;
        changed();
        return;
      }
      smtp.set(company, next);
      changed();
    },
    smtpWorks(company) {
      decided.add(company);
      if (!smtp.delete(company)) return;
      changed();
    },
    async flush() {
      await loaded.catch(() => undefined);
      while (writing !== undefined) await writing;
    },
  };
}

/**
 * Whether this process can create a file in `dir` now: a probe file is
 * created and removed (never the folder itself). Undefined when it can, else
 * the error. Used when a claim fails with a permission or disk error, to tell
 * a folder that refuses writes (a person must act) from one order file held
 * by another program (it passes).
 */
export async function probeWritable(dir: string): Promise<Error | undefined> {
  const probe = path.join(dir, `.probe-${process.pid}-${Date.now().toString(36)}`);
  try {
    const handle = await fs.open(probe, 'wx');
    await handle.close();
    await fs.rm(probe, { force: true });
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/** Errors of a claim that may mean the folder refuses writes, rather than the order being held or gone. */
export function mayBeFolderProblem(error: unknown): boolean {
  const errno = errnoOf((error as { cause?: unknown } | undefined)?.cause) ?? errnoOf(error);
  return errno !== undefined && ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EIO', 'ENOENT', 'ENOTDIR'].includes(errno);
}

/**
 * What `status` finds itself, without the mailer: a log path that is a folder
 * (whoever asks), and, when `status` runs as the account that owns the folder
 * (POSIX; on Windows always, where `access` checks only the read-only
 * attribute), a log folder or claims folder it cannot write to. Another
 * account's rights say nothing about the mailer's, so they are not probed.
 */
export async function probeAsStatus(opts: { logFile: string; claimsDir: string; workDir: string }): Promise<{ log?: string; claims?: string; claimsDir?: string }> {
  const out: { log?: string; claims?: string; claimsDir?: string } = {};
  const info = await fs.stat(opts.logFile).catch(() => undefined);
  if (info !== undefined && !info.isFile()) out.log = `${opts.logFile} is not a file (${info.isDirectory() ? 'a folder' : 'another kind of entry'})`;
  const writable = async (target: string): Promise<string | undefined> => {
    const stat = await fs.stat(target).catch(() => undefined);
    if (stat === undefined) return undefined;
    const uid = process.getuid?.();
    if (uid !== undefined && (uid === 0 || stat.uid !== uid)) return undefined;
    return fs.access(target, fsConstants.W_OK).then(
      () => undefined,
      (err: unknown) => `${target}: ${errnoOf(err) ?? (err as Error).message}`,
    );
  };
  if (out.log === undefined) {
    const denied = await writable(info !== undefined ? opts.logFile : path.dirname(opts.logFile));
    if (denied !== undefined) out.log = denied;
  }
  const claimsTarget = (await fs.stat(opts.claimsDir).catch(() => undefined)) !== undefined ? opts.claimsDir : opts.workDir;
  const claimsDenied = await writable(claimsTarget);
  if (claimsDenied !== undefined) {
    out.claims = claimsDenied;
    out.claimsDir = claimsTarget;
  }
  return out;
}
