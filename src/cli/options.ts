/**
 * The options shared by the commands that read the order folder or the
 * configuration (`run`, `once`, `status`, `trace`, `check`, `retry`,
 * `send-test`, `config`; `service print|install` pass them on to the service),
 * so that one wrapper script with the same options serves every command; and
 * their mapping onto `buildConfig`'s flags. Texts in the operator's language
 * (./help-texts.ts).
 */
import { Option, type Command } from 'commander';
import type { Flags } from '../config/load.js';
import type { Config, Language } from '../config/types.js';
import { isMailerError, type MailerError } from '../errors.js';
import { t } from '../text/messages.js';
import { loadConfig } from '../io/host/config-file.js';
import { configReason } from '../text/config-errors.js';
import { ExitCode } from './exit-codes.js';
import { cliLanguage, h } from './help.js';

export interface CommonOptions {
  dir?: string;
  attachments?: string;
  errorMail?: string;
  config?: string;
  poll?: string;
  retry?: string;
  verbose?: boolean;
  language?: string;
  /** `run --ui [HOST:]PORT`: `true` without a value. */
  ui?: string | true;
}

const FLAG_KEYS = ['dir', 'attachments', 'errorMail', 'config', 'poll', 'retry', 'verbose', 'language', 'ui'] as const;

/** The flags given on the command line (unset options are left out, so lower layers apply). */
export function flagsOf(options: CommonOptions): Partial<Flags> {
  const flags: Partial<Flags> = {};
  for (const key of FLAG_KEYS) if (options[key] !== undefined) Object.assign(flags, { [key]: options[key] });
  return flags;
}

/** `--language es|en`, described for `lang`. */
export function languageOption(lang: Language, description = h('opt.language', lang)): Option {
  return new Option(h('flags.language', lang), description).choices(['es', 'en']);
}

/** Declares the common options: `--dir`, `--attachments`, `--error-mail`, `--config`, `--language`. */
export function addCommonOptions(command: Command, lang: Language): Command {
  return command
    .option(h('flags.dir', lang), h('opt.dir', lang))
    .option(h('flags.attachments', lang), h('opt.attachments', lang))
    .option(h('flags.error_mail', lang), h('opt.error_mail', lang))
    .option(h('flags.config', lang), h('opt.config', lang))
    .addOption(languageOption(lang));
}

/**
 * The options of the commands that send (`run`, `once`) and of `config`, which
 * shows what they would use: `--retry` and `--verbose`, and `--poll` where
 * there is a watch to poll for (`run`, `config`; `once` makes one pass).
 */
export function addSendingOptions(command: Command, lang: Language, { poll }: { poll: boolean }): Command {
  if (poll) command.option(h('flags.poll', lang), h('opt.poll', lang));
  return command.option(h('flags.retry', lang), h('opt.retry', lang)).option('--verbose', h('opt.verbose', lang));
}

/** The language for messages printed before the configuration is known: `--language`, else the one the command line was read in. */
function earlyLanguage(options: CommonOptions): Language {
  if (options.language === 'en' || options.language === 'es') return options.language;
  return cliLanguage(process.argv.slice(2));
}

/** Builds the configuration or prints why it is invalid. */
export async function configOrExit(options: CommonOptions): Promise<Config | number> {
  try {
    return await loadConfig({ flags: flagsOf(options), env: process.env });
  } catch (error) {
    if (isMailerError(error)) {
      const lang = earlyLanguage(options);
      process.stderr.write(`${t('config.invalid', lang, { reason: configReason((error as MailerError).message, lang) })}\n`);
      return ExitCode.USAGE;
    }
    throw error;
  }
}
