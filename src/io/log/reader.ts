/**
 * Reads the bitácora back, for `proscai-mailer status` and `trace`: every log
 * file of the configured log folder (the rotated `mailer-YYYY-MM-DD[.NNN].log`
 * files in time order, then the current `mailer.log`), line by line.
 *
 * Guarantees:
 * - streams (readline): memory does not grow with the size of the log;
 * - never fails on what a live or crashed mailer leaves behind: blank lines,
 *   lines that are not JSON (a terminal paste, a half-written last line) are
 *   skipped, and a file that disappears between listing and opening it
 *   (rotation, housekeeping) is skipped too;
 * - read-only: no file is created, locked or changed.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import type { Config } from '../../config/types.js';
import { errnoOf, accessError } from '../store/files.js';
import { Events } from './events.js';
import { listLogFiles, localDay } from './names.js';

/** One parsed log line (pino's fields plus ours: `time`, `event`, `orderId`…). */
export type LogEntry = Record<string, unknown> & { time?: string; event?: string };

export interface ReadLogOptions {
  /** Skips rotated files whose day (in their name) is before this instant's local day. */
  since?: Date;
  /** Cheap prefilter: only lines containing this text, or one of these texts (case-insensitive), are parsed. */
  contains?: string | string[];
}

/** The current log file of a configuration: `<logDir ?? <workDir>/logs>/mailer.log`. */
export function logFileOf(config: Pick<Config, 'logDir' | 'workDir'>): string {
  return path.join(config.logDir ?? path.join(config.workDir, 'logs'), 'mailer.log');
}

/** `2026-11-27` from `mailer-2026-11-27.log` or `mailer-2026-11-27.003.log`; undefined for the current file. */
function dayOfRotated(file: string): string | undefined {
  return /-(\d{4}-\d{2}-\d{2})(?:\.\d+)?\.[^.]+$/.exec(path.basename(file))?.[1];
}

/** The log files to read, oldest first (see the module comment). */
export async function logFilesToRead(logFile: string, since?: Date): Promise<string[]> {
  let files: string[];
  try {
    files = await listLogFiles(logFile);
  } catch (err) {
    throw accessError('list', path.dirname(logFile), err);
  }
  if (since === undefined) return files;
  const first = localDay(since);
  return files.filter((file) => {
    const day = dayOfRotated(file);
    return day === undefined || day >= first;
  });
}

/** Parses one line; undefined for anything that is not a JSON object. */
export function parseLogLine(line: string): LogEntry | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as LogEntry) : undefined;
  } catch {
    return undefined;
  }
}

/** A send recorded by a `log.lines_lost` line: its own `order.transition` line was lost. */
export interface LostSend {
  orderId: string;
  company?: string;
  /** ISO time of the lost line. */
  time: string;
}

/** The sends a `log.lines_lost` entry records ([] for any other entry). */
export function lostSendsOf(entry: LogEntry): LostSend[] {
  if (entry.event !== Events.LOG_LINES_LOST || !Array.isArray(entry.sent)) return [];
  return entry.sent.flatMap((s: unknown) => {
    const send = s as Partial<Record<keyof LostSend, unknown>> | null;
    if (typeof send?.orderId !== 'string' || typeof send.time !== 'string') return [];
    return [{ orderId: send.orderId, time: send.time, ...(typeof send.company === 'string' && { company: send.company }) }];
  });
}

/** The entries of one file, in order; nothing when the file is gone. */
async function* entriesOf(file: string, contains: string[] | undefined): AsyncGenerator<LogEntry> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw accessError('read', file, err);
  }
  // The stream owns the handle and closes it once (closing the fd twice, by the
  // stream and by hand, raised an unhandled EBADF while a mailer was writing).
  const stream = handle.createReadStream({ encoding: 'utf8' });
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (contains !== undefined) {
        const lower = line.toLowerCase();
        if (!contains.some((text) => lower.includes(text))) continue;
      }
      const entry = parseLogLine(line);
      if (entry !== undefined) yield entry;
    }
  } catch (err) {
    throw accessError('read', file, err);
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** The prefilter's texts, lower-cased. */
function containsOf(opts: ReadLogOptions): string[] | undefined {
  return opts.contains === undefined ? undefined : [opts.contains].flat().map((text) => text.toLowerCase());
}

/** Every entry of every log file of `logFile`, oldest file first, each file in write order. */
export async function* readLogEntries(logFile: string, opts: ReadLogOptions = {}): AsyncGenerator<LogEntry> {
  const contains = containsOf(opts);
  for (const file of await logFilesToRead(logFile, opts.since)) yield* entriesOf(file, contains);
}

/** The entries that pass `keep`, with the list of files that were read. */
export async function collectLogEntries(
  logFile: string,
  keep: (entry: LogEntry) => boolean,
  opts: ReadLogOptions = {},
): Promise<{ entries: LogEntry[]; files: string[] }> {
  const files = await logFilesToRead(logFile, opts.since);
  const contains = containsOf(opts);
  const entries: LogEntry[] = [];
  for (const file of files) for await (const entry of entriesOf(file, contains)) if (keep(entry)) entries.push(entry);
  return { entries, files };
}
