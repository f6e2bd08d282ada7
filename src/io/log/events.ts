/**
 * Every `event` name the mailer writes to its log, and only those: scripts,
 * dashboards, `status` and `trace` filter on them, so they are stable.
 *
 * Guarantees: every line the code logs with an `event` names one of these
 * (never a string literal), every name here is logged somewhere, and the
 * README's list of log events is this list (test/io/log/events.test.ts).
 */
export const Events = {
  /** Every state change of every order (debug level): `from`, `to`, the cause and, for failures, the error code and SMTP reply. */
  ORDER_TRANSITION: 'order.transition',
  /** Sent; only when the order says `RegistrarEnvios` `SI`, or the configuration `logSuccess`. */
  ORDER_SENT: 'order.sent',
  /** Given up: the order is in errores/ with its `.error.txt` note; `reasons`. */
  ORDER_FAILED: 'order.failed',
  /** A failed try that will be retried: `attempts`, `nextTryAt`. */
  ORDER_DEFERRED: 'order.deferred',
  /** An order picked up again after a restart, with its saved try count. */
  ORDER_RESUMED: 'order.resumed',
  /** Sent, but the server refused some recipients: `rejected`. */
  ORDER_RECIPIENTS_REJECTED: 'order.recipients_rejected',
  /** The order file could not be claimed; it stays in the order folder for the next pass. */
  ORDER_SKIPPED: 'order.skipped',
  /** Another program holds the order file open, or the mailer's account may not read or move it; it stays for the next pass. */
  ORDER_HELD: 'order.held',
  /** The intake could not read an order file yet; it stays in the order folder for the next pass. */
  ORDER_UNREADABLE: 'order.unreadable',
  /** A claimed order's file cannot be read right now; tried again later. */
  ORDER_READ_BLOCKED: 'order.read_blocked',
  /** A sent or failed order's file could not be moved; tried again later. */
  ORDER_ARCHIVE_FAILED: 'order.archive_failed',
  /** Another machine took over an order this one had claimed (a warning), or claimed it first (info). */
  ORDER_CLAIM_LOST: 'order.claim_lost',
  /** Elements or attributes of the order that the mailer does not know, ignored: `elements`. */
  ORDER_UNKNOWN_ELEMENTS: 'order.unknown_elements',
  /** A link or folder named like an order: never taken. */
  ORDER_NOT_A_FILE: 'order.not_a_file',
  /** `retry` put a failed order back in the queue (`via: 'errores'`) or moved a deferred one's next try to now (`via: 'deferred'`). */
  ORDER_RETRY_REQUESTED: 'order.retry_requested',
  /** A bug while handling one order: that order stays claimed for the next start, the others go on. */
  INTERNAL_ERROR: 'internal.error',
  /** A failure notification was sent: `to`. */
  NOTIFY_SENT: 'notify.sent',
  /** A failure notification could not be sent. */
  NOTIFY_FAILED: 'notify.failed',
  /** A notification could not be sent now (server down): kept and tried again next period. */
  NOTIFY_DEFERRED: 'notify.deferred',
  /** Reports dropped from a notification kept too long (server down for a day, or too many). */
  NOTIFY_DROPPED: 'notify.dropped',
  /** `run` started watching the order folder: `mode`, `dir`. */
  SUPERVISOR_STARTED: 'supervisor.started',
  /** A stop signal: nothing new starts; `inFlight` sends are awaited, each at most `boundMs`. */
  SUPERVISOR_STOPPING: 'supervisor.stopping',
  /** `run` stopped: `counts` of the orders it handled. */
  SUPERVISOR_STOPPED: 'supervisor.stopped',
  /** A second stop signal: the process ends at once; `inFlight` orders stay claimed for the next start (exit 4). */
  SUPERVISOR_STOPPED_NOW: 'supervisor.stopped_now',
  /** The claims folder could not be listed; the waiting orders are still tried. */
  SCAN_FAILED: 'scan.failed',
  /** The folder watcher reported a problem; the periodic scan goes on. */
  WATCH_ERROR: 'watch.error',
  /** `run` started before the order folder exists: it waits for it, checking every `checkEveryMs`. */
  FOLDER_MISSING: 'folder.missing',
  /** The order folder appeared (or came back) and the mailer takes orders: `missingSince`. */
  FOLDER_APPEARED: 'folder.appeared',
  /** The order folder was removed or remounted under the running mailer: it stopped taking orders. */
  INSTANCE_LOCK_LOST: 'instance.lock_lost',
  /** The order folder came back and the mailer took its lock again. */
  INSTANCE_LOCK_REGAINED: 'instance.lock_regained',
  /** Orders cannot be claimed: the claims folder (or the work area) refuses writes; `dir`, `error`. Error level, once per outage. */
  CLAIMS_FAILING: 'claims.failing',
  /** A claim succeeded again after `claims.failing`. */
  CLAIMS_RECOVERED: 'claims.recovered',
  /** Claims of a machine that stopped beating were given back to the order folder: `count`, `fileNames`. */
  CLAIMS_TAKEN_OVER: 'claims.taken_over',
  /** The claims of other machines could not be checked for takeover. */
  CLAIMS_TAKEOVER_FAILED: 'claims.takeover_failed',
  /** The work area reported a problem that stops no order (a retry-state file that could not be removed, moved or read). */
  STORE_WARNING: 'store.warning',
  /** Order-file calls switched to asynchronous: the folder is on a network drive, or one call was slow (`reason`). */
  FS_ASYNC: 'fs.async',
  /** How order files are read at start (`fsMode` and the calls it chose), debug level. */
  FS_MODE: 'fs.mode',
  /**
   * The log file lost lines (disk full, share gone) and takes lines again:
   * `lines`, `since`, `until`, `error`, and `sent` (the sends among them).
   */
  LOG_LINES_LOST: 'log.lines_lost',
  /** The Windows event log could not be written (eventcreate failed); a warning, once per outage. */
  EVENTLOG_FAILED: 'eventlog.failed',
  /** The health file `status` reads could not be written anywhere; a warning, once per outage. */
  HEALTH_WRITE_FAILED: 'health.write_failed',
  /**
   * The acuse de envío of a sent order could not be written (`fileName`,
   * `error`): the order was sent and completes, but has no proof of
   * sending; error level.
   */
  ACUSE_MISSING: 'acuse.missing',
  /** An acuse write that leaves the proof intact failed (`step`: begin, eml, abandon, prune; `fileName`, `error`); a warning. */
  ACUSE_PROBLEM: 'acuse.problem',
  /** The status window listens: `address` (the port chosen when 0 was asked), `url`, `token` (whether one is required). */
  UI_STARTED: 'ui.started',
  /** The status window could not listen (`address`, `errorCode`: EADDRINUSE, EACCES…): `run` exits 2. */
  UI_FAILED: 'ui.failed',
  /** A request or a state computation of the status window failed (`error`); the window and the mailer go on. */
  UI_ERROR: 'ui.error',
} as const;

export type EventName = (typeof Events)[keyof typeof Events];
