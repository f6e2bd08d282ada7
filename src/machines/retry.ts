/**
 * Retry policy as data: which failures are worth another try. Pure.
 *
 * The sender maps every nodemailer/node error to a MailerError code first
 * (`toSendError` in classify.ts); from then on the code alone decides, so a
 * decision restored from disk after a restart is the same as the live one.
 */
import type { ErrorCode, SerializedError } from '../errors.js';

export type RetryDecision = 'retry' | 'fail';

/** Connection refused/dropped, timeouts and 4xx replies are temporary; everything else is permanent. */
const TEMPORARY_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['SMTP_CONNECTION', 'SMTP_TIMEOUT', 'SMTP_TEMPORARY']);

export function classifySerializedError(error: Pick<SerializedError, 'code'>): RetryDecision {
  return TEMPORARY_CODES.has(error.code) ? 'retry' : 'fail';
}
