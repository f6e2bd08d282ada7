/**
 * Per-test resources: things a test starts (SMTP sinks, pools) are closed
 * after it, last started first, and a helper to take the MailerError a
 * promise must reject with.
 */
import { afterEach, expect } from 'vitest';

import { MailerError } from '../../src/errors.js';
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

/** Awaits a promise expected to reject with a MailerError and returns it (the test fails otherwise). */
export async function mailerFailure(promise: Promise<unknown>): Promise<MailerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MailerError);
  return err as MailerError;
}
