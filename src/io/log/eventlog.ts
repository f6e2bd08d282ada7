/**
 * Windows's Application event log as a destination of the mailer's log: error
 * lines, and the sends of orders that ask for it (`RegistrarEnvios` /
 * `logSuccess`, logged as `order.sent`), reach Event Viewer → Windows Logs →
 * Application under the source EVENT_SOURCE, where IT staff look.
 *
 * How: `%SystemRoot%\System32\eventcreate.exe /L APPLICATION /T ERROR|INFORMATION
 * /SO "Proscai Mailer" /ID n /D text`, a program every Windows since XP ships,
 * rather than PowerShell's `Write-EventLog`: it starts in tens of
 * milliseconds, not the second or more PowerShell takes; it takes its text as
 * one argument, with no script to quote into (PowerShell would need
 * `-EncodedCommand` to carry quotes safely), and, started without a shell,
 * as here, no `& | < > ^ %` of an order's subject means anything to it;
 * arguments reach it as UTF-16, so accents arrive as written. It creates the
 * source the first time it writes with it, which needs an administrator
 * (the SYSTEM account of the scheduled task is one); `service print
 * --platform windows --out` prints that first call for the administrator to
 * run at installation, so that a task run as another account can write too.
 * (Its own source name, not "Proscai": eventcreate writes only under sources
 * it created itself, and the original program's "Proscai" may exist.)
 *
 * Guarantees:
 * - `write` never blocks and never throws: lines are queued, at most
 *   MAX_QUEUED; beyond, they are counted and the next event says how many
 *   were dropped;
 * - at most one eventcreate runs at a time; what queued meanwhile is
 *   coalesced into one event per type (errors, sends) of up to MAX_CHARS
 *   characters, so a burst of failures is a few processes, never one per line;
 * - spawned without a shell, from an argument array (`eventCreateArgs`): no
 *   text of an order is ever interpreted;
 * - a failing eventcreate (missing, refused, timing out) is told once through
 *   `onFailure` (the caller logs a warning to the file, which this sink does
 *   not take, so it cannot loop), and again only after one succeeded;
 * - `close` waits for what is queued, at most CLOSE_WAIT_MS.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

import type { Language } from '../../config/types.js';
import { t } from '../../text/messages.js';
import { Events } from './events.js';

/** The event source the mailer writes under (registered by the first eventcreate, as administrator). */
export const EVENT_SOURCE = 'Proscai Mailer';

/** Event ids (eventcreate takes 1 to 1000): one per kind, so that a view can filter on them. */
export const EVENT_IDS = { sent: 1, error: 2 } as const;

/** Lines waiting at most; beyond, they are dropped and counted. */
export const MAX_QUEUED = 500;
/** Characters of one event's text at most (the event log takes ~31,000; the command line 32,767 in all). */
export const MAX_CHARS = 8000;
/** Longest one eventcreate may take before it is given up. */
const SPAWN_TIMEOUT_MS = 15_000;
const CLOSE_WAIT_MS = 5_000;

export type EventType = 'ERROR' | 'INFORMATION';

/** Runs a program with arguments, no shell; resolves with how it ended (never rejects). */
export type SpawnFn = (file: string, args: string[]) => Promise<{ code: number | null; error?: Error; output: string }>;

/** The path of eventcreate.exe (the system's own, never one found on PATH). */
export function eventCreatePath(env: Record<string, string | undefined> = process.env): string {
  return path.win32.join(env.SystemRoot ?? env.windir ?? 'C:\\Windows', 'System32', 'eventcreate.exe');
}

/** Removes what a command-line argument cannot carry (NUL, other control characters but tab and line breaks). */
function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, ' ');
}

/** The arguments of one eventcreate call. The text starts with `proscai-mailer:`, so it is never taken for an option. */
export function eventCreateArgs(type: EventType, text: string, source = EVENT_SOURCE): string[] {
  const id = type === 'ERROR' ? EVENT_IDS.error : EVENT_IDS.sent;
  return ['/L', 'APPLICATION', '/T', type, '/SO', source, '/ID', String(id), '/D', `proscai-mailer: ${printable(text)}`];
}

/** The real spawn: execFile, no shell, no window, bounded in time. */
export const spawnNoShell: SpawnFn = (file, args) =>
  new Promise((resolve) => {
    execFile(file, args, { windowsHide: true, shell: false, timeout: SPAWN_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : null;
      resolve({ code, ...(error !== null && { error }), output: `${stdout}${stderr}`.trim() });
    });
  });

/** What one log line gives the event log: its type and text, or nothing (other lines are not for it). */
export function eventOfLine(line: string): { type: EventType; text: string } | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  const code = typeof entry.errorCode === 'string' ? ` [${entry.errorCode}]` : '';
  if (level >= 50) return { type: 'ERROR', text: `${msg}${code}` };
  if (entry.event === Events.ORDER_SENT) {
    const to = Array.isArray(entry.accepted) ? ` → ${entry.accepted.join(', ')}` : '';
    const company = typeof entry.company === 'string' && entry.company !== '' ? ` (${entry.company})` : '';
    return { type: 'INFORMATION', text: `${msg}${company}${to}` };
  }
  return undefined;
}

export interface EventLogSink {
  /** Takes one serialised log line (pino's JSON); queues it when it is for the event log. */
  write(line: string): void;
  /** Resolves once the queue is written, or after CLOSE_WAIT_MS. */
  close(): Promise<void>;
}

export interface EventLogSinkOptions {
  /** Told once per outage when eventcreate fails (with its output). */
  onFailure(error: Error): void;
  spawn?: SpawnFn;
  /** eventcreate.exe's path (default `eventCreatePath()`). */
  program?: string;
  source?: string;
  /** Time of each line: prefixed to it when several are coalesced (tests pass a fixed clock). */
  now?: () => Date;
}

/** See the module comment. */
export function createEventLogSink(opts: EventLogSinkOptions): EventLogSink {
  const spawn = opts.spawn ?? spawnNoShell;
  const program = opts.program ?? eventCreatePath();
  const now = opts.now ?? (() => new Date());
  const queues: Record<EventType, string[]> = { ERROR: [], INFORMATION: [] };
  let queued = 0;
  let dropped = 0;
  let running: Promise<void> | undefined;
  let failing = false;

  const stamp = (at: Date): string => at.toISOString().replace('T', ' ').slice(0, 19);

  /** The next event: the oldest type first (errors before sends when both wait), as many lines as fit. */
  const nextEvent = (): { type: EventType; text: string } | undefined => {
    const type: EventType | undefined = queues.ERROR.length > 0 ? 'ERROR' : queues.INFORMATION.length > 0 ? 'INFORMATION' : undefined;
    if (type === undefined) return undefined;
    const queue = queues[type];
    const lines: string[] = [queue.shift()!];
    let size = lines[0]!.length;
    while (queue.length > 0 && size + 2 + queue[0]!.length <= MAX_CHARS) {
      size += 2 + queue[0]!.length;
      lines.push(queue.shift()!);
    }
    queued -= lines.length;
    let text = lines.length === 1 ? lines[0]!.replace(/^\[[^\]]*\] /, '') : lines.join('\r\n');
    if (text.length > MAX_CHARS) text = `${text.slice(0, MAX_CHARS - 1)}…`;
    if (dropped > 0) {
      text += `\r\n(${dropped} more messages were not written to the event log: too many at once; see the log file)`;
      dropped = 0;
    }
    return { type, text };
  };

  const drain = async (): Promise<void> => {
    for (let event = nextEvent(); event !== undefined; event = nextEvent()) {
      const result = await spawn(program, eventCreateArgs(event.type, event.text, opts.source));
      if (result.code === 0) {
        failing = false;
        continue;
      }
      if (!failing) {
        const why = result.error?.message ?? `exit status ${String(result.code)}`;
        opts.onFailure(new Error(`${program} failed (${why})${result.output ? `: ${result.output}` : ''}`));
      }
      failing = true;
    }
  };

  const kick = (): void => {
    running ??= drain().finally(() => {
      running = undefined;
      if (queued > 0) kick();
    });
  };

  return {
    write(line) {
      const event = eventOfLine(line);
      if (event === undefined) return;
      if (queued >= MAX_QUEUED) {
        dropped += 1;
        return;
      }
      queues[event.type].push(`[${stamp(now())}] ${event.text}`);
      queued += 1;
      // Lines of the same tick join one event: the drain starts after them.
      if (running === undefined) setImmediate(kick);
    },
    async close() {
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref());
      const done = (async () => {
        if (queued > 0) kick();
        while (running !== undefined) await running;
      })();
      await Promise.race([done, deadline]);
    },
  };
}

/**
 * `createLogger`'s `systemLog` for this machine: the event-log sink on
 * Windows, nothing elsewhere (systemd's journal takes the terminal's lines,
 * io/log/journal.ts). The sink's failure is logged through `logger()` (once per
 * outage) as an `eventlog.failed` warning, which the sink does not take: it
 * cannot loop.
 */
export function systemLogOption(
  lang: Language,
  logger: () => { warn(fields: object, message: string): void },
  platform: NodeJS.Platform = process.platform,
): { systemLog?: EventLogSink } {
  if (platform !== 'win32') return {};
  const onFailure = (error: Error): void =>
    logger().warn({ event: Events.EVENTLOG_FAILED, error: error.message }, t('eventlog.failed', lang, { reason: error.message }));
  return { systemLog: createEventLogSink({ onFailure }) };
}
