/**
 * Structured logging: JSON lines to the log file, readable lines on the
 * terminal (stderr) when asked. Convention everywhere:
 * `logger.info({ event: Events.ORDER_SENT, orderId, ... }, 'message')`, the
 * names from events.ts.
 *
 * Guarantees:
 * - No password reaches the file or the terminal. Three layers: (1) every
 *   value under a key that looks secret (`password`, `pass`, `*secret*`,
 *   `*token*`, a DKIM `privateKey`) is censored at any depth before
 *   serialisation; (2) errors are
 *   logged without the `config` and `auth` objects some libraries attach to
 *   them; (3) a last pass over each serialised line replaces every string
 *   given to `registerSecret` (also when it sits in a free-text message).
 *   (pino's own `redact` paths were a fourth layer; they only ever covered
 *   places layer 1 covers, and cost a copy of every logged object.)
 * - `close()` resolves only after every line logged before it is in the file.
 *
 * The file is written asynchronously (32 KB batches, flushed at least every
 * second; `./log-files.ts`): the order folder, and so the log, may sit on a
 * network share, where a synchronous write per line would stall the event
 * loop. What waits is written synchronously, once, on process exit; a SIGKILL
 * can lose at most the last second of lines. Caveat of that exit flush: a
 * batch whose asynchronous write is still in flight at exit can land after
 * the lines the flush writes, so the last lines of a process that exits
 * without `close()` may be out of order. `close()` (every normal exit) has no
 * such window.
 *
 * A file that cannot be written (a full disk) stops nothing and never holds
 * up an exit: lines are counted while it lasts, and once it takes lines again
 * the first one is a `log.lines_lost` warning with the count, the time span,
 * the error and, under `sent`, every send among the lost lines (orderId,
 * company, time; up to 1,000, `sentOmitted` beyond), so that `status` and
 * `trace` can still count and show them.
 *
 * The file rotates daily and by size, and rotated files older than
 * `keepDays` are deleted: see `./log-names.ts` for the naming scheme
 * (`mailer.log`, `mailer-YYYY-MM-DD.NNN.log`, `mailer-YYYY-MM-DD.log`) and
 * `listLogFiles` to read them back in order.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import pretty from 'pino-pretty';

import { Events } from './events.js';
import { createRotatingFile, type LostLine, type LostLines } from './files.js';
import { isJournalStream, levelOfLine, priorityOf, withPriority } from './journal.js';
import type { Language } from '../../config/types.js';
import { levelLabel, terminalMessage } from '../../text/terminal.js';
import { t } from '../../text/messages.js';
import { accessError, errnoOf } from '../store/files.js';

export const CENSOR = '********';

/** Keys whose values are always censored, at any depth. */
const SECRET_KEY = /pass|secret|token|^privateKey$/i;

/** Objects some libraries attach to their errors (request settings, credentials): never logged. */
const ERROR_KEYS_DROPPED = ['config', 'auth'];

/** Layer 2: a serialised error without ERROR_KEYS_DROPPED, then layer 1 over it. */
function scrubError(e: unknown): unknown {
  const plain = pino.stdSerializers.err(e as Error) as unknown as Record<string, unknown>;
  if (typeof plain !== 'object' || plain === null) return plain;
  const kept = Object.fromEntries(Object.entries(plain).filter(([k]) => !ERROR_KEYS_DROPPED.includes(k)));
  return scrubObject(kept);
}

/** Secrets shorter than this are not searched in free text: replacing every `a` would wreck every line. */
const MIN_SECRET_LENGTH = 4;
const secrets = new Set<string>();
let secretPattern: RegExp | undefined;

/**
 * Registers a value (an SMTP password from the configuration or an order)
 * that must never appear in a log line, wherever it is. Idempotent.
 */
export function registerSecret(secret: string | undefined | null): void {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH || secrets.has(secret)) return;
  secrets.add(secret);
  // The line is JSON: a secret with quotes or backslashes appears escaped there.
  const forms = [...secrets].flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]);
  const unique = [...new Set(forms)].sort((a, b) => b.length - a.length);
  secretPattern = new RegExp(unique.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
}

/** Layer 3: the serialised line with every registered secret replaced. */
export function scrubLine(line: string): string {
  return secretPattern === undefined ? line : line.replace(secretPattern, CENSOR);
}

/**
 * Layer 1: plain objects and arrays with secret-looking keys censored; other
 * values as they are. Copy on write: the caller's object is never modified,
 * and it is returned as it is when nothing in it needed censoring (the usual
 * case: a log line per state transition must not cost a deep copy).
 */
export function scrubObject<T>(value: T, depth = 0, seen = new WeakSet<object>()): T {
  if (typeof value !== 'object' || value === null || depth > 12) return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  const isArray = Array.isArray(value);
  if (!isArray && proto !== Object.prototype && proto !== null) return value;
  if (seen.has(value)) return '[Circular]' as T;
  seen.add(value);
  if (isArray) {
    let out: unknown[] | undefined;
    value.forEach((v: unknown, i: number) => {
      const clean = scrubObject(v, depth + 1, seen);
      if (clean !== v) (out ??= [...(value as unknown[])])[i] = clean;
    });
    return (out ?? value) as T;
  }
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const clean = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== '' ? CENSOR : scrubObject(v, depth + 1, seen);
    if (clean !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = clean;
  }
  return (out ?? value) as T;
}

export interface LoggerOptions {
  /** Absolute path of the JSON log file; its folder is created. */
  file?: string;
  /** Level of the file (default `info`). */
  level?: string;
  /** Readable lines on the terminal (stderr). */
  pretty?: boolean;
  /** Terminal shows `debug` too (every transition). */
  verbose?: boolean;
  /**
   * Told when the log file cannot be opened or written (folder not writable,
   * disk full, share gone), once per outage; default: one line on stderr. The
   * mailer keeps running.
   */
  onFileError?: (err: Error) => void;
  /**
   * Told when the file takes lines again after an outage, with the lines lost
   * (undefined when none were); default: one line on stderr.
   */
  onFileRecovered?: (lost: LostLines | undefined) => void;
  /** Where the readable lines go (default process.stderr); for tests. */
  prettyDestination?: { write(chunk: string): unknown };
  /** Size after which the file is rotated (Config.logMaxBytes; default 50 MB). */
  maxBytes?: number;
  /** Days rotated files are kept (Config.logKeepDays; default 30). */
  keepDays?: number;
  /** The clock used for rotation (tests). */
  now?: () => Date;
  /** The language of the terminal's lines (./terminal-text.ts; the CLI passes the operator's); without it, the lines as logged. The file keeps the logged messages. */
  language?: Language;
  /**
   * The operating system's log (Windows: io/log/eventlog.ts): takes every line
   * from `info` up as JSON and keeps what is for it; closed before the file,
   * so that a warning it logs on closing still reaches the file.
   */
  systemLog?: { write(line: string): void; close(): Promise<void> };
}

export interface LoggerHandle {
  logger: pino.Logger;
  /** Resolves once every line logged so far is in the file, or counted as lost (see `log.lines_lost`). */
  flush(): Promise<void>;
  /** Flushes and closes the file; the logger must not be used afterwards. */
  close(): Promise<void>;
  /**
   * Tells `listener` when the file cannot be written (the error, once per
   * outage; at once when one is going on) and when it takes lines again
   * (undefined): for the health file that `status` reads.
   */
  onFileState(listener: (error: Error | undefined) => void): void;
}

/** What the notice of lost lines keeps of a lost line: its time, and the send it records if it is one. */
export function lostLineOf(line: Buffer): LostLine | undefined {
  const text = line.toString('utf8');
  if (text.includes('"to":"sent"')) {
    let entry: Record<string, unknown> | undefined;
    try {
      entry = JSON.parse(text) as Record<string, unknown>;
    } catch {
      entry = undefined;
    }
    if (entry?.event === Events.ORDER_TRANSITION && entry.to === 'sent' && typeof entry.orderId === 'string' && typeof entry.time === 'string') {
      return { time: new Date(entry.time), detail: { orderId: entry.orderId, company: entry.company, time: entry.time } };
    }
  }
  const time = /"time":"([^"]+)"/.exec(text)?.[1];
  return time === undefined ? undefined : { time: new Date(time) };
}

const pinoOptions: pino.LoggerOptions = {
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { log: (obj) => scrubObject(obj), bindings: (b) => scrubObject(b) },
  serializers: { err: scrubError },
  hooks: { streamWrite: scrubLine },
};

/** The `log.lines_lost` line, in the file's own format, built without going through the file. */
function lostNotice(): (lost: LostLines) => string {
  let line = '';
  const notice = pino({ ...pinoOptions, level: 'warn' }, { write: (s: string) => void (line = s) });
  return (lost) => {
    const sends = lost.details.length + lost.detailsOmitted;
    notice.warn(
      {
        event: Events.LOG_LINES_LOST,
        lines: lost.lines,
        since: lost.since.toISOString(),
        until: lost.until.toISOString(),
        error: lost.reason,
        sent: lost.details,
        ...(lost.detailsOmitted > 0 && { sentOmitted: lost.detailsOmitted }),
      },
      `${lost.lines} log lines were lost between ${lost.since.toISOString()} and ${lost.until.toISOString()} (${lost.reason}); ${sends} of them recorded sends, listed in "sent"`,
    );
    return line;
  };
}

/** A pino logger writing to the file and/or the terminal; JSON to stderr when neither is asked for. */
export function createLogger(opts: LoggerOptions = {}): LoggerHandle {
  const fileLevel = opts.level ?? 'info';
  const termLevel = opts.verbose ? 'debug' : 'info';
  const streams: pino.StreamEntry[] = [];
  const say = (text: string): void => void process.stderr.write(`proscai-mailer: ${text}\n`);
  // The log's own troubles are said on the terminal in the operator's language (the file may be what fails).
  const lang = opts.language ?? 'en';
  const fileName = opts.file ?? '';
  const fileListeners: ((error: Error | undefined) => void)[] = [];
  let fileError: Error | undefined;
  const tellFileState = (error: Error | undefined): void => {
    fileError = error;
    for (const listener of fileListeners) listener(error);
  };
  const report = (e: Error): void => {
    tellFileState(e);
    (opts.onFileError ?? ((err: Error) => say(t('log.file_failing', lang, { file: fileName, reason: err.message }))))(e);
  };
  const recovered = (lost: LostLines | undefined): void => {
    tellFileState(undefined);
    (opts.onFileRecovered ??
      ((l: LostLines | undefined) =>
        say(l ? t('log.file_recovered_lost', lang, { file: fileName, lines: l.lines }) : t('log.file_recovered', lang, { file: fileName }))))(lost);
  };
  const file = opts.file
    ? createRotatingFile({
        file: opts.file,
        onError: report,
        onRecovered: recovered,
        onUnwritten: (lost) =>
          say(t('log.unwritten', lang, { file: fileName, lines: lost.lines, since: lost.since.toISOString(), until: lost.until.toISOString(), reason: lost.reason })),
        onHousekeepingError: (e) => say(t('log.housekeeping_failed', lang, { file: fileName, reason: e.message })),
        lostNotice: lostNotice(),
        lostDetail: lostLineOf,
        ...(opts.maxBytes !== undefined && { maxBytes: opts.maxBytes }),
        ...(opts.keepDays !== undefined && { keepDays: opts.keepDays }),
        ...(opts.now !== undefined && { now: opts.now }),
      })
    : undefined;
  if (file) streams.push({ stream: file, level: fileLevel as pino.Level });
  if (opts.pretty) streams.push({ stream: prettyStream(opts.prettyDestination ?? process.stderr, opts.language ?? 'en'), level: termLevel });
  if (opts.systemLog) streams.push({ stream: { write: (line: string) => opts.systemLog!.write(line) }, level: 'info' });
  if (streams.length === 0) streams.push({ stream: pino.destination({ dest: 2, sync: true }), level: fileLevel as pino.Level });

  const values = pino.levels.values;
  const lowest = streams.map((s) => s.level ?? 'info').sort((a, b) => values[a] - values[b])[0];
  const logger = pino({ ...pinoOptions, level: lowest }, pino.multistream(streams));

  const flush = async (): Promise<void> => {
    await file?.flush();
  };
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await opts.systemLog?.close();
      await file?.close();
    })();
    return closed;
  };
  const onFileState = (listener: (error: Error | undefined) => void): void => {
    fileListeners.push(listener);
    if (fileError !== undefined) listener(fileError);
  };
  return { logger, flush, close, onFileState };
}

/**
 * pino-pretty's formatter over a plain write: synchronous, so nothing is lost
 * and stderr is never closed. When stderr is systemd's journal, each line
 * carries its priority (io/log/journal.ts), so errors are errors there.
 */
function prettyStream(out: { write(chunk: string): unknown }, language: Language): pino.DestinationStream {
  const journal = out === process.stderr && isJournalStream();
  const format = pretty.prettyFactory({
    // The operator's language: the line's sentence and its level label (./terminal-text.ts).
    messageFormat: (log) => terminalMessage(log, language),
    customPrettifiers: {
      level: (level, _key, _log, { labelColorized }) => levelLabel(labelColorized, Number(level), language),
    },
    colorize: out === process.stderr && process.stderr.isTTY === true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname',
    // One line per event on the terminal: the message carries what a person
    // needs (order, states, reason); every field stays in the JSON log file.
    hideObject: true,
  });
  if (journal) return { write: (line: string) => void out.write(withPriority(format(line), priorityOf(levelOfLine(line)))) };
  return { write: (line: string) => void out.write(format(line)) };
}

/**
 * Appends one JSON line to the bitácora in pino's shape (`level`, `time`,
 * `pid`, `hostname`, then the fields), for a command that runs no logger
 * (`retry`). One `appendFile` (O_APPEND) per line, so a running mailer
 * writing the same file never interleaves inside it.
 * A failure is returned, not thrown: what the command did still stands.
 */
export async function appendLogEntry(logFile: string, fields: Record<string, unknown>, msg: string): Promise<Error | undefined> {
  const line = { level: 30, time: new Date().toISOString(), pid: process.pid, hostname: os.hostname(), ...fields, msg };
  try {
    await fs.mkdir(path.dirname(logFile), { recursive: true });
    await fs.appendFile(logFile, `${JSON.stringify(line)}\n`);
    return undefined;
  } catch (err) {
    return errnoOf(err) === undefined ? (err as Error) : accessError('append to', logFile, err);
  }
}
