/**
 * The operator's commands (`status`, `trace`, `check`, `retry`): how a person
 * answers "was this order sent, and if not, why?" in one command. Each takes
 * the common options (`--dir`, `--attachments`, `--error-mail`, `--config`,
 * `--language`: ./options.ts), exits 2 on a configuration error like `run`, 1
 * when the answer is "nothing found" / "invalid" / "could not", 0 otherwise.
 * With a `folders` list each covers every folder (./every-folder.ts), and
 * `--dir` narrows it to one.
 */
import type { Command } from 'commander';
import type { Config, Language } from '../config/types.js';
import { ErrorCodes, isMailerError } from '../errors.js';
import { describeError } from '../text/errors.js';
import { loadConfig } from '../io/host/config-file.js';
import { ExitCode } from './exit-codes.js';
import { configOrExit } from './options.js';
import { formatCheck, formatNotFound, orderDirOf } from './check.js';
import { foldersOf } from '../config/folders.js';
import { checkInEveryFolder, formatRetryByFolder, gatherEveryStatus, gatherEveryTrace, reportsOf, retryEveryFolder, traceJson } from './every-folder.js';
import { h } from './help.js';
import { addCommonOptions, type CommonOptions } from './options.js';
import { matchedAnything } from './retry.js';
import { formatStatus, statusExitCode } from './status.js';
import { formatTrace } from './trace.js';
import { formatAcuse, lookUpAcuse } from './acuse.js';

interface InspectOptions extends CommonOptions {
  json?: boolean;
  failed?: boolean;
}

function addOptions(command: Command, lang: Language, extra: { json?: boolean } = {}): Command {
  addCommonOptions(command, lang);
  if (extra.json) command.option('--json', h('opt.json', lang));
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
  lang: Language = 'es',
): void {
  addOptions(program.command('status').description(h('cmd.status', lang)), lang, { json: true }).action(
    async (options: InspectOptions) => {
      setExitCode(
        await withConfig(options, async (config) => {
          const report = await gatherEveryStatus(config);
          process.stdout.write(options.json ? json(report) : reportsOf(report).map((r) => formatStatus(r, config.language)).join('\n'));
          return statusExitCode(report);
        }),
      );
    },
  );

  addOptions(program.command('trace').argument(`<${h('arg.id_name', lang)}>`, h('arg.id', lang)).description(h('cmd.trace', lang)), lang, {
    json: true,
  }).action(async (id: string, options: InspectOptions) => {
    setExitCode(
      await withConfig(options, async (config) => {
        const results = await gatherEveryTrace(config, id);
        const several = foldersOf(config).length > 1;
        if (results[0]!.result.entries.length === 0) {
          process.stderr.write(formatTrace(results[0]!.result, config.language));
          return ExitCode.FAILED;
        }
        // With several folders, each folder's timeline under its folder's line.
        const text = results.map(({ dir, result }) => `${several ? `${dir}\n` : ''}${formatTrace(result, config.language)}`).join('\n');
        process.stdout.write(options.json ? json(traceJson(results, several)) : text);
        return ExitCode.OK;
      }),
    );
  });

  addOptions(program.command('acuse').argument(`<${h('arg.id_name', lang)}>`, h('arg.id', lang)).description(h('cmd.acuse', lang)), lang, {
    json: true,
  }).action(async (id: string, options: InspectOptions) => {
    setExitCode(
      await withConfig(options, async (config) => {
        const shown = formatAcuse(await lookUpAcuse(config, id), options.json === true, config.language);
        if (shown.stdout !== undefined) process.stdout.write(shown.stdout);
        if (shown.stderr !== undefined) process.stderr.write(shown.stderr);
        return shown.found ? ExitCode.OK : ExitCode.FAILED;
      }),
    );
  });

  addOptions(program.command('check').argument(`<${h('arg.file_name', lang)}>`, h('arg.file', lang)).description(h('cmd.check', lang)), lang, {
    json: true,
  }).action(async (file: string, options: InspectOptions) => {
    setExitCode(
      await withConfig(await checkOptions(file, options), async (config) => {
        const report = await checkInEveryFolder(config, file);
        if ('notFound' in report) {
          if (options.json) process.stdout.write(json(report));
          else process.stderr.write(formatNotFound(report, config.language));
          return ExitCode.FAILED;
        }
        const text = options.json ? json(report) : formatCheck(report, config.language);
        process.stdout.write(text);
        return report.ok ? ExitCode.OK : ExitCode.FAILED;
      }),
    );
  });

  addOptions(program.command('retry').argument(`[${h('arg.id_name', lang)}]`, h('arg.id', lang)).description(h('cmd.retry', lang)), lang)
    .option('--failed', h('opt.failed', lang))
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
          const report = await retryEveryFolder(config, target);
          const ok = matchedAnything(report) && report.errors.length === 0;
          (matchedAnything(report) ? process.stdout : process.stderr).write(formatRetryByFolder(report, target, config.language));
          return ok ? ExitCode.OK : ExitCode.FAILED;
        }),
      );
    });
}
