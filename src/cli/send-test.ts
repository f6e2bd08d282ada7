/**
 * `proscai-mailer send-test --to ADDRESS [--company NAME]`: sends one test
 * message with the configured settings and says, in the operator's language,
 * whether the server accepted it and, if not, which setting to look at.
 *
 * Exit status: 0 accepted, 1 not accepted (the explanation says why), 2 usage
 * or configuration error (nothing was sent). No password is ever printed.
 */
import type { Command } from 'commander';

import type { Flags } from '../config/load.js';
import type { Config, Language } from '../config/types.js';
import { isMailerError } from '../errors.js';
import { t } from '../text/messages.js';
import { loadConfig } from '../io/host/config-file.js';
import { sendTest } from '../io/smtp/send-test.js';
import { ExitCode } from './exit-codes.js';
import { configReason } from '../text/config-errors.js';
import { h } from './help.js';
import { addCommonOptions, flagsOf } from './options.js';
import { foldersOf } from '../config/folders.js';
import { findProfile } from '../order/resolve.js';

export interface SendTestCliOptions {
  to: string;
  company?: string;
  dir?: string;
  attachments?: string;
  errorMail?: string;
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
  const flags: Partial<Flags> = flagsOf(options);
  let config: Config;
  try {
    config = await loadConfig({ flags, env: io.env });
  } catch (error) {
    if (!isMailerError(error)) throw error;
    io.stderr.write(`${t('config.invalid', early, { reason: configReason(error.message, early) })}\n`);
    return ExitCode.USAGE;
  }
  const company = options.company;
  // A company defined in one entry of `folders` only: its folder's configuration knows it.
  const where = company === undefined ? config : (foldersOf(config).find((folder) => findProfile(folder, company) !== undefined) ?? config);
  const result = await sendTest({ config: where, to: options.to, ...(company !== undefined && { company }) });
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
  lang: Language = 'es',
): Command {
  const command = program
    .command('send-test')
    .description(h('cmd.send_test', lang))
    .requiredOption(h('flags.to', lang), h('opt.to', lang))
    .option(h('flags.company', lang), h('opt.company', lang));
  return addCommonOptions(command, lang)
    .action(async (options: SendTestCliOptions) => {
      setExitCode(await runSendTest(options, io));
    });
}
