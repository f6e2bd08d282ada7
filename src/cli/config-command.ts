/**
 * `proscai-mailer config`: prints the configuration `run` would use, after
 * merging defaults, the file, the environment and the flags, with every secret
 * masked. It is how an operator checks a configuration before starting (or
 * installing) the service.
 *
 * Guarantees: no password reaches the output (values under `password`,
 * `passwordEnv` and any other secret-looking key print as `********`, through
 * `maskConfig`); an invalid configuration prints the same CONFIG_INVALID
 * message as `run`, naming the key, and exits 2.
 */
import type { Command } from 'commander';
import { maskConfig } from '../config/load.js';
import { PROCESS_WIDE_KEYS } from '../config/schema.js';
import { foldersOf } from '../config/folders.js';
import type { Config, Language } from '../config/types.js';
import { ErrorCodes, isMailerError } from '../errors.js';
import { t } from '../text/messages.js';
import { loadConfig } from '../io/host/config-file.js';
import { ExitCode } from './exit-codes.js';
import { configReason } from '../text/config-errors.js';
import { h } from './help.js';
import { addCommonOptions, addSendingOptions, flagsOf, type CommonOptions } from './options.js';

/** The options `run` and `once` take that shape the configuration, plus --json. */
interface ConfigOptions extends CommonOptions {
  language?: Language;
  json?: boolean;
}

/**
 * `key = value` lines, one per leaf, with dotted keys
 * (`companies.ACME.smtp.host = smtp.acme.mx`); lists and empty objects as JSON.
 */
export function formatConfig(value: unknown, prefix = ''): string[] {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([key, child]) => formatConfig(child, prefix === '' ? key : `${prefix}.${key}`));
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return [`${prefix} = ${text}`];
}

const HEADER = {
  es: '# Configuración efectiva (valores predeterminados < archivo < variables de entorno < opciones); las contraseñas se muestran como ********',
  en: '# Effective configuration (defaults < file < environment variables < options); passwords are shown as ********',
} as const;

/** Loads and prints; returns the exit status. */
export async function printConfig(options: ConfigOptions, env: Record<string, string | undefined> = process.env): Promise<number> {
  let config: Config;
  try {
    config = await loadConfig({ flags: flagsOf(options), env });
  } catch (error) {
    if (isMailerError(error) && error.code === ErrorCodes.CONFIG_INVALID) {
      const lang: Language = options.language === 'en' ? 'en' : 'es';
      process.stderr.write(`${t('config.invalid', lang, { reason: configReason(error.message, lang) })}\n`);
      return ExitCode.USAGE;
    }
    throw error;
  }
  const masked = maskConfig(shownConfig(config));
  if (options.json) {
    process.stdout.write(`${JSON.stringify(masked, null, 2)}\n`);
  } else {
    process.stdout.write(`${[HEADER[config.language], ...dkimLines(config), ...formatConfig(textShape(masked))].join('\n')}\n`);
  }
  return ExitCode.OK;
}

/**
 * What `config` shows, folders first (what an operator checks before anything
 * else). With a `folders` list: the process-wide settings, then each folder's
 * complete configuration (config/folders.ts), inherited values included.
 */
function shownConfig(config: Config): Record<string, unknown> {
  const ordered = ({ dir, attachments, workDir, folders: _folders, ...rest }: Config): Record<string, unknown> => ({ dir, attachments, workDir, ...rest });
  if (config.folders === undefined) return ordered(config);
  const wide = Object.fromEntries(PROCESS_WIDE_KEYS.filter((key) => key in config && key !== 'folders').map((key) => [key, config[key as keyof Config]]));
  return { ...wide, language: config.language, verbose: config.verbose, folders: config.folders.map(ordered) };
}

/** Which companies' mail is signed, and with which `d=` and `s=` (never the key): one line per signing company, one for the rest. */
function dkimLines(config: Config): string[] {
  const lang = config.language;
  const signed = new Map<string, string>();
  const unsigned = new Set<string>();
  for (const folder of foldersOf(config)) {
    for (const [name, profile] of Object.entries(folder.companies)) {
      const dkim = profile.dkim;
      if (dkim === undefined) unsigned.add(name);
      else signed.set(`${name} ${dkim.domain} ${dkim.selector}`, t('config.dkim_signed', lang, { company: name, domain: dkim.domain, selector: dkim.selector }));
    }
  }
  return [...signed.values(), ...(unsigned.size > 0 ? [t('config.dkim_none', lang, { companies: [...unsigned].join(', ') })] : [])];
}

/** For the `key = value` text: the folders as `folders[0].dir = …` lines rather than one JSON list. */
function textShape(shown: unknown): unknown {
  const record = shown as Record<string, unknown>;
  if (!Array.isArray(record.folders)) return shown;
  const { folders, ...rest } = record;
  return { ...rest, ...Object.fromEntries(folders.map((folder: unknown, i) => [`folders[${i}]`, folder])) };
}

/**
 * Adds `config` to the program. `setExitCode` receives the exit status
 * (runCli passes its own; default: `process.exitCode`).
 */
export function registerConfigCommand(
  program: Command,
  setExitCode: (code: number) => void = (code) => {
    process.exitCode = code;
  },
  lang: Language = 'es',
): void {
  addSendingOptions(addCommonOptions(program.command('config').description(h('cmd.config', lang)), lang), lang, { poll: true })
    .option('--json', h('opt.config_json', lang))
    .action(async (options: ConfigOptions) => {
      setExitCode(await printConfig(options));
    });
}
