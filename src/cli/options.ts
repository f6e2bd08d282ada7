/**
 * The options shared by the commands that build a configuration (`run`,
 * `once`, `config`, …), and their mapping onto `buildConfig`'s flags.
 */
import { Option, type Command } from 'commander';
import type { Flags } from '../config/load.js';

export interface CommonOptions {
  dir?: string;
  attachments?: string;
  errorMail?: string;
  config?: string;
  poll?: string;
  retry?: string;
  verbose?: boolean;
  language?: string;
}

const FLAG_KEYS = ['dir', 'attachments', 'errorMail', 'config', 'poll', 'retry', 'verbose', 'language'] as const;

/** The flags given on the command line (unset options are left out, so lower layers apply). */
export function flagsOf(options: CommonOptions): Partial<Flags> {
  const flags: Partial<Flags> = {};
  for (const key of FLAG_KEYS) if (options[key] !== undefined) Object.assign(flags, { [key]: options[key] });
  return flags;
}

/** Declares the common options on a command (the spec's section 4 options plus --verbose and --language). */
export function addCommonOptions(command: Command): Command {
  return command
    .option('--dir <folder>', 'order folder (MAILER_DIR)')
    .option('--attachments <folder>', 'attachment folder (MAILER_ATTACHMENT_PATH; default: the order folder)')
    .option('--error-mail <address>', 'address told of every failure (CFD_MAIL_ERR_MAIL)')
    .option('--config <file>', 'JSON configuration file')
    .option('--poll <seconds>', 'seconds between safety-net rescans of the order folder (default 300)')
    .option('--retry <seconds,...>', 'seconds before each further try of a temporarily failed order')
    .option('--verbose', 'print every state transition of every order')
    .addOption(new Option('--language <lang>', 'language of messages and notes').choices(['es', 'en']));
}
