/**
 * The command line (spec section 4): the tree of commands and their options,
 * parsed with commander. Each command lives in its own module (`run` and
 * `once`: ./run.ts); this one only wires them and maps a usage error to its
 * exit status.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-codes.js';
import { cliLanguage, h, localizeProgram } from './help.js';
import { addCommonOptions, addSendingOptions, type CommonOptions } from './options.js';
import { runMailerCommand } from './run.js';
import { registerSendTestCommand } from './send-test.js';
import { registerConfigCommand } from './config-command.js';
import { registerServiceCommands } from './service.js';
import { registerInspectCommands } from './inspect-commands.js';

/** The package's version, from its package.json (beside `src/` and `dist/`). */
export function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/**
 * Parses argv and runs the command; resolves with the process exit status.
 * Help, usage errors and option texts are in the language `cliLanguage`
 * finds before parsing (`--language`, else the `--config` file's, else
 * Spanish).
 */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.OK;
  const lang = cliLanguage(argv.slice(2));
  const program = localizeProgram(new Command('proscai-mailer'), lang)
    .description(h('cmd.program', lang))
    .version(packageVersion(), '-V, --version', h('help.version', lang))
    .exitOverride();
  addSendingOptions(addCommonOptions(program.command('run').description(h('cmd.run', lang)), lang), lang, { poll: true })
    .option(h('flags.ui', lang), h('opt.ui', lang))
    .action(
    async (options: CommonOptions) => {
      exitCode = await runMailerCommand('run', options);
    },
  );
  addSendingOptions(addCommonOptions(program.command('once').description(h('cmd.once', lang)), lang), lang, { poll: false }).action(
    async (options: CommonOptions) => {
      exitCode = await runMailerCommand('once', options);
    },
  );
  registerInspectCommands(program, (code) => (exitCode = code), lang);
  registerSendTestCommand(program, (code) => (exitCode = code), undefined, lang);
  registerServiceCommands(program, (code) => (exitCode = code), lang);
  registerConfigCommand(program, (code) => (exitCode = code), lang);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    throw error;
  }
  return exitCode;
}
