/**
 * Per-test resources: things a test starts (SMTP servers, pools, the CLI as
 * a child process) are closed after it, last started first, and a helper to
 * take the MailerError a promise must reject with.
 */
import { afterEach, expect } from 'vitest';

import { MailerError } from '../../src/errors.js';
import { startCli, type RunningCli } from './cli.js';
import { startScriptedSmtp, type ScriptedSmtp, type ScriptedSmtpOptions } from './scripted-smtp.js';
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from './smtp-sink.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];

// Registered when a test file imports this module (each file gets its own
// copy): a hook registered from inside a running test would never run.
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Runs `fn` after the current test, last registered first. */
export function afterThisTest(fn: () => Promise<unknown> | unknown): void {
  cleanups.push(fn);
}

/** A local SMTP server for this test only. */
export async function scopedSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(options);
  afterThisTest(() => s.close());
  return s;
}

/** A scripted SMTP server (helpers/scripted-smtp.ts) for this test only. */
export async function scopedScriptedSmtp(options: ScriptedSmtpOptions = {}): Promise<ScriptedSmtp> {
  const s = await startScriptedSmtp(options);
  afterThisTest(() => s.close());
  return s;
}

/** Starts `proscai-mailer <args>` as a child process; killed with SIGKILL after the test if still alive. */
export function scopedCli(args: string[], env: Record<string, string | undefined> = {}, nodeArgs: readonly string[] = []): RunningCli {
  const cli = startCli(args, env, undefined, nodeArgs);
  afterThisTest(async () => {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGKILL');
      await cli.exited;
    }
  });
  return cli;
}

/** Awaits a promise expected to reject with a MailerError and returns it (the test fails otherwise). */
export async function mailerFailure(promise: Promise<unknown>): Promise<MailerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MailerError);
  return err as MailerError;
}
