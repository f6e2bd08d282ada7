/**
 * Retry policy as data: which failures are worth another try. Pure.
 *
 * The sender maps every nodemailer/node error to a MailerError code first
 * (`toSendError` in classify.ts); from then on the code alone decides, so a
 * decision restored from disk after a restart is the same as the live one.
 */
import type { SerializedError } from '../errors.js';
import { isTemporaryCode } from '../errors.js';

export type RetryDecision = 'retry' | 'fail';

/** Decides on a (possibly persisted) error by its code: connection, timeout and 4xx codes retry. */
export function classifySerializedError(error: Pick<SerializedError, 'code'>): RetryDecision {
  return isTemporaryCode(error.code) ? 'retry' : 'fail';
}
