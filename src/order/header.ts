/**
 * Header-injection guard. A value that ends up in a mail header (or in an
 * attachment's Content-Disposition) must be one line: a CR or LF would let an
 * order add its own headers (`Bcc:`), and other control characters have no
 * business in a header either. Values are checked after XML trimming, so only
 * line breaks *inside* a value count, whether written literally or as
 * `&#13;&#10;`.
 */
import { ErrorCodes, MailerError } from '../errors.js';

/** C0 controls except TAB, DEL, and the Unicode line/paragraph separators some software treats as line ends. */
const FORBIDDEN = /[\u0000-\u0008\u000A-\u001F\u007F\u2028\u2029]/;

/** An ORDER_HEADER_INJECTION naming `field` when `value` holds a forbidden character, else undefined. */
export function checkHeaderValue(value: string, field: string): MailerError | undefined {
  const match = FORBIDDEN.exec(value);
  if (!match) return undefined;
  const code = match[0].codePointAt(0) ?? 0;
  const what = code === 0x0d || code === 0x0a ? 'a line break' : `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return new MailerError(ErrorCodes.ORDER_HEADER_INJECTION, `${field} contains ${what}, refused to prevent header injection`, {
    field,
    value,
  });
}
