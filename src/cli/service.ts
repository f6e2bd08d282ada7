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
import { SYSTEM_UNIT_DIR, writeTextFile, writeUnitFile, writeUtf16File } from '../io/service-files.js';
import { systemctlCommand, systemdUnit, unitName } from '../service/systemd.js';
import { schtasksCommand, taskName, windowsTaskXml } from '../service/windows-task.js';
import { ExitCode } from './exit-codes.js';

type Platform = 'linux' | 'windows';
type Lang = 'es' | 'en';

interface ServiceOptions {
  platform?: Platform;
  config?: string;
  dir?: string;
  name: string;
  user?: string;
  node?: string;
  script?: string;
  envFile?: string;
  workingDir?: string;
  out?: string;
  unitDir?: string;
  language?: Lang;
}

const TEXT = {
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
  const lang: Lang = options.language ?? 'es';
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
  process.stdout.write(`${say('written', lang, { file: options.out })}\n${say('register', lang)}\n${command}\n`);
}

async function install(options: ServiceOptions): Promise<void> {
  const lang: Lang = options.language ?? 'es';
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
    const lang: Lang = options.language ?? 'es';
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

function addServiceOptions(command: Command): Command {
  return command
    .addOption(new Option('--platform <platform>', 'linux (systemd unit) or windows (Task Scheduler XML); default: this machine').choices(['linux', 'windows']))
    .option('--config <file>', 'configuration file the service runs with')
    .option('--dir <folder>', 'order folder the service runs on (when the configuration file does not name it)')
    .option('--name <name>', 'name of the systemd service or of the Windows task', 'proscai-mailer')
    .option('--user <user>', 'account the service runs as (Linux: User=; Windows: default SYSTEM)')
    .option('--node <path>', 'node binary the service runs (default: the one running this command)')
    .option('--script <path>', "the program's dist/main.js (default: this installation's)")
    .option('--env-file <file>', 'Linux: EnvironmentFile= with the variables named by passwordEnv')
    .option('--working-dir <folder>', "folder the service starts in (Linux: WorkingDirectory=; Windows: the task's Start in, default the program's folder)")
    .addOption(new Option('--language <lang>', 'language of messages').choices(['es', 'en']));
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
): void {
  const service = program.command('service').description('run the mailer at boot: systemd unit (Linux) or scheduled task (Windows)');
  addServiceOptions(service.command('print').description('print the systemd unit or the Windows task XML (--out FILE writes it)'))
    .option('--out <file>', 'write to FILE instead of the terminal (Windows: UTF-16, as schtasks reads it)')
    .action(guarded(print, setExitCode));
  addServiceOptions(service.command('install').description('Linux: write the unit to /etc/systemd/system and print the systemctl line to run'))
    .option('--unit-dir <folder>', 'folder to write the unit to', SYSTEM_UNIT_DIR)
    .action(guarded(install, setExitCode));
}
