/**
 * `proscai-mailer send-test --to ADDRESS [--company NAME]`: sends one test
 * message with the configured settings and says, in the operator's language,
 * whether the server accepted it and, if not, which setting to look at.
 *
 * Exit status: 0 accepted, 1 not accepted (the explanation says why), 2 usage
 * or configuration error (nothing was sent). No password is ever printed.
 */
import { Command, Option } from 'commander';

import type { Flags } from '../config/load.js';
import type { Config, Language } from '../config/types.js';
import { isMailerError } from '../errors.js';
import { t } from '../i18n.js';
import { loadConfig } from '../io/config-file.js';
import { sendTest } from '../io/send-test.js';
import { ExitCode } from './exit-codes.js';

export interface SendTestCliOptions {
  to: string;
  company?: string;
  dir?: string;
  config?: string;
  language?: string;
}

export interface SendTestIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
}

const processIo: SendTestIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };

/** Loads the configuration, sends, prints the outcome; resolves with the exit status. */
export async function runSendTest(options: SendTestCliOptions, io: SendTestIo = processIo): Promise<number> {
  const early: Language = options.language === 'en' ? 'en' : 'es';
  const flags: Partial<Flags> = {};
  if (options.dir !== undefined) flags.dir = options.dir;
  if (options.config !== undefined) flags.config = options.config;
  if (options.language !== undefined) flags.language = options.language;
  let config: Config;
  try {
    config = await loadConfig({ flags, env: io.env });
  } catch (error) {
    if (!isMailerError(error)) throw error;
    io.stderr.write(`${t('config.invalid', early, { reason: error.message })}\n`);
    return ExitCode.USAGE;
  }
  const result = await sendTest({ config, to: options.to, ...(options.company !== undefined && { company: options.company }) });
  if (result.ok) {
    io.stdout.write(`${result.message}\n`);
    return ExitCode.OK;
  }
  io.stderr.write(`${result.message}\n`);
  return result.code === 'CONFIG_INVALID' || result.code === 'USAGE' ? ExitCode.USAGE : ExitCode.FAILED;
}

/**
 * Adds `send-test` to the program. `setExitCode` receives the exit status
 * (runCli keeps its own; default: `process.exitCode`).
 */
export function registerSendTestCommand(
  program: Command,
  setExitCode: (code: number) => void = (code) => {
    process.exitCode = code;
  },
  io: SendTestIo = processIo,
): Command {
  return program
    .command('send-test')
    .description('send one test message with the configured SMTP settings and explain the outcome')
    .requiredOption('--to <address>', 'who receives the test message')
    .option('--company <name>', "use this company's profile instead of the top-level smtp/from")
    .option('--dir <folder>', 'order folder (MAILER_DIR)')
    .option('--config <file>', 'JSON configuration file')
    .addOption(new Option('--language <lang>', 'language of the messages').choices(['es', 'en']))
    .action(async (options: SendTestCliOptions) => {
      setExitCode(await runSendTest(options, io));
    });
}
