/**
 * The operator's commands (`status`, `trace`, `check`, `retry`): how a person
 * answers "was this order sent, and if not, why?" in one command. Each takes
 * the options it needs (`--dir`, `--config`, `--language`; `check` also
 * `--attachments`), exits 2 on a configuration error like `run`, 1 when the
 * answer is "nothing found" / "invalid" / "could not", 0 otherwise.
 */
import { Command, Option } from 'commander';
import type { Config } from '../config/types.js';
import { ErrorCodes, isMailerError } from '../errors.js';
import { describeError } from '../i18n.js';
import { loadConfig } from '../io/config-file.js';
import { ExitCode } from './exit-codes.js';
import { configOrExit } from './program.js';
import { checkOrder, formatCheck, orderDirOf } from './check.js';
import { formatRetry, matchedAnything, retryOrders } from './retry.js';
import { formatStatus, gatherStatus } from './status.js';
import { formatTrace, gatherTrace } from './trace.js';

interface InspectOptions {
  dir?: string;
  config?: string;
  attachments?: string;
  language?: string;
  json?: boolean;
  failed?: boolean;
}

function addOptions(command: Command, extra: { attachments?: boolean; json?: boolean } = {}): Command {
  command
    .option('--dir <folder>', 'order folder (MAILER_DIR)')
    .option('--config <file>', 'JSON configuration file')
    .addOption(new Option('--language <lang>', 'language of the output').choices(['es', 'en']));
  if (extra.attachments) command.option('--attachments <folder>', 'attachment folder (MAILER_ATTACHMENT_PATH; default: the order folder)');
  if (extra.json) command.option('--json', 'print one JSON document for scripts');
  return command;
}

/** Loads the configuration, runs `body`, and maps a MailerError (folder gone, log unreadable) to a message and exit 1. */
async function withConfig(options: InspectOptions, body: (config: Config) => Promise<number>): Promise<number> {
  const config = await configOrExit(options);
  if (typeof config === 'number') return config;
  try {
    return await body(config);
  } catch (error) {
    if (!isMailerError(error)) throw error;
    process.stderr.write(`proscai-mailer: ${describeError(error, config.language)} (${error.message})\n`);
    return ExitCode.FAILED;
  }
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/**
 * `check` on a file anywhere: when neither --dir, MAILER_DIR nor the
 * configuration file names an order folder, the file's own folder is the
 * order folder (the one above it for a file in `errores/` or `enviados/`).
 */
async function checkOptions(file: string, options: InspectOptions): Promise<InspectOptions> {
  if (options.dir !== undefined) return options;
  try {
    const flags = { ...(options.config !== undefined && { config: options.config }), ...(options.language !== undefined && { language: options.language }) };
    await loadConfig({ flags, env: process.env });
    return options;
  } catch (error) {
    const noDir = isMailerError(error) && error.code === ErrorCodes.CONFIG_INVALID && error.field === 'dir';
    return noDir ? { ...options, dir: orderDirOf(file) } : options; // other errors: configOrExit reports them
  }
}

/**
 * Adds `status`, `trace`, `check` and `retry` to the program. `setExitCode`
 * receives each command's exit status (runCli's own variable); without it,
 * process.exitCode is set.
 */
export function registerInspectCommands(
  program: Command,
  setExitCode: (code: number) => void = (code) => {
    process.exitCode = code;
  },
): void {
  addOptions(program.command('status').description('orders waiting, in progress, deferred, failed and sent, per company'), { json: true }).action(
    async (options: InspectOptions) => {
      setExitCode(
        await withConfig(options, async (config) => {
          const report = await gatherStatus(config);
          process.stdout.write(options.json ? json(report) : formatStatus(report, config.language));
          return report.folderProblem === undefined ? ExitCode.OK : ExitCode.FAILED;
        }),
      );
    },
  );

  addOptions(program.command('trace').argument('<id>', 'order id or file name').description('the timeline of one order from the log'), {
    json: true,
  }).action(async (id: string, options: InspectOptions) => {
    setExitCode(
      await withConfig(options, async (config) => {
        const result = await gatherTrace(config, id);
        if (result.entries.length === 0) {
          process.stderr.write(formatTrace(result, config.language));
          return ExitCode.FAILED;
        }
        process.stdout.write(options.json ? json(result.entries) : formatTrace(result, config.language));
        return ExitCode.OK;
      }),
    );
  });

  addOptions(program.command('check').argument('<file>', 'order file').description('validate an order and show what would be sent, without sending'), {
    attachments: true,
    json: true,
  }).action(async (file: string, options: InspectOptions) => {
    setExitCode(
      await withConfig(await checkOptions(file, options), async (config) => {
        const report = await checkOrder(config, file);
        const text = options.json ? json(report) : formatCheck(report, config.language);
        process.stdout.write(text);
        return report.ok ? ExitCode.OK : ExitCode.FAILED;
      }),
    );
  });

  addOptions(program.command('retry').argument('[id]', 'order id or file name').description('put a failed (or deferred) order back in the queue'))
    .option('--failed', 'every order in errores/')
    .action(async (id: string | undefined, options: InspectOptions) => {
      if ((id === undefined) === (options.failed !== true)) {
        const lang = options.language === 'en' ? 'en' : 'es';
        process.stderr.write(lang === 'en' ? 'Give an order id, or --failed (not both).\n' : 'Indique el id de una orden, o --failed (no ambos).\n');
        setExitCode(ExitCode.USAGE);
        return;
      }
      setExitCode(
        await withConfig(options, async (config) => {
          const target = options.failed ? { failed: true } : { id: id! };
          const report = await retryOrders(config, target);
          const ok = matchedAnything(report) && report.errors.length === 0;
          (matchedAnything(report) ? process.stdout : process.stderr).write(formatRetry(report, target, config.language));
          return ok ? ExitCode.OK : ExitCode.FAILED;
        }),
      );
    });
}
