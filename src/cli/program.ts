/**
 * The command line (spec section 4): `run` and `once` with their options.
 * Every failure before the supervisor starts is reported in the operator's
 * language and mapped to the documented exit status.
 */
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import type { Config, Language } from '../config/types.js';
import { isMailerError, type MailerError } from '../errors.js';
import { t } from '../i18n.js';
import { loadConfig } from '../io/config-file.js';
import { acquireInstanceLock } from '../io/lock.js';
import { createLogger, registerSecret } from '../io/log.js';
import { createMailer } from '../main.js';
import type { SupervisorMode } from '../machines/supervisor.js';
import { ExitCode, onceExitCode } from './exit-codes.js';
import { addCommonOptions, flagsOf, type CommonOptions } from './options.js';
import { registerSendTestCommand } from './send-test.js';
import { registerConfigCommand } from './config-command.js';
import { registerServiceCommands } from './service.js';
import { registerInspectCommands } from './inspect-commands.js';


/** The language for messages printed before the configuration is known. */
function earlyLanguage(options: CommonOptions): Language {
  return options.language === 'en' ? 'en' : 'es';
}

/** Builds the configuration or prints why it is invalid. */
export async function configOrExit(options: CommonOptions): Promise<Config | number> {
  try {
    return await loadConfig({ flags: flagsOf(options), env: process.env });
  } catch (error) {
    if (isMailerError(error)) {
      process.stderr.write(`${t('config.invalid', earlyLanguage(options), { reason: (error as MailerError).message })}\n`);
      return ExitCode.USAGE;
    }
    throw error;
  }
}

function secretsOf(config: Config): string[] {
  const secrets: string[] = [];
  if (config.smtp.password) secrets.push(config.smtp.password);
  for (const profile of Object.values(config.companies)) if (profile.smtp?.password) secrets.push(profile.smtp.password);
  return secrets;
}

/**
 * The signals that ask `run` and `once` to stop cleanly (in-flight sends
 * finish, the lock is released, exit 0): SIGTERM (systemd, `kill`) and SIGINT
 * (Ctrl+C) everywhere, and on Windows SIGBREAK (Ctrl+Break in a console).
 * Windows cannot deliver any of them from another process: Task Scheduler's
 * End, its time limit and `taskkill /F` terminate the mailer, and the next
 * start resumes what it held (docs/operations.md).
 */
export function stopSignals(platform: NodeJS.Platform = process.platform): NodeJS.Signals[] {
  return platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGBREAK'] : ['SIGINT', 'SIGTERM'];
}

/** `run` and `once`: lock, log, start the supervisor, wait for it, map its result to an exit status. */
export async function runMailerCommand(mode: SupervisorMode, options: CommonOptions): Promise<number> {
  const config = await configOrExit(options);
  if (typeof config === 'number') return config;
  const lang = config.language;
  const lock = await acquireInstanceLock({ workDir: config.workDir, ...(config.hostId !== null && { hostId: config.hostId }) });
  if ('running' in lock) {
    process.stderr.write(`${t('instance.running', lang, { ...lock.running, dir: config.dir })}\n`);
    return ExitCode.RUNNING;
  }
  for (const secret of secretsOf(config)) registerSecret(secret);
  const log = createLogger({
    file: path.join(config.logDir ?? path.join(config.workDir, 'logs'), 'mailer.log'),
    level: 'debug',
    maxBytes: config.logMaxBytes,
    keepDays: config.logKeepDays,
    pretty: true,
    verbose: config.verbose,
  });
  log.logger.info({ event: 'supervisor.started', mode, dir: config.dir }, t('run.started', lang, { dir: config.dir, poll: config.poll }));
  const mailer = createMailer({
    config,
    mode,
    logger: log.logger,
    acquireLock: async () => ({ ok: true, handle: lock }),
    registerSecret,
  });
  const onSignal = (signal: NodeJS.Signals) => {
    log.logger.info({ event: 'supervisor.stopping', signal }, t('run.stopping', lang, {}));
    mailer.stop();
  };
  const signals = stopSignals();
  for (const signal of signals) process.on(signal, onSignal);
  try {
    const output = await mailer.done;
    log.logger.info({ event: 'supervisor.stopped', counts: output.counts }, t('once.summary', lang, { ...output.counts }));
    if (output.lockError) return ExitCode.RUNNING;
    return mode === 'once' ? onceExitCode(output.counts) : ExitCode.OK;
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    await log.close();
  }
}

/** Parses argv and runs the command; resolves with the process exit status. */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.OK;
  const program = new Command('proscai-mailer')
    .description('Sends the ERP\'s send orders (_CFD_MAIL_REQ_<id>.XML) by SMTP.')
    .exitOverride()
    .showHelpAfterError();
  addCommonOptions(program.command('run').description('watch the order folder and send orders as they appear')).action(
    async (options: CommonOptions) => {
      exitCode = await runMailerCommand('run', options);
    },
  );
  addCommonOptions(program.command('once').description('one pass over the orders present now, then exit')).action(
    async (options: CommonOptions) => {
      exitCode = await runMailerCommand('once', options);
    },
  );
  registerInspectCommands(program, (code) => (exitCode = code));
  registerSendTestCommand(program, (code) => (exitCode = code));
  registerServiceCommands(program, (code) => (exitCode = code));
  registerConfigCommand(program, (code) => (exitCode = code));
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
