/**
 * systemd's journal as the mailer's terminal: when stderr *is* the journal,
 * each line starts with its syslog priority (`<3>` error, `<4>` warning,
 * `<6>` information, `<7>` debug; sd-daemon(3)), which journald strips and
 * keeps as the entry's priority, so that `journalctl -u proscai-mailer -p err`
 * lists the errors. The unit's `SyslogLevelPrefix=true` (the default, written
 * out in the generated unit) lets journald read it.
 *
 * Stderr is the journal when `JOURNAL_STREAM` (set by systemd for a service
 * whose output goes to the journal) names the device and inode of file
 * descriptor 2 (the check sd_journal_stream_fd's documentation asks for): a
 * child whose stderr was redirected elsewhere inherits the variable but not
 * the stream, and gets no prefixes. `INVOCATION_ID` alone says a service runs,
 * not where its output goes, so it is not enough.
 */
import { fstatSync } from 'node:fs';

/** True when `JOURNAL_STREAM` names the stream behind file descriptor `fd` (default 2, stderr). */
export function isJournalStream(env: Record<string, string | undefined> = process.env, fd = 2): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (match === null) return false;
  try {
    const info = fstatSync(fd, { bigint: true });
    return info.dev === BigInt(match[1]!) && info.ino === BigInt(match[2]!);
  } catch {
    return false;
  }
}

/** The syslog priority of a pino level: fatal 2 (crit), error 3, warn 4, info 6, debug and trace 7. */
export function priorityOf(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

/** Every line of `text` prefixed with `<priority>` (a trailing newline is kept, not prefixed). */
export function withPriority(text: string, priority: number): string {
  const end = text.endsWith('\n') ? '\n' : '';
  const body = end === '' ? text : text.slice(0, -1);
  return `${body
    .split('\n')
    .map((line) => `<${priority}>${line}`)
    .join('\n')}${end}`;
}

/** The pino level of a serialised log line (`"level":50`); info when it has none. */
export function levelOfLine(line: string): number {
  const match = /"level":(\d+)/.exec(line);
  return match === null ? 30 : Number(match[1]);
}
