/**
 * The systemd unit that runs `proscai-mailer run` at boot on Linux. PURE: it
 * only builds text; `src/io/host/service-files.ts` writes it and the operator runs
 * `systemctl` (the program never does).
 *
 * Guarantees: every path or name is written so that systemd reads back exactly
 * the value given (spaces, quotes, backslashes, `%` specifiers and `$`
 * variables are escaped); a value systemd cannot carry on one line (a line
 * break) is refused with a USAGE `MailerError` instead of producing a unit that
 * would run something else. The stop timeout leaves an in-flight send its full
 * `TiempoEspera` (at most 10 minutes) to finish after SIGTERM.
 */
import { ErrorCodes, MailerError } from '../errors.js';

export interface SystemdUnitOptions {
  /** The node binary (`process.execPath`), absolute. */
  execPath: string;
  /** Absolute path of `dist/main.js`. */
  script: string;
  /** `--config` passed to `run`, absolute. */
  configFile?: string;
  /** `--dir` passed to `run`, absolute (when no configuration file names the order folder). */
  dir?: string;
  /** `--attachments`, `--error-mail` and `--language` passed to `run` (the common options: src/cli/options.ts). */
  attachments?: string;
  errorMail?: string;
  language?: string;
  /** `--ui HOST:PORT` passed to `run`: the service serves the status window. */
  ui?: string;
  workingDirectory?: string;
  /** `User=`; default root (systemd's default for system units). */
  user?: string;
  description?: string;
  /** `EnvironmentFile=`: variables such as the one named by `passwordEnv`, or MAILER_DIR. */
  environmentFile?: string;
}

/** Seconds systemd waits after SIGTERM: the longest `TiempoEspera` (10 min) plus a minute for archiving and logging. */
export const STOP_TIMEOUT_SECONDS = 660;

/** Exit status that must not trigger a restart: a configuration error does not fix itself. */
export const NO_RESTART_EXIT_STATUS = 2;

const DEFAULT_DESCRIPTION = "proscai-mailer: sends the ERP's send orders (_CFD_MAIL_REQ_*.XML) by e-mail";

/** Refuses values that would end the line they are written on. */
function oneLine(value: string, what: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw new MailerError(ErrorCodes.USAGE, `${what} cannot contain a line break`, { field: what, value });
  }
  return value;
}

/** `%` starts a systemd specifier (`%h`, `%n`…) in most settings: `%%` is a literal percent sign. */
function escapeSpecifiers(value: string): string {
  return value.replace(/%/g, '%%');
}

/**
 * One word of `ExecStart=`: systemd splits the line on white space, honours
 * double quotes with C-style backslash escapes, expands `$VAR`/`${VAR}` and `%`
 * specifiers. A word that needs none of that is written as is.
 */
export function quoteExecArg(arg: string): string {
  oneLine(arg, 'ExecStart');
  const escaped = escapeSpecifiers(arg).replace(/\$/g, '$$$$');
  if (escaped !== '' && !/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The full command line: `<node> <flags> <script> run [--config FILE] [--dir FOLDER] […]`. */
export function execStart(opts: ServiceArgsOptions): string {
  return serviceArgs(opts).map(quoteExecArg).join(' ');
}

/**
 * The V8 heap cap the service runs with. Node's default lets the heap grow
 * toward gigabytes before collecting, so a long backlog shows as RSS that is
 * mostly garbage. The live data of 100,000 waiting orders stays well under
 * 128 MB, so this cap leaves room and keeps the peak about a third lower (the
 * figures are in docs/benchmark.md).
 */
export const SERVICE_HEAP_MB = 192;

/**
 * The node flags the service runs with (systemd unit and Windows task). The
 * last two keep V8's own threads from competing with the mailer's two busy
 * threads (the main thread and the SMTP worker) and, on a customer's small
 * server, with the ERP; the mailer's heaps are small (~15 MB live on the main
 * thread, ~8 MB in the SMTP worker), so it loses nothing by them:
 * - the heap cap above;
 * - `--single-threaded-gc`: V8 collects on the thread that allocates instead
 *   of waking helper threads for every collection (its pauses are a few ms
 *   longer);
 * - `--v8-pool-size=1`: with collection off the pool, what is left for V8's
 *   helper threads is compiling hot functions in the background; one thread
 *   does that instead of four (Node's default, whatever the core count).
 *
 * On two cores the last two lower the CPU per message and raise the
 * throughput (the figures are in docs/benchmark.md).
 * NODE_OPTIONS refuses `--single-threaded-gc`: by hand, pass it to node.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = Object.freeze([
  `--max-old-space-size=${SERVICE_HEAP_MB}`,
  '--single-threaded-gc',
  '--v8-pool-size=1',
]);

/** What the service's command line is made of. */
export type ServiceArgsOptions = Pick<SystemdUnitOptions, 'execPath' | 'script' | 'configFile' | 'dir' | 'attachments' | 'errorMail' | 'language' | 'ui'>;

/** The argv the service runs, unquoted (shared with the Windows task): `run` with the common options given. */
export function serviceArgs(opts: ServiceArgsOptions): string[] {
  const option = (name: string, value: string | undefined): string[] => (value === undefined ? [] : [name, value]);
  return [
    opts.execPath,
    ...SERVICE_NODE_FLAGS,
    opts.script,
    'run',
    ...option('--config', opts.configFile),
    ...option('--dir', opts.dir),
    ...option('--attachments', opts.attachments),
    ...option('--error-mail', opts.errorMail),
    ...option('--language', opts.language),
    ...option('--ui', opts.ui),
  ];
}

/** A `Key=value` line whose value systemd takes literally (specifiers escaped). */
function setting(key: string, value: string): string {
  return `${key}=${escapeSpecifiers(oneLine(value, key))}`;
}

/** The unit file's text (ends with a newline). */
export function systemdUnit(opts: SystemdUnitOptions): string {
  const lines = [
    '# Written by `proscai-mailer service`. Change settings with `systemctl edit <name>`',
    '# or generate the file again; run `systemctl daemon-reload` after any change.',
    '[Unit]',
    setting('Description', opts.description ?? DEFAULT_DESCRIPTION),
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${execStart(opts)}`,
    ...(opts.workingDirectory !== undefined ? [setting('WorkingDirectory', opts.workingDirectory)] : []),
    ...(opts.user !== undefined ? [setting('User', opts.user)] : []),
    ...(opts.environmentFile !== undefined ? [setting('EnvironmentFile', opts.environmentFile)] : []),
    'Restart=on-failure',
    'RestartSec=10',
    `RestartPreventExitStatus=${NO_RESTART_EXIT_STATUS}`,
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${STOP_TIMEOUT_SECONDS}`,
    'StandardOutput=journal',
    'StandardError=journal',
    // Lines start with their priority (<3> error, <4> warning; io/log/journal.ts): `journalctl -p err` finds the errors.
    'SyslogLevelPrefix=true',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return `${lines.join('\n')}\n`;
}

/** The commands the operator runs after the unit is written. */
export function systemctlCommand(name: string): string {
  return `systemctl daemon-reload && systemctl enable --now ${name}`;
}

/**
 * A unit name systemd accepts and a shell line can carry unquoted:
 * letters, digits, `_`, `-`, `.`, `@`, without the `.service` suffix.
 * Throws a USAGE `MailerError` otherwise.
 */
export function unitName(name: string): string {
  const bare = name.replace(/\.service$/, '');
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,200}$/.test(bare)) {
    throw new MailerError(ErrorCodes.USAGE, `invalid service name "${name}": use letters, digits, "_", "-", "." or "@"`, {
      field: '--name',
      value: name,
    });
  }
  return bare;
}
