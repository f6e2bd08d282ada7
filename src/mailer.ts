/**
 * The one place where the pure machines meet the real world: `createMailer`
 * provides every named actor of the supervisor and order machines with its
 * real implementation over `src/io`. The command line (src/cli) drives it;
 * the bin is src/main.ts.
 */
import path from 'node:path';
import { createActor, fromPromise, toPromise, type InspectionEvent } from 'xstate';
import { createIntakeLogic } from './actors/intake.js';
import { createWatchActors } from './actors/watch.js';
import { createOrderActors } from './actors/order-actors.js';
import { RecentParses } from './actors/parse-cache.js';
import { createTransitionLogger, type EventLogger } from './io/log/transitions.js';
import { createSender } from './actors/sender.js';
import type { Config } from './config/types.js';
import { resolveAttachments } from './io/store/attachments.js';
import { readEnvelope } from './io/host/envelope.js';
import type { MailerError } from './errors.js';
import { t } from './text/messages.js';
import { createNotifier } from './io/smtp/notifier.js';
import { noticeStatePath } from './io/host/notice-state.js';
import { createHealthRecorder, healthPaths, shortFsError } from './io/host/health.js';
import { watchClaims, watchSends } from './io/host/health-watch.js';
import { Events } from './io/log/events.js';
import { createThreadedTransportPool, type ThreadedTransportPool } from './io/smtp/threads.js';
import { sendTimeoutMs } from './io/smtp/transport-pool.js';
import { createParseThread } from './io/parse/thread.js';
import { createOrderStore } from './io/store/store.js';
import { createAcuseBook } from './io/store/acuse.js';
import { waitUntilComplete } from './io/store/readiness.js';
import { findProfile, resolveProfileSmtp } from './order/resolve.js';
import { addressOf as parseAddress } from './order/addresses.js';
import { orderIdOf } from './order/types.js';
import { supervisorMachine } from './machines/supervisor.js';
import type { LockResult, SupervisorMode, SupervisorOutput } from './machines/supervisor-types.js';
import { orderMachine } from './machines/order.js';
import type { OrderContext } from './machines/order-context.js';

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
  /**
   * The SMTP worker pool, when one process runs several folders' mailers
   * (cli/run.ts): they share its worker thread, and its creator closes it.
   * Each folder keeps its own supervisor, lanes and limits. Default: a pool
   * of this mailer's own, closed when it stops.
   */
  pool?: ThreadedTransportPool;
  /** Test hook: wait before moving a blocked file again, in ms, instead of a minute. */
  archiveRetryMs?: number;
  /** Test hook: how long a file in the order folder that is held open or still being written is waited for, in ms, instead of a minute. */
  readyWaitMs?: number;
  /** Test hook: the process kills itself (as the system would after an out-of-memory abort) when it starts reading this order id. */
  dieOnOrderId?: string;
  /** Test hook: the process kills itself right after the server accepted this order id's message and its acuse was written, before archiving. */
  dieAfterSendOrderId?: string;
  /** The log file and its outages (LoggerHandle.onFileState): recorded in the health file that `status` reads. */
  logFile?: { file: string; onFileState(listener: (error: Error | undefined) => void): void };
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
export function createMailer(options: MailerOptions): Mailer {
  const { config, logger } = options;
  const store = createOrderStore({
    dir: config.dir,
    workDir: config.workDir,
    recycleDir: config.recycleDir,
    ...(config.hostId !== null && { hostId: config.hostId }),
    onWarning: (error) => logger.warn({ event: Events.STORE_WARNING, errorCode: error.code, error: error.message }, error.message),
    fsMode: config.fsMode,
    fsFolders: [config.attachments],
    onFileCalls: (note) => {
      if (note.kind === 'mode') {
        logger.debug({ event: Events.FS_MODE, mode: note.mode, calls: note.calls }, `file calls: ${note.calls}`);
        return;
      }
      const { reason, op, target, ms } = note;
      logger.warn(
        { event: Events.FS_ASYNC, reason, op, target, ms },
        reason === 'network'
          ? `${target} is on a network share: file calls are made asynchronously`
          : `a file call took ${ms} ms (${op} ${target}): file calls are made asynchronously from now on`,
      );
    },
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
  const { scan, watcher } = createWatchActors({
    config,
    store,
    listClaimed: () => claims.listClaimed(),
    logger,
    onScanIncomplete: () => (scanIncomplete = true),
  });
  const pool = options.pool ?? createThreadedTransportPool({
    ...(options.sendTimeoutMs !== undefined && { timeoutMs: options.sendTimeoutMs }),
    ...(config.keepEml && { keepMessage: true }),
  });
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
  const acuse = createAcuseBook({
    dir: config.dir,
    workDir: config.workDir,
    keepEml: config.keepEml,
    keepDays: config.logKeepDays,
    calls: store.calls,
    onProblem: (step, fileName, error) => {
      const reason = error instanceof Error ? error.message : String(error);
      if (step === 'accepted') logger.error({ event: Events.ACUSE_MISSING, fileName, error: reason }, t('acuse.missing', config.language, { fileName, reason }));
      else logger.warn({ event: Events.ACUSE_PROBLEM, step, fileName, error: reason }, t('acuse.problem', config.language, { fileName, reason }));
    },
  });
  const recentParses = new RecentParses();
  const parser = createParseThread();
  const orderActors = createOrderActors({
    recentParses,
    parse: parser.parse,
    parseIsolated: parser.parseIsolated,
    ...(options.dieOnOrderId !== undefined && { onLoad: dieOn(options.dieOnOrderId) }),
    ...(options.dieAfterSendOrderId !== undefined && { onSent: dieOn(options.dieAfterSendOrderId) }),
    acuse,
    config,
    store: claims,
    sender: watchSends(sender, health),
    notifier,
    resolveAttachments: (resolved) =>
      resolveAttachments(resolved.order, { attachmentsDir: config.attachments, orderDir: config.dir, pathMap: config.pathMap, calls: store.calls }),
    readEnvelope,
    ...(options.registerSecret && { registerSecret: options.registerSecret }),
    onWarnings: (fileName, warnings) =>
      logger.warn({ event: Events.ORDER_UNKNOWN_ELEMENTS, fileName, elements: warnings }, `${fileName}: ${warnings.join('; ')}`),
  });

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
      scan,
      intake: createIntakeLogic({
        config,
        recentParses,
        parse: parser.parse,
        readInbox: (fileName, signal) =>
          readOrNothing(() =>
            waitUntilComplete(path.join(config.dir, fileName), {
              signal,
              calls: store.calls,
              incompleteSettleMs: config.incompleteSettleSeconds * 1000,
              ...(options.readyWaitMs !== undefined && { maxWaitMs: options.readyWaitMs }),
            }),
          ),
        readClaimed: (fileName) => readOrNothing(() => store.read(fileName, 'claimed')),
        logger,
      }),
      watcher,
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
      { event: Events.INSTANCE_LOCK_LOST, errorCode: error.code, error: error.message, dir: config.dir },
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
      if (options.pool === undefined) await sender.close();
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

/** The test hooks `dieOnOrderId` and `dieAfterSendOrderId`: kill the process when that order reaches the hook (SIGKILL: no exit handler, no log flush, as after an abort). */
function dieOn(orderId: string): (fileName: string) => void {
  return (fileName) => {
    if (orderIdOf(fileName) === orderId) process.kill(process.pid, 'SIGKILL');
  };
}
