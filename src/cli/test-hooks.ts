/**
 * Test hooks for the real CLI run as a child process (the reliability tests),
 * read at the process boundary so that `createMailer` never reads the
 * environment: `PROSCAI_MAILER_TEST_SEND_TIMEOUT_MS` bounds one send in ms
 * instead of the order's TiempoEspera minutes,
 * `PROSCAI_MAILER_TEST_ARCHIVE_RETRY_MS` replaces the minute an order waits
 * before a blocked file is read or moved again,
 * `PROSCAI_MAILER_TEST_READY_WAIT_MS` the minute a file in the order folder
 * that is held open or still being written is waited for before it is left
 * for the next pass; `PROSCAI_MAILER_TEST_DIE_ON_ORDER` an order id whose
 * reading makes the process kill itself at once, with no handler running (as
 * an out-of-memory abort or a killed service ends it: the crash-loop tests);
 * `PROSCAI_MAILER_TEST_DIE_AFTER_SEND` an order id whose message, once the
 * server accepted it and its acuse was written, makes the process kill itself
 * before the order is archived (the re-send after a crash the acuse records).
 * Deliberately not configuration keys: no operator should need them, and an
 * unset or invalid value leaves the production behaviour untouched.
 */
import type { MailerOptions } from '../mailer.js';

export type TestHooks = Pick<MailerOptions, 'sendTimeoutMs' | 'archiveRetryMs' | 'readyWaitMs' | 'dieOnOrderId' | 'dieAfterSendOrderId'>;

export function testHooksFromEnv(env: Record<string, string | undefined>): TestHooks {
  const ms = (name: string): number | undefined => {
    const value = Number(env[name]);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  };
  const sendTimeoutMs = ms('PROSCAI_MAILER_TEST_SEND_TIMEOUT_MS');
  const archiveRetryMs = ms('PROSCAI_MAILER_TEST_ARCHIVE_RETRY_MS');
  const readyWaitMs = ms('PROSCAI_MAILER_TEST_READY_WAIT_MS');
  const dieOnOrderId = env.PROSCAI_MAILER_TEST_DIE_ON_ORDER || undefined;
  const dieAfterSendOrderId = env.PROSCAI_MAILER_TEST_DIE_AFTER_SEND || undefined;
  return {
    ...(dieAfterSendOrderId !== undefined && { dieAfterSendOrderId }),
    ...(dieOnOrderId !== undefined && { dieOnOrderId }),
    ...(sendTimeoutMs !== undefined && { sendTimeoutMs }),
    ...(archiveRetryMs !== undefined && { archiveRetryMs }),
    ...(readyWaitMs !== undefined && { readyWaitMs }),
  };
}
