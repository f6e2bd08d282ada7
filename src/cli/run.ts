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
import { createMailer, type LockLoss, type StopProgress } from '../mailer.js';
import { testHooksFromEnv } from './test-hooks.js';
import type { Counts, SupervisorMode } from '../machines/supervisor-types.js';
import { ExitCode, onceExitCode } from './exit-codes.js';
import { configOrExit, type CommonOptions } from './options.js';

function secretsOf(config: Config): string[] {
  const secrets: string[] = [];
  if (config.smtp.password) secrets.push(config.smtp.password);
  for (const profile of Object.values(config.companies)) if (profile.smtp?.password) secrets.push(profile.smtp.password);
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
 * result to an exit status.
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
 */
export async function runMailerCommand(mode: SupervisorMode, options: CommonOptions): Promise<number> {
  const config = await configOrExit(options);
  if (typeof config === 'number') return config;
  const lang = config.language;
  let lost: LockLoss | undefined;
  let missingSince: Date | undefined;
  for (;;) {
    const state = await orderFolderState(config.dir);
    if (state === 'not_folder' || (state === 'missing' && mode === 'once')) {
      process.stderr.write(`${t(state === 'missing' ? 'folder.missing_once' : 'folder.not_a_folder', lang, { dir: config.dir })}\n`);
      return ExitCode.USAGE;
    }
    if (state === 'missing') {
      missingSince ??= new Date();
      if (!(await folderAppears(config))) return ExitCode.OK;
      continue;
    }
    let lock: AcquireResult;
    try {
      lock = await acquireInstanceLock({
        workDir: config.workDir,
        orderDir: config.dir,
        ...(config.hostId !== null && { hostId: config.hostId }),
      });
    } catch (error) {
      // The folder went (or turned into a file) between the check and the lock: the check above says what to do.
      if ((await orderFolderState(config.dir)) !== 'folder') continue;
      throw error;
    }
    if ('running' in lock) {
      process.stderr.write(`${t(lost === undefined ? 'instance.running' : 'instance.lock_taken', lang, { ...lock.running, dir: config.dir })}\n`);
      return ExitCode.RUNNING;
    }
    const result = await runHoldingLock(mode, config, lock, lost, missingSince);
    missingSince = undefined;
    if (result.lockLost === undefined || mode === 'once') return result.code;
    lost = result.lockLost;
    if (!(await folderBack(config.dir, lang))) return ExitCode.OK;
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
 * when a stop signal comes first.
 */
async function folderAppears(config: Config): Promise<boolean> {
  const everyMs = missingFolderCheckMs(config.poll);
  const log = createLogger({ pretty: true, verbose: config.verbose, language: config.language, ...systemLogOption(config.language, () => log.logger) });
  try {
    return await untilStopSignal((stopped) =>
      untilFolderExists(config.dir, {
        stopped,
        everyMs,
        onWait: () =>
          log.logger.error(
            { event: Events.FOLDER_MISSING, dir: config.dir, checkEveryMs: everyMs },
            t('folder.missing_run', config.language, { dir: config.dir, every: everyMs / 1000 }),
          ),
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
  missingSince?: Date,
): Promise<{ code: number; lockLost?: LockLoss }> {
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
  const mailer = createMailer({
    config,
    mode,
    logger: log.logger,
    acquireLock: async () => ({ ok: true, handle: lock }),
    registerSecret,
    logFile: { file, onFileState: log.onFileState },
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
      // The orders in flight keep their claims: the next start resumes them. Their sends are cut off with the process.
      await log.close();
      await lock.release().catch(() => {});
      process.exit(ExitCode.QUEUED);
    }
    log.logger.info({ event: Events.SUPERVISOR_STOPPED, counts: output.counts }, summaryOf(output.counts, lang));
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
