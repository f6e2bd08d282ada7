/**
 * The configuration error a build throws: the config tests assert on its
 * sentence, so a build that throws nothing (or something else) fails them.
 */
import { expect } from 'vitest';
import { ErrorCodes, MailerError } from '../../src/errors.js';

/** Runs `build` and returns the CONFIG_INVALID error it throws (fails the test if it does not throw). */
export function configErrorOf(build: () => unknown): MailerError {
  try {
    build();
  } catch (err) {
    expect(err).toBeInstanceOf(MailerError);
    expect((err as MailerError).code).toBe(ErrorCodes.CONFIG_INVALID);
    return err as MailerError;
  }
  throw new Error('expected CONFIG_INVALID, nothing was thrown');
}
