/**
 * The one place where the pure machines meet the real world: `createMailer`
 * provides every named actor of the supervisor and order machines with its
 * real implementation over `src/io`. The command line (src/cli) drives it;
 * the bin is src/main.ts.
 */
import path from 'node:path';
import { createActor, fromCallback, fromPromise, toPromise, type InspectionEvent } from 'xstate';
import { createIntakeLogic } from './actors/intake.js';
import { createOrderActors } from './actors/order-actors.js';
import { RecentParses } from './actors/parse-cache.js';
import { createTransitionLogger, type EventLogger } from './io/log/transitions.js';
import { createSender } from './actors/sender.js';
import type { Config } from './config/types.js';
import { resolveAttachments } from './io/store/attachments.js';
import type { MailerError } from './errors.js';
import { t } from './text/i18n.js';
import { createNotifier } from './io/smtp/notifier.js';
import { noticeStatePath } from './io/smtp/notice.js';
import { createHealthRecorder, healthPaths, shortFsError } from './io/host/health.js';
import { watchClaims, watchSends } from './io/host/health-watch.js';
import { Events } from './io/log/log.js';
import { configureFs } from './io/store/file-calls.js';
import { createThreadedTransportPool } from './io/smtp/threads.js';
import { sendTimeoutMs } from './io/smtp/transport-pool.js';
import { createParseThread } from './io/parse/thread.js';
import { createOrderStore } from './io/store/store.js';
import type { NotAFile } from './io/store/files.js';
import { waitUntilComplete, watchOrders } from './io/store/watcher.js';
import { findProfile, resolveProfileSmtp } from './order/resolve.js';
import { parseAddress } from './config/schema.js';
import { orderIdOf } from './order/types.js';
import { supervisorMachine, type LockResult, type ScanResult, type SupervisorMode, type SupervisorOutput } from './machines/supervisor.js';
import { orderMachine, type OrderContext } from './machines/order.js';

export interface MailerOptions {
  config: Config;
  mode: SupervisorMode;
  logger: EventLogger;
  /** Acquires the single-instance lock (main passes the one it already holds). */
  acquireLock: () => Promise<Exclude<LockResult, { ok: true }> | { ok: true; handle: MailerLock }>;
  /** Extra inspection (tests, `--verbose`). */
  inspect?: (event: InspectionEvent) => void;
  /** Masks a password wherever it would be logged. */
  registerSecret?: (secret: string) => void;
  /** Test hook: bound of one send in ms instead of the order's minutes. */
  sendTimeoutMs?: number;
  /** Test hook: wait before moving a blocked file again, in ms, instead of a minute. */
  archiveRetryMs?: number;
  /** Test hook: how long a file in the order folder that is held open or still being written is waited for, in ms, instead of a minute. */
  readyWaitMs?: number;
  /** Test hook: the process kills itself (as the system would after an out-of-memory abort) when it starts reading this order id. */
  dieOnOrderId?: string;
  /** The log file and its outages (LoggerHandle.onFileState): recorded in the health file that `status` reads. */
  logFile?: { file: string; onFileState(listener: (error: Error | undefined) => void): void };
}

/**
 * Test hooks for the real CLI run as a child process (the reliability tests):
 * `PROSCAI_MAILER_TEST_SEND_TIMEOUT_MS` bounds one send in ms instead of the
 * order's TiempoEspera minutes, `PROSCAI_MAILER_TEST_ARCHIVE_RETRY_MS` replaces
 * the minute an order waits before a blocked file is read or moved again,
 * `PROSCAI_MAILER_TEST_READY_WAIT_MS` the minute a file in the order folder
 * that is held open or still being written is waited for before it is left
 * for the next pass; `PROSCAI_MAILER_TEST_DIE_ON_ORDER` an order id whose
 * reading makes the process kill itself at once, with no handler running (as
 * an out-of-memory abort or a killed service ends it: the crash-loop tests).
 * Deliberately not configuration keys: no operator should need them, and an
 * unset or invalid value leaves the production behaviour untouched.
 */
export function testHooksFromEnv(env: Record<string, string | undefined>): Pick<MailerOptions, 'sendTimeoutMs' | 'archiveRetryMs' | 'readyWaitMs' | 'dieOnOrderId'> {
  const ms = (name: string): number | undefined => {
    const value = Number(env[name]);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  };
  const sendTimeoutMs = ms('PROSCAI_MAILER_TEST_SEND_TIMEOUT_MS');
  const archiveRetryMs = ms('PROSCAI_MAILER_TEST_ARCHIVE_RETRY_MS');
  const readyWaitMs = ms('PROSCAI_MAILER_TEST_READY_WAIT_MS');
  const dieOnOrderId = env.PROSCAI_MAILER_TEST_DIE_ON_ORDER || undefined;
  return {
    ...(dieOnOrderId !== undefined && { dieOnOrderId }),
    ...(sendTimeoutMs !== undefined && { sendTimeoutMs }),
    ...(archiveRetryMs !== undefined && { archiveRetryMs }),
    ...(readyWaitMs !== undefined && { readyWaitMs }),
  };
}

/** The single-instance lock as the mailer holds it (src/io/host/lock.ts's InstanceLock, or a test's). */
export interface MailerLock {
  release(): Promise<void>;
  /** Calls `listener` once if the lock is lost while held (INSTANCE_LOCK_LOST). */
  onLost?(listener: (err: MailerError) => void): void;
}

/** A single-instance lock lost while the mailer ran: why (INSTANCE_LOCK_LOST) and when it was noticed. */
export interface LockLoss {
  error: MailerError;
  at: Date;
}

export interface MailerOutput extends SupervisorOutput {
  /**
   * Set when the single-instance lock was lost while the mailer ran (the
   * order folder removed or restored, a share remounted): it stopped as on
   * STOP, and another mailer may hold the folder now.
   */
  lockLost?: LockLoss;
  /**
   * Set when the startup scan could not read the order folder or this
   * machine's claims (said at error level as `scan.failed`): orders may be
   * waiting that this pass never saw, so `once` cannot report "all sent".
   */
  scanIncomplete?: true;
}

/** What a clean stop waits for: the orders still in flight (claimed, being sent or archived) and the longest their sends can take. */
export interface StopProgress {
  inFlight: number;
  /** The largest send timeout among them (their TiempoEspera; the 10-minute maximum for an order not read yet), in ms; 0 when none. */
  boundMs: number;
}

export interface Mailer {
  /** Resolves when the supervisor has stopped (once: after its pass; run: after stop(), or once the lock was lost). */
  done: Promise<MailerOutput>;
  /** Clean stop: nothing new starts, in-flight sends finish; returns what is waited for. */
  stop(): StopProgress;
  /** The orders still in flight now and the bound of their sends. */
  progress(): StopProgress;
}

/** The largest TiempoEspera an order can give (spec: 1 to 10 minutes): the bound for an order whose settings are not read yet. */
const MAX_TIMEOUT_MINUTES = 10;

/** The file is gone: removed, or claimed by another mailer on the same share (the io layer says CLAIM_LOST). */
function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ENOENT' || code === 'CLAIM_LOST';
}

/** Wires the machines to the real file system, SMTP and logger, and starts the supervisor. */
export function createMailer(mailerOptions: MailerOptions): Mailer {
  const options: MailerOptions = { ...testHooksFromEnv(process.env), ...mailerOptions };
  const { config, logger } = options;
  const fsCalls = configureFs({
    mode: config.fsMode,
    folders: [config.dir, config.workDir, config.attachments],
    onSlow: ({ op, target, ms, reason }) =>
      logger.warn(
        { event: 'fs.async', reason, op, target, ms },
        reason === 'network'
          ? `${target} is on a network share: file calls are made asynchronously`
          : `a file call took ${ms} ms (${op} ${target}): file calls are made asynchronously from now on`,
      ),
  });
  logger.debug({ event: 'fs.mode', mode: config.fsMode, calls: fsCalls }, `file calls: ${fsCalls}`);
  const store = createOrderStore({
    dir: config.dir,
    workDir: config.workDir,
    recycleDir: config.recycleDir,
    ...(config.hostId !== null && { hostId: config.hostId }),
    onWarning: (error) => logger.warn({ event: 'store.warning', errorCode: error.code, error: error.message }, error.message),
  });
  // What needs a person now, where `status` reads it (io/host/health.ts).
  const health = createHealthRecorder({
    paths: healthPaths(config),
    host: store.hostId,
    onWriteError: (error) =>
      logger.warn({ event: Events.HEALTH_WRITE_FAILED, error: error.message }, t('health.write_failed', config.language, { reason: error.message })),
  });
  const logFile = options.logFile;
  logFile?.onFileState((error) => (error === undefined ? health.logWorks() : health.logFailing(logFile.file, error)));
  const claims = watchClaims(store, {
    health,
    claimsDir: path.dirname(store.claimPath('_')),
    workDir: config.workDir,
    onFailing: (dir, error) =>
      logger.error({ event: Events.CLAIMS_FAILING, dir, error: error.message }, t('claims.failing', config.language, { dir, reason: shortFsError(error) })),
    onRecovered: (dir) => logger.warn({ event: Events.CLAIMS_RECOVERED, dir }, t('claims.recovered', config.language, { dir })),
  });
  /** The startup scan missed part of the folder or the claims (MailerOutput.scanIncomplete). */
  let scanIncomplete = false;
  const staleMs = config.staleClaimSeconds * 1000;
  /** Claims of machines that stopped beating go back to the order folder (several mailers on one share). */
  const housekeeping = async () => {
    try {
      const taken = await store.takeOverStaleClaims(staleMs);
      if (taken.length > 0) logger.warn({ event: 'claims.taken_over', count: taken.length, fileNames: taken }, `${taken.length} stale claims given back`);
    } catch (error) {
      logger.warn({ event: 'claims.takeover_failed', error: String((error as Error)?.message ?? error) }, 'stale-claim takeover failed');
    }
  };
  const pool = createThreadedTransportPool(options.sendTimeoutMs === undefined ? {} : { timeoutMs: options.sendTimeoutMs });
  pool.warmUp();
  const maxConnectionsFor = (company: string) => findProfile(config, company)?.maxConnections ?? config.maxConnections;
  const sender = createSender({ pool, maxConnectionsFor });
  const notifySmtp = config.notify === null ? undefined : resolveProfileSmtp(config.notify.smtp);
  const notifyFrom = config.notify === null ? undefined : parseAddress(config.notify.from);
  const notifier = createNotifier({
    pool,
    language: config.language,
    logger,
    notifyEverySeconds: config.notifyEverySeconds,
    statePath: noticeStatePath(config.workDir),
    ...(notifySmtp !== undefined && notifyFrom !== undefined && { route: { smtp: notifySmtp, from: notifyFrom } }),
  });
  const recentParses = new RecentParses();
  const parser = createParseThread();
  const orderActors = createOrderActors({
    recentParses,
    parse: parser.parse,
    parseIsolated: parser.parseIsolated,
    ...(options.dieOnOrderId !== undefined && { onLoad: dieOn(options.dieOnOrderId) }),
    config,
    store: claims,
    sender: watchSends(sender, health),
    notifier,
    resolveAttachments: (resolved) =>
      resolveAttachments(resolved.order, { attachmentsDir: config.attachments, orderDir: config.dir, pathMap: config.pathMap }),
    ...(options.registerSecret && { registerSecret: options.registerSecret }),
    onWarnings: (fileName, warnings) =>
      logger.warn({ event: 'order.unknown_elements', fileName, elements: warnings }, `${fileName}: ${warnings.join('; ')}`),
  });

  /** Entries named like an order that are not files, each warned about once per process: never taken, never followed. */
  const notFilesWarned = new Set<string>();
  const warnNotAFile = ({ fileName, kind }: NotAFile) => {
    if (notFilesWarned.has(fileName)) return;
    notFilesWarned.add(fileName);
    const what = kind === 'link' ? 'a symbolic link' : kind === 'folder' ? 'a folder' : 'not a regular file';
    logger.warn(
      { event: 'order.not_a_file', fileName, kind },
      `${fileName}: named like an order but it is ${what}, not a file; it is left alone and never sent (put the order file itself in the order folder)`,
    );
  };
  const readOrNothing = async (read: () => Promise<Buffer>) => {
    try {
      return await read();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  };
  const machine = supervisorMachine.provide({
    actors: {
      acquireLock: fromPromise(async () => {
        const result = await options.acquireLock();
        if (result.ok) result.handle.onLost?.(onLockLost);
        return result;
      }),
      releaseLock: fromPromise(async ({ input }: { input: { handle?: { release(): Promise<void> } } }) => {
        await input.handle?.release();
      }),
      scan: fromPromise<ScanResult, void>(async () => {
        const say = (error: MailerError): void => {
          scanIncomplete = true;
          logger.error({ event: Events.SCAN_FAILED, errorCode: error.code, error: error.message }, error.message);
        };
        const failed = (error: MailerError): never => {
          say(error);
          throw error;
        };
        await housekeeping().catch(failed);
        // Claims that cannot be listed are said at error level (and in `status`); the waiting orders are still tried.
        const claimed = await claims.listClaimed().catch((error: MailerError) => {
          say(error);
          return [] as string[];
        });
        const { files, notFiles } = await store.scanInbox().catch(failed);
        for (const entry of notFiles) warnNotAFile(entry);
        return { claimed, inbox: files, notFiles: notFiles.map((e) => e.fileName) };
      }),
      intake: createIntakeLogic({
        config,
        recentParses,
        parse: parser.parse,
        readInbox: (fileName, signal) =>
          readOrNothing(() =>
            waitUntilComplete(path.join(config.dir, fileName), {
              signal,
              incompleteSettleMs: config.incompleteSettleSeconds * 1000,
              ...(options.readyWaitMs !== undefined && { maxWaitMs: options.readyWaitMs }),
            }),
          ),
        readClaimed: (fileName) => readOrNothing(() => store.read(fileName, 'claimed')),
        logger,
      }),
      watcher: fromCallback(({ sendBack }) => {
        // Names are gathered for one tick and sent as one event: a rescan of a
        // folder with 100,000 orders is one event for the supervisor, not 100,000.
        let batch: string[] = [];
        let stopped = false;
        const seen = (fileName: string) => {
          if (batch.length === 0) {
            setImmediate(() => {
              const fileNames = batch;
              batch = [];
              if (!stopped) sendBack({ type: 'FILE.SEEN', fileNames });
            });
          }
          batch.push(fileName);
        };
        const watcher = watchOrders({
          dir: config.dir,
          pollSeconds: config.poll,
          onOrder: (fileName) => seen(fileName),
          onNotAFile: warnNotAFile,
          onError: (error) => logger.warn({ event: 'watch.error', errorCode: error.code, error: error.message }, error.message),
        });
        // Heartbeat well within the stale time; takeover checks at the rescan pace.
        const beat = setInterval(() => void store.heartbeat().catch(() => {}), Math.max(1000, Math.min(staleMs / 4, 30_000)));
        const takeover = setInterval(() => void housekeeping(), Math.max(1000, Math.min(staleMs, config.poll * 1000)));
        return () => {
          stopped = true;
          clearInterval(beat);
          clearInterval(takeover);
          void watcher.close();
        };
      }),
      order: orderMachine.provide({
        actors: orderActors,
        ...(options.archiveRetryMs !== undefined && { delays: { archiveRetryDelay: options.archiveRetryMs } }),
      }),
    },
  });
  /**
   * A lost lock means another mailer may be starting on this folder now: take
   * no new work (a STOP: in-flight sends finish, waiting orders stay on disk,
   * the heartbeat and takeover timers end with the watcher) and say so loudly.
   */
  let lockLost: LockLoss | undefined;
  function onLockLost(error: MailerError): void {
    if (lockLost !== undefined) return;
    lockLost = { error, at: new Date() };
    logger.error(
      { event: 'instance.lock_lost', errorCode: error.code, error: error.message, dir: config.dir },
      t('instance.lock_lost', config.language, { dir: config.dir, reason: error.message }),
    );
    actor.send({ type: 'STOP' });
  }
  const transitions = createTransitionLogger(logger);
  const actor = createActor(machine, {
    input: {
      mode: options.mode,
      retrySchedule: config.retry,
      limitsFor: (company) => {
        const profile = findProfile(config, company);
        return {
          maxConnections: profile?.maxConnections ?? config.maxConnections,
          perMinute: profile ? profile.perMinute : config.perMinute,
        };
      },
    },
    inspect: (event) => {
      transitions(event);
      options.inspect?.(event);
    },
  });
  actor.start();
  // Notifications first: their last flush uses the pool's transports, which closing the pool first would only restart.
  const done = toPromise(actor)
    .finally(async () => {
      await notifier.close();
      await sender.close();
      await parser.close();
      await health.flush();
    })
    .then((output): MailerOutput => ({ ...output, ...(lockLost !== undefined && { lockLost }), ...(scanIncomplete && { scanIncomplete }) }));
  /** Reads the supervisor's running orders and their order actors' settings; changes nothing. */
  const progress = (): StopProgress => {
    const snapshot = actor.getSnapshot();
    const children = snapshot.children as Record<string, { getSnapshot(): { context?: OrderContext } } | undefined>;
    let boundMs = 0;
    for (const { childId } of snapshot.context.running.values()) {
      const smtp = children[childId]?.getSnapshot().context?.resolved?.smtp;
      const ms = options.sendTimeoutMs ?? (smtp === undefined ? MAX_TIMEOUT_MINUTES * 60_000 : sendTimeoutMs(smtp));
      boundMs = Math.max(boundMs, ms);
    }
    return { inFlight: snapshot.context.running.size, boundMs };
  };
  return {
    done,
    stop: () => {
      actor.send({ type: 'STOP' });
      return progress();
    },
    progress,
  };
}

/** The test hook `dieOnOrderId`: kills the process when that order starts being read (SIGKILL: no exit handler, no log flush, as after an abort). */
function dieOn(orderId: string): (fileName: string) => void {
  return (fileName) => {
    if (orderIdOf(fileName) === orderId) process.kill(process.pid, 'SIGKILL');
  };
}
