/**
 * `proscai-mailer service print|install`: running the mailer at boot.
 *
 * `print` writes the systemd unit (Linux) or the Task Scheduler XML (Windows)
 * to the terminal, or to `--out FILE`; `install` (Linux) writes the unit to
 * /etc/systemd/system (or `--unit-dir`). Neither ever runs `systemctl` or
 * `schtasks`: they print the line for the administrator to run, so nothing
 * changes on the machine without a person seeing it.
 *
 * The service is for this machine unless `--platform` names the other system;
 * then the node and program paths default to this machine's (a warning says
 * so) and relative paths are refused, having no folder to be taken from there.
 *
 * Exit status: 0 done; 2 wrong use (bad name, a value the service file cannot
 * carry, a relative path for the other system, `install` for Windows); 1 the
 * file could not be written.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { ErrorCodes, isMailerError, MailerError } from '../errors.js';
import { SYSTEM_UNIT_DIR, writeTextFile, writeUnitFile, writeUtf16File } from '../io/host/service-files.js';
import { systemctlCommand, systemdUnit, unitName } from '../service/systemd.js';
import { eventSourceCommand, schtasksCommand, taskName, windowsTaskXml } from '../service/windows-task.js';
import { ExitCode } from './exit-codes.js';
import { h } from './help.js';
import { languageOption } from './options.js';
import { DEFAULT_UI_LISTEN, formatListen, parseListen } from '../config/ui-listen.js';

type Platform = 'linux' | 'windows';
type Lang = 'es' | 'en';

interface ServiceOptions {
  platform?: Platform;
  config?: string;
  dir?: string;
  attachments?: string;
  errorMail?: string;
  name: string;
  user?: string;
  node?: string;
  script?: string;
  envFile?: string;
  workingDir?: string;
  out?: string;
  unitDir?: string;
  language?: Lang;
  /** `--ui [HOST:]PORT`: the service's `run` serves the status window (`true`: the default address). */
  ui?: string | true;
  /** The language the command line was read in (`--config`'s `language`), for these messages when `--language` is not given; never passed to the service. */
  fallbackLanguage?: Lang;
}

const TEXT = {
  badUi: {
    es: '--ui debe ser PUERTO o HOST:PUERTO (una dirección IPv6 entre corchetes: [::1]:8025): {value}',
    en: '--ui must be PORT or HOST:PORT (an IPv6 host in brackets: [::1]:8025): {value}',
  },
  noTarget: {
    es: 'Aviso: no se indicó --config ni --dir; el servicio dependerá de MAILER_DIR en su entorno.',
    en: 'Warning: neither --config nor --dir was given; the service will depend on MAILER_DIR in its environment.',
  },
  foreignPaths: {
    es: 'Aviso: las rutas de node y del programa son las de este equipo; genere la tarea en el equipo Windows o indique --node y --script.',
    en: "Warning: the node and program paths are this machine's; generate the task on the Windows machine or give --node and --script.",
  },
  foreignPathsLinux: {
    es: 'Aviso: las rutas de node y del programa son las de este equipo; genere la unidad en el equipo Linux o indique --node y --script.',
    en: "Warning: the node and program paths are this machine's; generate the unit on the Linux machine or give --node and --script.",
  },
  relativeForeign: {
    es: '«{path}» es una ruta relativa y el servicio es para otro sistema: indique la ruta absoluta en ese equipo.',
    en: '"{path}" is a relative path and the service is for another system: give the absolute path on that machine.',
  },
  saveHint: {
    es: 'Para guardar el archivo que lee schtasks use --out ARCHIVO (se escribe en UTF-16).',
    en: 'To save the file schtasks reads, use --out FILE (it is written in UTF-16).',
  },
  written: { es: 'Se escribió {file}.', en: 'Wrote {file}.' },
  replaced: { es: 'Se reemplazó {file}.', en: 'Replaced {file}.' },
  enable: { es: 'Para activarlo, ejecute como root:', en: 'To enable it, run as root:' },
  register: { es: 'Para registrar la tarea, ejecute como administrador:', en: 'To register the task, run as administrator:' },
  eventSource: {
    es: 'Y, una vez, para que los errores lleguen al Visor de eventos (Registros de Windows → Aplicación, origen «Proscai Mailer»):',
    en: 'And, once, so that errors reach Event Viewer (Windows Logs → Application, source "Proscai Mailer"):',
  },
  eventSourceText: { es: 'origen de eventos registrado', en: 'event source registered' },
  windowsInstall: {
    es: '«service install» es solo para Linux. En Windows: proscai-mailer service print --platform windows --out tarea.xml, y después el comando schtasks que se muestra.',
    en: '"service install" is for Linux only. On Windows: proscai-mailer service print --platform windows --out task.xml, then the schtasks command it shows.',
  },
  usage: { es: 'Uso incorrecto: {reason}', en: 'Wrong use: {reason}' },
  writeFailed: { es: 'No se pudo escribir el archivo: {reason}', en: 'The file could not be written: {reason}' },
  needRoot: { es: '(¿falta ejecutarlo con sudo?)', en: '(does it need sudo?)' },
} as const;

function say(key: keyof typeof TEXT, lang: Lang, params: Record<string, string> = {}): string {
  return TEXT[key][lang].replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? whole);
}

/** `dist/main.js` beside this file's folder (`dist/cli/service.js`), the program the service runs. */
function defaultScript(): string {
  return fileURLToPath(new URL('../main.js', import.meta.url));
}

/** The platform this machine's services are for. */
const HERE: Platform = process.platform === 'win32' ? 'windows' : 'linux';

/**
 * A path the service will use, absolute in the target platform's terms. A
 * relative one is taken from the current folder when the service is for this
 * machine; for the other system there is no folder to take it from (a Windows
 * folder means nothing to systemd, and the other way round): a USAGE error.
 */
function absolute(p: string, platform: Platform, lang: Lang): string {
  const paths = platform === 'windows' ? path.win32 : path.posix;
  if (paths.isAbsolute(p)) return p;
  if (platform !== HERE) throw new MailerError(ErrorCodes.USAGE, say('relativeForeign', lang, { path: p }), { value: p });
  return path.resolve(p);
}

/**
 * The `--ui` the service's `run` gets: the address normalised (`8025` →
 * `127.0.0.1:8025`; without a value the default). Whether an address off
 * this machine has its token is checked by `run`, which reads the configuration.
 */
function uiAddress(ui: string | true, lang: Lang): string {
  if (ui === true) return DEFAULT_UI_LISTEN;
  const address = parseListen(ui);
  if (address === undefined) throw new MailerError(ErrorCodes.USAGE, say('badUi', lang, { value: ui }), { field: '--ui', value: ui });
  return formatListen(address);
}

/** The arguments shared by both generators, from the command's options. */
function target(options: ServiceOptions, platform: Platform, lang: Lang) {
  if (options.config === undefined && options.dir === undefined && options.envFile === undefined) {
    process.stderr.write(`${say('noTarget', lang)}\n`);
  }
  if (platform !== HERE && (options.node === undefined || options.script === undefined)) {
    process.stderr.write(`${say(platform === 'windows' ? 'foreignPaths' : 'foreignPathsLinux', lang)}\n`);
  }
  return {
    execPath: options.node ?? process.execPath,
    // This installation's own path is absolute on this machine, whatever the target.
    script: options.script === undefined ? defaultScript() : absolute(options.script, platform, lang),
    ...(options.config !== undefined && { configFile: absolute(options.config, platform, lang) }),
    ...(options.dir !== undefined && { dir: absolute(options.dir, platform, lang) }),
    ...(options.attachments !== undefined && { attachments: absolute(options.attachments, platform, lang) }),
    ...(options.errorMail !== undefined && { errorMail: options.errorMail }),
    ...(options.language !== undefined && { language: options.language }),
    ...(options.ui !== undefined && { ui: uiAddress(options.ui, lang) }),
    ...(options.user !== undefined && { user: options.user }),
    ...(options.workingDir !== undefined && { workingDirectory: absolute(options.workingDir, platform, lang) }),
  };
}

function linuxUnit(options: ServiceOptions, lang: Lang): string {
  return systemdUnit({
    ...target(options, 'linux', lang),
    ...(options.envFile !== undefined && { environmentFile: absolute(options.envFile, 'linux', lang) }),
  });
}

async function print(options: ServiceOptions): Promise<void> {
  const lang: Lang = options.language ?? options.fallbackLanguage ?? 'es';
  const platform: Platform = options.platform ?? HERE;
  if (platform === 'linux') {
    const text = linuxUnit(options, lang);
    const name = unitName(options.name);
    if (options.out === undefined) return void process.stdout.write(text);
    await writeOrFail(options.out, () => writeTextFile(options.out!, text));
    process.stdout.write(`${say('written', lang, { file: options.out })}\n${systemctlCommand(name)}\n`);
    return;
  }
  const xml = windowsTaskXml({ ...target(options, 'windows', lang), taskName: taskName(options.name) });
  if (options.out === undefined) {
    process.stdout.write(xml);
    process.stderr.write(`${say('saveHint', lang)}\n`);
    return;
  }
  // The file is written here and read by schtasks here: a path of this machine.
  const out = path.resolve(options.out);
  const command = schtasksCommand(out, options.name, options.user);
  await writeOrFail(options.out, () => writeUtf16File(options.out!, xml));
  const source = eventSourceCommand(say('eventSourceText', lang));
  process.stdout.write(`${say('written', lang, { file: options.out })}\n${say('register', lang)}\n${command}\n${say('eventSource', lang)}\n${source}\n`);
}

async function install(options: ServiceOptions): Promise<void> {
  const lang: Lang = options.language ?? options.fallbackLanguage ?? 'es';
  if ((options.platform ?? HERE) === 'windows') throw new MailerError(ErrorCodes.USAGE, say('windowsInstall', lang));
  const name = unitName(options.name);
  const text = linuxUnit(options, lang);
  const { file, replaced } = await writeOrFail(options.unitDir ?? SYSTEM_UNIT_DIR, () =>
    writeUnitFile(options.unitDir ?? SYSTEM_UNIT_DIR, name, text),
  );
  process.stdout.write(`${say(replaced ? 'replaced' : 'written', lang, { file })}\n${say('enable', lang)}\n${systemctlCommand(name)}\n`);
}

class WriteFailed extends Error {}

async function writeOrFail<T>(where: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isMailerError(err)) throw new WriteFailed(err.message, { cause: err });
    throw new WriteFailed(`${where}: ${String((err as Error)?.message ?? err)}`, { cause: err });
  }
}

/** Runs an action and turns its failure into a message and an exit status. */
function guarded(action: (options: ServiceOptions) => Promise<void>, setExitCode: (code: number) => void) {
  return async (options: ServiceOptions): Promise<void> => {
    const lang: Lang = options.language ?? options.fallbackLanguage ?? 'es';
    try {
      await action(options);
      setExitCode(ExitCode.OK);
    } catch (err) {
      if (err instanceof WriteFailed) {
        const denied = /\((EACCES|EPERM|EROFS)\)/.test(err.message);
        process.stderr.write(`${say('writeFailed', lang, { reason: err.message })}${denied ? ` ${say('needRoot', lang)}` : ''}\n`);
        return setExitCode(ExitCode.FAILED);
      }
      if (isMailerError(err) && err.code === ErrorCodes.USAGE) {
        process.stderr.write(`${say('usage', lang, { reason: err.message })}\n`);
        return setExitCode(ExitCode.USAGE);
      }
      throw err;
    }
  };
}

/**
 * The options of `service print|install`: the common options (./options.ts),
 * which the service's `run` receives as given (`--dir`, `--attachments`,
 * `--error-mail`, `--config`, `--language`), and the service's own.
 */
function addServiceOptions(command: Command, lang: Lang): Command {
  return command
    .addOption(new Option(h('flags.platform', lang), h('opt.platform', lang)).choices(['linux', 'windows']))
    .option(h('flags.config', lang), h('opt.service_config', lang))
    .option(h('flags.dir', lang), h('opt.service_dir', lang))
    .option(h('flags.attachments', lang), h('opt.service_attachments', lang))
    .option(h('flags.error_mail', lang), h('opt.service_error_mail', lang))
    .addOption(languageOption(lang, h('opt.service_language', lang)))
    .option(h('flags.ui', lang), h('opt.service_ui', lang))
    .option(h('flags.name', lang), h('opt.name', lang), 'proscai-mailer')
    .option(h('flags.user', lang), h('opt.user', lang))
    .option(h('flags.node', lang), h('opt.node', lang))
    .option(h('flags.script', lang), h('opt.script', lang))
    .option(h('flags.env_file', lang), h('opt.env_file', lang))
    .option(h('flags.working_dir', lang), h('opt.working_dir', lang));
}

/**
 * Adds `service print` and `service install` to the program. `setExitCode`
 * receives the command's exit status (runCli passes its own; default:
 * `process.exitCode`).
 */
export function registerServiceCommands(
  program: Command,
  setExitCode: (code: number) => void = (code) => {
    process.exitCode = code;
  },
  lang: Lang = 'es',
): void {
  const service = program.command('service').description(h('cmd.service', lang));
  addServiceOptions(service.command('print').description(h('cmd.service_print', lang)), lang)
    .option(h('flags.out', lang), h('opt.out', lang))
    .action((options: ServiceOptions) => guarded(print, setExitCode)({ ...options, fallbackLanguage: lang }));
  addServiceOptions(service.command('install').description(h('cmd.service_install', lang)), lang)
    .option(h('flags.unit_dir', lang), h('opt.unit_dir', lang), SYSTEM_UNIT_DIR)
    .action((options: ServiceOptions) => guarded(install, setExitCode)({ ...options, fallbackLanguage: lang }));
}
