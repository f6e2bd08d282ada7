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
  // The folders first: they are what an operator checks before anything else.
  const { dir, attachments, workDir, ...rest } = config;
  const masked = maskConfig({ dir, attachments, workDir, ...rest });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(masked, null, 2)}\n`);
  } else {
    process.stdout.write(`${[HEADER[config.language], ...formatConfig(masked)].join('\n')}\n`);
  }
  return ExitCode.OK;
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
