/**
 * The Windows Task Scheduler task (schema 1.2, Windows Vista / Server 2008 and
 * later) that runs `proscai-mailer run` at boot. PURE: it only builds text;
 * `src/io/host/service-files.ts` writes it as UTF-16 LE with a byte-order mark (the
 * encoding the XML declares and the one Task Scheduler itself exports), and the
 * operator registers it with the `schtasks` line from `schtasksCommand`.
 *
 * Guarantees: every value is XML-escaped; every argument is quoted so that
 * node's command-line parser (the Microsoft C runtime rules) hands the program
 * exactly the path given, spaces and `&` included; the task names the folder
 * the mailer starts in; a value Task Scheduler would rewrite (`%NAME%`, which
 * it expands as an environment variable) or that cannot be written at all
 * (line breaks, control characters) is refused with a USAGE `MailerError`.
 */
import path from 'node:path';

import { ErrorCodes, MailerError } from '../errors.js';
import { serviceArgs, type ServiceArgsOptions } from './systemd.js';
import { eventCreateArgs } from '../io/log/eventlog.js';

export interface WindowsTaskOptions {
  /** `node.exe` (`process.execPath` on the Windows machine). */
  execPath: string;
  /** Absolute path of `dist\main.js`. */
  script: string;
  /** `--config` passed to `run`, absolute. */
  configFile?: string;
  /** `--dir` passed to `run`, absolute. */
  dir?: string;
  /** `--attachments`, `--error-mail` and `--language` passed to `run`. */
  attachments?: string;
  errorMail?: string;
  language?: string;
  /**
   * The folder the mailer starts in (the task's "Start in"); default the
   * program's folder (the one holding `script`). Without one, Task Scheduler
   * starts a SYSTEM task in C:\Windows\System32, where a relative path
   * (a MAILER_DIR variable, say) would land.
   */
  workingDirectory?: string;
  /** Shown in Task Scheduler; used by `schtasks /TN`. */
  taskName: string;
  /** Account the task runs as; default SYSTEM (`S-1-5-18`). Another account needs its password at registration. */
  user?: string;
  description?: string;
  /**
   * Minutes between watchdog starts: besides the boot trigger, the task is
   * started every N minutes and, while it is still running, the new start is
   * ignored (`IgnoreNew`). This brings the mailer back even when Task Scheduler
   * does not count its exit as a failure. 0 = no watchdog. Default 5.
   */
  watchdogMinutes?: number;
}

/** The well-known SID of the LocalSystem account. */
export const SYSTEM_SID = 'S-1-5-18';

/** `RestartOnFailure/Count` is an unsignedByte in the schema: 255 is the most it takes. */
export const RESTART_COUNT = 255;

const DEFAULT_DESCRIPTION = "proscai-mailer: sends the ERP's send orders (_CFD_MAIL_REQ_*.XML) by e-mail";

function usage(message: string, field: string, value: string): never {
  throw new MailerError(ErrorCodes.USAGE, message, { field, value });
}

/**
 * Escapes element text (`&`, `<`, `>`; quotes need no escaping outside
 * attributes and stay readable); refuses characters XML 1.0 cannot carry.
 */
export function xmlEscape(value: string): string {
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(value)) {
    usage('a value of the task contains a control character', 'task', value);
  }
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Task Scheduler expands `%NAME%` in commands and arguments, with no way to escape it. */
function noExpansion(value: string, field: string): string {
  if (/%[^%\s]+%/.test(value)) usage(`"${value}" contains %…%, which Task Scheduler would replace by an environment variable`, field, value);
  if (/[\r\n]/.test(value)) usage(`"${value}" contains a line break`, field, value);
  return value;
}

/**
 * One argument quoted for `CommandLineToArgvW` and the C runtime: bare when it
 * has no white space or quote, else in double quotes where a run of
 * backslashes is doubled before a quote (and before the closing quote).
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let slashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      slashes++;
      continue;
    }
    out += ch === '"' ? '\\'.repeat(slashes * 2 + 1) + '"' : '\\'.repeat(slashes) + ch;
    slashes = 0;
  }
  return `${out}${'\\'.repeat(slashes * 2)}"`;
}

/** The program for `<Command>`: quoted when it has spaces, as Task Scheduler's own dialog writes it. */
function commandOf(execPath: string): string {
  if (execPath.includes('"')) usage('the node path cannot contain a double quote', '--node', execPath);
  return /\s/.test(execPath) ? `"${execPath}"` : execPath;
}

/** `<WorkingDirectory>`: taken as written (no quoting), so it cannot contain a quote. */
function workingDirectoryOf(opts: Pick<WindowsTaskOptions, 'script' | 'workingDirectory'>): string {
  const folder = opts.workingDirectory ?? path.win32.dirname(opts.script);
  if (folder.includes('"')) usage('the working folder cannot contain a double quote', '--working-dir', folder);
  return noExpansion(folder, 'WorkingDirectory');
}

/** `<Arguments>`: the script, `run` and its options, each quoted for node. */
export function taskArguments(opts: ServiceArgsOptions): string {
  return serviceArgs(opts)
    .slice(1)
    .map((arg) => quoteWindowsArg(noExpansion(arg, 'Arguments')))
    .join(' ');
}

/** True for the default account, LocalSystem, however it is spelled. */
function isSystem(user: string | undefined): boolean {
  return user === undefined || user === SYSTEM_SID || /^(NT AUTHORITY\\)?SYSTEM$/i.test(user);
}

/** An account name cmd.exe and the XML can carry (`DOMAIN\user`, `user@domain`). */
function account(user: string): string {
  if (user.trim() === '' || /["%\r\n]/.test(user)) usage(`invalid account "${user}"`, '--user', user);
  return user;
}

function principal(user: string | undefined): string[] {
  if (isSystem(user)) {
    return [`      <UserId>${SYSTEM_SID}</UserId>`, '      <RunLevel>HighestAvailable</RunLevel>'];
  }
  return [`      <UserId>${xmlEscape(account(user!))}</UserId>`, '      <LogonType>Password</LogonType>', '      <RunLevel>HighestAvailable</RunLevel>'];
}

function watchdogTrigger(minutes: number): string[] {
  if (minutes === 0) return [];
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) usage('the watchdog interval must be 0 to 1440 whole minutes', 'watchdogMinutes', String(minutes));
  return [
    '    <TimeTrigger>',
    '      <Repetition>',
    `        <Interval>PT${minutes}M</Interval>`,
    '        <StopAtDurationEnd>false</StopAtDurationEnd>',
    '      </Repetition>',
    '      <StartBoundary>2025-01-01T00:00:00</StartBoundary>',
    '      <Enabled>true</Enabled>',
    '    </TimeTrigger>',
  ];
}

/**
 * The task's XML text. It declares UTF-16, so it must be saved as UTF-16
 * (`writeUtf16File`, or `service print --out`); printed to a terminal it is
 * for reading.
 */
export function windowsTaskXml(opts: WindowsTaskOptions): string {
  taskName(opts.taskName);
  const lines = [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    '  <RegistrationInfo>',
    '    <Author>proscai-mailer</Author>',
    `    <Description>${xmlEscape(opts.description ?? DEFAULT_DESCRIPTION)}</Description>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    '    <BootTrigger>',
    '      <Enabled>true</Enabled>',
    '      <Delay>PT30S</Delay>',
    '    </BootTrigger>',
    ...watchdogTrigger(opts.watchdogMinutes ?? 5),
    '  </Triggers>',
    '  <Principals>',
    '    <Principal id="Author">',
    ...principal(opts.user),
    '    </Principal>',
    '  </Principals>',
    '  <Settings>',
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <AllowHardTerminate>true</AllowHardTerminate>',
    '    <StartWhenAvailable>true</StartWhenAvailable>',
    '    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>',
    '    <IdleSettings>',
    '      <StopOnIdleEnd>false</StopOnIdleEnd>',
    '      <RestartOnIdle>false</RestartOnIdle>',
    '    </IdleSettings>',
    '    <AllowStartOnDemand>true</AllowStartOnDemand>',
    '    <Enabled>true</Enabled>',
    '    <Hidden>false</Hidden>',
    '    <RunOnlyIfIdle>false</RunOnlyIfIdle>',
    '    <WakeToRun>false</WakeToRun>',
    '    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>',
    '    <Priority>7</Priority>',
    '    <RestartOnFailure>',
    '      <Interval>PT1M</Interval>',
    `      <Count>${RESTART_COUNT}</Count>`,
    '    </RestartOnFailure>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    `      <Command>${xmlEscape(commandOf(noExpansion(opts.execPath, 'Command')))}</Command>`,
    `      <Arguments>${xmlEscape(taskArguments(opts))}</Arguments>`,
    `      <WorkingDirectory>${xmlEscape(workingDirectoryOf(opts))}</WorkingDirectory>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * A task name `schtasks` and cmd.exe take inside double quotes: no quote, no
 * `%`, none of the characters a file name cannot have (`\` separates folders).
 */
export function taskName(name: string): string {
  if (name.trim() === '' || /["%<>:|?*\u0000-\u001F]/.test(name)) {
    usage(`invalid task name "${name}": it cannot contain " % < > : | ? * or control characters`, '--name', name);
  }
  return name;
}

/** The line that registers the task from the saved XML (replacing a task of the same name). */
export function schtasksCommand(xmlPath: string, name: string, user?: string): string {
  taskName(name);
  if (/["%\r\n]/.test(xmlPath)) usage(`the task file path cannot contain " or %`, '--out', xmlPath);
  const runAs = isSystem(user) ? '' : ` /RU "${account(user!)}" /RP *`;
  return `schtasks /Create /TN "${name}" /XML "${xmlPath}"${runAs} /F`;
}

/**
 * The line that registers the mailer's event source (io/log/eventlog.ts) by
 * writing a first event with it: eventcreate creates a source the first time
 * it is used, which needs an administrator. Run once at installation, so that
 * a task running as an account that is not one can write its errors there too.
 */
export function eventSourceCommand(text: string): string {
  return ['eventcreate', ...eventCreateArgs('INFORMATION', text)].map(quoteWindowsArg).join(' ');
}
