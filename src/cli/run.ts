/**
 * The `run` and `once` commands (spec section 4): take the instance lock,
 * open the log, start the mailer, wait for it or for a stop signal, and map
 * the result to the documented exit status. Every failure before the
 * supervisor starts is reported in the operator's language.
 */
import path from 'node:path';
import type { Config, Language } from '../config/types.js';
import { t } from '../text/messages.js';
import { exists } from '../io/store/files.js';
import { acquireInstanceLock, orderFolderState, untilFolderExists, type AcquireResult, type InstanceLock } from '../io/host/lock.js';
import { Events } from '../io/log/events.js';
import { createLogger, registerSecret } from '../io/log/log.js';
import { systemLogOption } from '../io/log/eventlog.js';
import { createMailer, type LockLoss, type MailerOptions, type StopProgress } from '../mailer.js';
import { foldersOf } from '../config/folders.js';
import { shortFsError } from '../io/host/health.js';
import { createThreadedTransportPool, type ThreadedTransportPool } from '../io/smtp/threads.js';
import { testHooksFromEnv } from './test-hooks.js';
import { startStatusWindow, type StatusWindow } from './ui.js';
import type { Counts, SupervisorMode } from '../machines/supervisor-types.js';
import { ExitCode, onceExitCode, worstExitCode } from './exit-codes.js';
import { configOrExit, type CommonOptions } from './options.js';

function secretsOf(config: Config): string[] {
  const secrets: string[] = [];
  if (config.smtp.password) secrets.push(config.smtp.password);
  for (const profile of Object.values(config.companies)) {
    if (profile.smtp?.password) secrets.push(profile.smtp.password);
    if (profile.dkim?.privateKey) secrets.push(profile.dkim.privateKey);
  }
  return secrets;
}

/**
 * The signals that ask `run` and `once` to stop cleanly (in-flight sends
 * finish, the lock is released, exit 0): SIGTERM (systemd, `kill`) and SIGINT
 * (Ctrl+C) everywhere, and on Windows SIGBREAK (Ctrl+Break in a console).
 * Windows cannot deliver any of them from another process: Task Scheduler's
 * End, its time limit and `taskkill /F` terminate the mailer, and the next
 * start resumes what it held (docs/operations.md).
 */
export function stopSignals(platform: NodeJS.Platform = process.platform): NodeJS.Signals[] {
  return platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGBREAK'] : ['SIGINT', 'SIGTERM'];
}

/** The closing line of `run` and `once`: what was sent, failed and left, and, when there were any, the entries ignored as not files. */
export function summaryOf(counts: Counts, lang: Language): string {
  const summary = t('once.summary', lang, { ...counts });
  return counts.ignored > 0 ? `${summary} ${t('once.ignored', lang, { ...counts })}` : summary;
}

/**
 * `run` and `once`: lock, log, start the supervisor, wait for it, map its
 * result to an exit status; with a `folders` list in the configuration
 * (config/folders.ts), the same for every folder in one process.
 *
 * When the lock is lost while the mailer runs (the order folder removed or
 * restored, a share remounted: src/io/host/lock.ts notices within about a second),
 * the mailer stops taking orders and lets the sends in progress finish. `once`
 * then ends (status 4, or 1 when an order failed). `run` waits for the folder
 * to exist again and takes the lock again, with a new log file and a new
 * watch, or exits with status 3 when another mailer took the folder
 * meanwhile: never two mailers on one folder.
 *
 * The order folder is never created: a path that is not a folder ends both
 * commands with status 2 and a sentence naming it; a missing folder ends
 * `once` so too, while `run` says so at error level on the terminal (the log
 * file lives in that folder), checks again every few seconds and starts as
 * soon as the folder exists (a share mounted after the service started).
 *
 * Several folders: each is served as above by a supervisor of its own (its
 * own lanes, connection and per-minute limits, log, claims and parse
 * thread); they share the process, its stop signals and one SMTP worker pool
 * (its thread sends for every folder, each send asynchronous, so no folder's
 * slow server holds up another's). A burst in one folder thus delays another
 * folder's order no more than a burst of one company delays another's within
 * a folder (test/reliability/fairness.test.ts, test/e2e/folders.test.ts:
 * within 2 s). Every folder's lock is taken before any starts: another
 * mailer on any of them ends the start with status 3 naming that folder,
 * the locks taken released. After that,
 * what happens to one folder (missing, not a folder, unreadable, its lock
 * lost or taken) is said and handled for that folder alone: `run` waits for
 * a missing, unusable or lost folder while the others work. The exit status
 * is the worst of the folders' (`worstExitCode`).
 */
export async function runMailerCommand(mode: SupervisorMode, options: CommonOptions): Promise<number> {
  const config = await configOrExit(options);
  if (typeof config === 'number') return config;
  const folders = foldersOf(config);
  const shared: FolderShared = {};
  const several = folders.length > 1;
  const taken = several ? await takeEveryLock(folders, config.language) : new Map<Config, InstanceLock>();
  if (typeof taken === 'number') return taken;
  // The status window (`run --ui`): one per process, fed by every folder's mailer.
  const window = mode === 'run' ? await openStatusWindow(config) : undefined;
  if (typeof window === 'number') {
    await Promise.all([...taken.values()].map((held) => held.release().catch(() => {})));
    return window;
  }
  if (window !== undefined) Object.assign(shared, { inspect: window.inspect, watchLog: window.watchLog });
  if (several) shared.pool = sharedPool(folders);
  try {
    const results = await Promise.all(folders.map((folder) => runFolder(mode, folder, shared, { several, lock: taken.get(folder) })));
    // A second stop signal: every folder closed its log and released its lock; the sends cut off stay claimed for the next start.
    if (results.some((r) => r.stoppedNow)) process.exit(ExitCode.QUEUED);
    await shared.pool?.closeAll();
    return worstExitCode(results.map((r) => r.code));
  } finally {
    await window?.close();
  }
}

/**
 * Starts the status window when `ui.listen` (or `--ui`) asks for one, with
 * its lines (`ui.started`, `ui.failed`, `ui.error`) on the terminal, or the
 * journal under a service: undefined without one, exit status 2 when it
 * cannot listen (src/cli/ui.ts says why).
 */
async function openStatusWindow(config: Config): Promise<StatusWindow | number | undefined> {
  if (config.ui.listen === null) return undefined;
  registerSecret(config.ui.token);
  const log = createLogger({ pretty: true, verbose: config.verbose, language: config.language, ...systemLogOption(config.language, () => log.logger) });
  const window = await startStatusWindow(config, log.logger);
  if (typeof window !== 'object') {
    await log.close();
    return window;
  }
  return {
    ...window,
    close: async () => {
      await window.close();
      await log.close();
    },
  };
}

/** The SMTP worker pool every folder's mailer shares: it hands back each message as sent when any folder keeps them (`keepEml`). */
function sharedPool(folders: readonly Config[]): ThreadedTransportPool {
  const { sendTimeoutMs } = testHooksFromEnv(process.env);
  return createThreadedTransportPool({
    ...(sendTimeoutMs !== undefined && { timeoutMs: sendTimeoutMs }),
    ...(folders.some((folder) => folder.keepEml) && { keepMessage: true }),
  });
}

/** What every folder's mailer of one process receives alike (createMailer options). */
type FolderShared = Partial<Omit<MailerOptions, 'config' | 'mode' | 'logger' | 'acquireLock' | 'logFile'>> & {
  /** The status window's (src/cli/ui.ts `StatusWindow.watchLog`): each folder's log is flushed before the window reads it. */
  watchLog?: (flush: () => Promise<void>) => () => void;
};

/** How a folder's part of `run` or `once` ended. */
interface FolderResult {
  code: number;
  /** Ended by a second stop signal: the process exits at once (status 4). */
  stoppedNow?: true;
}

/**
 * Takes the lock of every folder present before any starts; a folder that is
 * missing or cannot be locked now is left to its own part of the run, which
 * reports it. Another mailer on one of them: status 3 naming it, the locks
 * taken released.
 */
async function takeEveryLock(folders: readonly Config[], lang: Language): Promise<Map<Config, InstanceLock> | number> {
  const taken = new Map<Config, InstanceLock>();
  for (const folder of folders) {
    const lock = await lockIfFolder(folder).catch(() => undefined);
    if (lock === undefined) continue;
    if ('running' in lock) {
      await Promise.all([...taken.values()].map((held) => held.release().catch(() => {})));
      process.stderr.write(`${t('instance.running', lang, { ...lock.running, dir: folder.dir })}\n`);
      return ExitCode.RUNNING;
    }
    taken.set(folder, lock);
  }
  return taken;
}

async function lockIfFolder(config: Config): Promise<AcquireResult | undefined> {
  if ((await orderFolderState(config.dir)) !== 'folder') return undefined;
  return acquireInstanceLock({ workDir: config.workDir, orderDir: config.dir, ...(config.hostId !== null && { hostId: config.hostId }) });
}

/** The state of a folder's path; with several folders, a path that cannot be looked at is `unreadable` (said, and waited for) instead of ending the process. */
async function folderState(dir: string, several: boolean): Promise<'folder' | 'missing' | 'not_folder' | { unreadable: string }> {
  if (!several) return orderFolderState(dir);
  try {
    return await orderFolderState(dir);
  } catch (error) {
    return { unreadable: shortFsError(error as Error) };
  }
}

/** One folder's part of `run` or `once` (see runMailerCommand): `lock` is its lock when already taken. */
async function runFolder(
  mode: SupervisorMode,
  config: Config,
  shared: FolderShared,
  { several, lock: takenLock }: { several: boolean; lock: InstanceLock | undefined },
): Promise<FolderResult> {
  const lang = config.language;
  let lost: LockLoss | undefined;
  let missingSince: Date | undefined;
  let first: InstanceLock | undefined = takenLock;
  for (;;) {
    let lock: AcquireResult;
    if (first !== undefined) {
      lock = first;
      first = undefined;
    } else {
      const state = await folderState(config.dir, several);
      if (typeof state === 'object' && mode === 'once') {
        process.stderr.write(`${t('folder.unreadable_once', lang, { dir: config.dir, reason: state.unreadable })}\n`);
        return { code: ExitCode.USAGE };
      }
      if ((state === 'not_folder' && (!several || mode === 'once')) || (state === 'missing' && mode === 'once')) {
        process.stderr.write(`${t(state === 'missing' ? 'folder.missing_once' : 'folder.not_a_folder', lang, { dir: config.dir })}\n`);
        return { code: ExitCode.USAGE };
      }
      if (state !== 'folder') {
        missingSince ??= new Date();
        if (!(await folderAppears(config, state))) return { code: ExitCode.OK };
        continue;
      }
      try {
        lock = await acquireInstanceLock({
          workDir: config.workDir,
          orderDir: config.dir,
          ...(config.hostId !== null && { hostId: config.hostId }),
        });
      } catch (error) {
        // The folder went (or turned into a file) between the check and the lock: the check above says what to do.
        if ((await folderState(config.dir, several)) !== 'folder') continue;
        throw error;
      }
    }
    if ('running' in lock) {
      process.stderr.write(`${t(lost === undefined ? 'instance.running' : 'instance.lock_taken', lang, { ...lock.running, dir: config.dir })}\n`);
      return { code: ExitCode.RUNNING };
    }
    const result = await runHoldingLock(mode, config, lock, lost, shared, several, missingSince);
    missingSince = undefined;
    if (result.lockLost === undefined || mode === 'once') return result;
    lost = result.lockLost;
    if (!(await folderBack(config.dir, lang))) return { code: ExitCode.OK };
  }
}

/** How often `run` looks for a missing order folder: every 5 s, or every poll when that is sooner. */
function missingFolderCheckMs(pollSeconds: number): number {
  return Math.min(5, pollSeconds) * 1000;
}

/**
 * `run` before its order folder exists: says so at error level
 * (`folder.missing`) on the terminal, or the journal under a service, and
 * waits for the folder, never creating it. True once it is a folder, false
 * when a stop signal comes first. With several folders, a path that is a
 * file or cannot be read is waited for the same way (the line's `problem`
 * says which), while the other folders work.
 */
async function folderAppears(config: Config, state: 'missing' | 'not_folder' | { unreadable: string }): Promise<boolean> {
  const everyMs = missingFolderCheckMs(config.poll);
  const log = createLogger({ pretty: true, verbose: config.verbose, language: config.language, ...systemLogOption(config.language, () => log.logger) });
  try {
    return await untilStopSignal((stopped) =>
      untilFolderExists(config.dir, {
        stopped,
        everyMs,
        onWait: () => {
          const every = everyMs / 1000;
          if (state === 'missing') {
            log.logger.error({ event: Events.FOLDER_MISSING, dir: config.dir, checkEveryMs: everyMs }, t('folder.missing_run', config.language, { dir: config.dir, every }));
            return;
          }
          const reason = state === 'not_folder' ? t('folder.is_file', config.language) : state.unreadable;
          const fields = { event: Events.FOLDER_MISSING, dir: config.dir, checkEveryMs: everyMs, problem: state === 'not_folder' ? 'not_folder' : 'unreadable', reason };
          log.logger.error(fields, t('folder.unusable_run', config.language, { dir: config.dir, every, reason }));
        },
      }),
    );
  } finally {
    await log.close();
  }
}

/** One round of `run` or `once` holding the lock: its exit status, and the lost lock when that ended it. */
async function runHoldingLock(
  mode: SupervisorMode,
  config: Config,
  lock: InstanceLock,
  lost: LockLoss | undefined,
  shared: FolderShared,
  several: boolean,
  missingSince?: Date,
): Promise<FolderResult & { lockLost?: LockLoss }> {
  const lang = config.language;
  for (const secret of secretsOf(config)) registerSecret(secret);
  const file = path.join(config.logDir ?? path.join(config.workDir, 'logs'), 'mailer.log');
  // The line written when the lock was lost went to the old file; when that file went with the folder, this one says it again.
  const lostLineGone = lost !== undefined && !(await exists(file).catch(() => false));
  const log = createLogger({
    file,
    level: 'debug',
    maxBytes: config.logMaxBytes,
    keepDays: config.logKeepDays,
    pretty: true,
    verbose: config.verbose,
    language: lang,
    ...systemLogOption(lang, () => log.logger),
  });
  if (lost !== undefined) {
    const fields = { errorCode: lost.error.code, error: lost.error.message, dir: config.dir, lostAt: lost.at.toISOString() };
    if (lostLineGone) log.logger.error({ event: Events.INSTANCE_LOCK_LOST, ...fields }, t('instance.lock_lost', lang, { dir: config.dir, reason: lost.error.message }));
    log.logger.warn({ event: Events.INSTANCE_LOCK_REGAINED, ...fields }, t('instance.lock_regained', lang, { dir: config.dir, lostAt: lost.at.toISOString(), reason: lost.error.message }));
  }
  if (missingSince !== undefined) {
    const since = missingSince.toISOString();
    log.logger.warn({ event: Events.FOLDER_APPEARED, dir: config.dir, missingSince: since }, t('folder.appeared', lang, { dir: config.dir, since }));
  }
  const started = mode === 'run' ? t('run.started', lang, { dir: config.dir, poll: config.poll }) : t('once.started', lang, { dir: config.dir });
  log.logger.info({ event: Events.SUPERVISOR_STARTED, mode, dir: config.dir }, started);
  const { watchLog, ...mailerShared } = shared;
  const unwatchLog = watchLog?.(log.flush);
  const mailer = createMailer({
    config,
    mode,
    logger: log.logger,
    acquireLock: async () => ({ ok: true, handle: lock }),
    registerSecret,
    logFile: { file, onFileState: log.onFileState },
    ...mailerShared,
    ...testHooksFromEnv(process.env),
  });
  let stopping = false;
  let stopNow!: () => void;
  const stoppedNow = new Promise<'now'>((resolve) => (stopNow = () => resolve('now')));
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) {
      stopping = true;
      const progress = mailer.stop();
      log.logger.info({ event: Events.SUPERVISOR_STOPPING, signal, ...progress }, stoppingText(progress, lang));
      return;
    }
    const { inFlight } = mailer.progress();
    log.logger.warn({ event: Events.SUPERVISOR_STOPPED_NOW, signal, inFlight }, t('run.stopped_now', lang, { count: inFlight }));
    stopNow();
  };
  const signals = stopSignals();
  for (const signal of signals) process.on(signal, onSignal);
  try {
    const output = await Promise.race([mailer.done, stoppedNow]);
    if (output === 'now') {
      // The orders in flight keep their claims: the next start resumes them. Their sends are cut off with the process (runMailerCommand exits).
      await lock.release().catch(() => {});
      return { code: ExitCode.QUEUED, stoppedNow: true };
    }
    // With several folders, each summary names its folder.
    const summary = several ? `${config.dir}: ${summaryOf(output.counts, lang)}` : summaryOf(output.counts, lang);
    log.logger.info({ event: Events.SUPERVISOR_STOPPED, dir: config.dir, counts: output.counts }, summary);
    if (output.lockError) return { code: ExitCode.RUNNING };
    if (output.lockLost !== undefined) {
      // `once` could not finish its pass: orders may be left, never "all sent".
      const code = onceExitCode(output.counts);
      return { code: code === ExitCode.OK ? ExitCode.QUEUED : code, lockLost: output.lockLost };
    }
    if (mode === 'run') return { code: ExitCode.OK };
    // A pass that could not read the whole folder never says "all sent" (its scan.failed line says why).
    const code = onceExitCode(output.counts);
    return { code: code === ExitCode.OK && output.scanIncomplete ? ExitCode.QUEUED : code };
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    unwatchLog?.();
    await log.close();
  }
}

/** `1 min 30 s`, `45 s`, `10 min`: a bound the operator reads at a glance. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  const [min, sec] = [Math.floor(seconds / 60), seconds % 60];
  if (min === 0) return `${sec} s`;
  return sec === 0 ? `${min} min` : `${min} min ${sec} s`;
}

/** The line of the first stop signal: how many sends are awaited and for how long at most, and what a second signal does. */
export function stoppingText(progress: StopProgress, lang: Language): string {
  if (progress.inFlight === 0) return t('run.stopping_none', lang);
  const key = progress.inFlight === 1 ? 'run.stopping_one' : 'run.stopping';
  return t(key, lang, { count: progress.inFlight, bound: formatDuration(progress.boundMs) });
}

/** Waits for the order folder to exist again (saying so once); false when a stop signal comes first. */
async function folderBack(dir: string, lang: Language): Promise<boolean> {
  return untilStopSignal((stopped) =>
    untilFolderExists(dir, { stopped, onWait: () => process.stderr.write(`${t('instance.lock_waiting', lang, { dir })}\n`) }),
  );
}

/** Runs `wait` with a promise that settles on the first stop signal (`stopSignals`); the listeners go when it settles. */
async function untilStopSignal<T>(wait: (stopped: Promise<void>) => Promise<T>): Promise<T> {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const signals = stopSignals();
  for (const signal of signals) process.on(signal, stop);
  try {
    return await wait(stopped);
  } finally {
    for (const signal of signals) process.off(signal, stop);
  }
}
