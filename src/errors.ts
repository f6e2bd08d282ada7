/**
 * The one errors module. Every failure the mailer can meet has a stable code
 * here; code everywhere else throws or returns a `MailerError`, never a string.
 *
 * Codes are part of the operator interface: they appear in the log, in the
 * `.error.txt` notes and in the troubleshooting docs, so they never change
 * meaning once released. Operator-facing wording lives in `src/text/errors.ts`.
 */

/**
 * What trying again can do about a failure. Readers decide by this and by
 * nothing else, so a decision restored from disk after a restart is the same
 * as the live one:
 * - `schedule`: the same order may succeed on a later try (spec §3's temporary
 *   failures: no answer from the SMTP server, a 4xx reply). It waits beside its
 *   claim and is tried again on the `retry` schedule; when that is used up it
 *   fails as RETRIES_EXHAUSTED.
 * - `wait`: a file or folder could not be used just now (a share down, a file
 *   held open, a full disk). The order stays where it is and is taken again
 *   later; no try of the schedule is spent on it. Where the failure arises
 *   says how: a refused claim leaves the file for the next scan, a refused
 *   archive move is tried again a minute later, and the order machine's
 *   `fsTemporary` guard waits only on FS_ACCESS_FAILED while reading.
 * - `never`: another try cannot help. An order fails at once (errores/ and a
 *   note); a command stops with the error.
 */
export type RetryClass = 'schedule' | 'wait' | 'never';

/** One code's row of ERROR_TABLE. */
export interface ErrorRow {
  readonly retry: RetryClass;
}

/** The codes with their rows; `satisfies` keeps each code a literal key, so the table is also the list of codes. */
const ROWS = {
  // Reading an order
  ORDER_UNREADABLE: { retry: 'never' },
  ORDER_EMPTY: { retry: 'never' },
  ORDER_TOO_LARGE: { retry: 'never' },
  ORDER_INCOMPLETE: { retry: 'never' }, // the file ends before </OrdenEnvio> and did not change for incompleteSettleSeconds: its writer stopped half-way
  ORDER_ENCODING: { retry: 'never' },
  ORDER_NOT_XML: { retry: 'never' },
  ORDER_XML_MALFORMED: { retry: 'never' },
  ORDER_DOCTYPE: { retry: 'never' },
  ORDER_ROOT: { retry: 'never' },
  ORDER_FIELD_MISSING: { retry: 'never' },
  ORDER_FIELD_INVALID: { retry: 'never' },
  ORDER_NO_RECIPIENT: { retry: 'never' },
  ORDER_ADDRESS_INVALID: { retry: 'never' },
  ORDER_HEADER_INJECTION: { retry: 'never' },
  ORDER_TOO_COMPLEX: { retry: 'never' }, // reading the order needed more memory or time than the mailer allows (a worker thread stopped, not the mailer)
  ORDER_CRASHED_MAILER: { retry: 'never' }, // the mailer stopped unexpectedly while this order was in flight, twice in a row: set aside so the other orders are sent
  // Attachments
  ATTACHMENT_OUTSIDE: { retry: 'never' },
  ATTACHMENT_MISSING: { retry: 'never' },
  ATTACHMENT_UNREADABLE: { retry: 'never' },
  // The company's HTML envelope (companies.<Empresa>.htmlEnvelope), read at send time
  ENVELOPE_MISSING: { retry: 'never' }, // the envelope file does not exist: nothing sent; the order fails until the file is put back
  ENVELOPE_INVALID: { retry: 'never' }, // the envelope file cannot be read, or has no {{CUERPO}} marker (or more than one)
  // SMTP
  SMTP_CONNECTION: { retry: 'schedule' }, // refused, reset, DNS failure
  SMTP_TIMEOUT: { retry: 'schedule' }, // greeting, socket or whole-send timeout
  SMTP_TEMPORARY: { retry: 'schedule' }, // 4xx reply
  SMTP_PERMANENT: { retry: 'never' }, // 5xx reply
  SMTP_AUTH: { retry: 'never' }, // credentials refused (535)
  SMTP_TLS: { retry: 'never' }, // TLS required/unavailable, certificate refused
  SMTP_ALL_RECIPIENTS_REJECTED: { retry: 'never' },
  SMTP_SMTPUTF8_UNSUPPORTED: { retry: 'never' }, // an address has a non-ASCII local part and the server does not offer SMTPUTF8: nothing sent
  RETRIES_EXHAUSTED: { retry: 'never' },
  // Files and process
  FS_MOVE_FAILED: { retry: 'wait' }, // moving, writing or deleting a file failed: the order stays where it was
  FS_ACCESS_FAILED: { retry: 'wait' }, // listing, reading or waiting on a file or folder failed (share down, file still being written)
  FS_HELD: { retry: 'wait' }, // an order file in the order folder is held open by another program (its writer, an antivirus): left there for a later pass, never failed
  CLAIM_LOST: { retry: 'never' },
  CONFIG_INVALID: { retry: 'never' },
  USAGE: { retry: 'never' },
  INSTANCE_RUNNING: { retry: 'never' },
  INSTANCE_LOCK_LOST: { retry: 'never' }, // the running mailer's single-instance lock vanished or was replaced (order folder removed, share remounted): it stops taking orders until it holds the lock again
  INTERNAL: { retry: 'never' },
} as const satisfies Record<string, ErrorRow>;

export type ErrorCode = keyof typeof ROWS;

/**
 * Every code with its retry class, in the spirit of ZoneMTA's bounce table:
 * the retry policy is data, one row per code, and `Record` makes the compiler
 * demand a row for every code.
 */
export const ERROR_TABLE: Readonly<Record<ErrorCode, ErrorRow>> = ROWS;

/** The codes by name (`ErrorCodes.SMTP_TIMEOUT === 'SMTP_TIMEOUT'`), in the table's order. */
export const ErrorCodes = Object.fromEntries(Object.keys(ROWS).map((code) => [code, code])) as { readonly [C in ErrorCode]: C };

/** SMTP details kept from a failed conversation, for classification and notes. */
export interface SmtpErrorInfo {
  /** Three-digit reply code, when the server answered. */
  responseCode?: number;
  /** The server's reply text (never contains our credentials). */
  response?: string;
  /** The SMTP command the reply answered (MAIL FROM, RCPT TO, DATA…). */
  command?: string;
  /** Low-level error code from node (ECONNREFUSED, ETIMEDOUT…) or nodemailer (EAUTH…). */
  errno?: string;
  /** What the reply or the failed handshake points at, for the advice operators read (io/smtp/errors.ts). */
  diagnosis?: SmtpDiagnosis;
}

/**
 * The real cause behind an SMTP failure, as far as the server's reply (or a
 * TLS mismatch) tells: the account may not use the sender, the message is too
 * large, the mailbox does not exist, relaying is refused, a policy rule of the
 * server; `tls-port`: a plain or STARTTLS client met a port that speaks TLS
 * first (465); `plain-port`: implicit TLS met a port that does not.
 */
export type SmtpDiagnosis = 'sender' | 'size' | 'mailbox' | 'relay' | 'policy' | 'tls-port' | 'plain-port';

export interface MailerErrorOptions {
  /** The order field concerned, with the element name as the ERP writes it (e.g. `Para`, `Adjuntos/Archivo`). */
  field?: string;
  /** The offending value, shortened; never a secret. */
  value?: string;
  /** What caused it, for the log. */
  cause?: unknown;
  smtp?: SmtpErrorInfo;
  /** The absolute local path the mailer looked at (an attachment, after the attachment folder and `pathMap` were applied). */
  path?: string;
  /** What made the order's XML malformed, as data: the operator's sentence is built from it in their language. */
  xml?: XmlProblem;
}

/**
 * The kinds of well-formedness problems the order scanner reports (order/xml.ts,
 * order/tree.ts). Stable keys: text/errors.ts words each one in both languages.
 */
export const XML_PROBLEM_KINDS = [
  'commentUnclosed',
  'cdataUnclosed',
  'cdataOutsideRoot',
  'instructionUnclosed',
  'declarationNotFirst',
  'unexpectedBang',
  'secondRoot',
  'tooDeep',
  'elementUnclosed',
  'noRoot',
  'bareAmpersand',
  'textAfterRoot',
  'textBeforeRoot',
  'endTagUnterminated',
  'endTagJunk',
  'endTagUnopened',
  'endTagMismatch',
  'tagNameMissing',
  'tagNameInvalid',
  'attributeQuoteOpen',
  'attributeNoSpace',
  'attributeNoValue',
  'attributeUnquoted',
  'attributeNameInvalid',
  'attributeRepeated',
  'referenceUndefined',
  'moreReferencesUndefined',
] as const;

export type XmlProblemKind = (typeof XML_PROBLEM_KINDS)[number];

/** A well-formedness problem of an order's XML: where it is and what was expected or found. */
export interface XmlProblem {
  kind: XmlProblemKind;
  /** Line and column (from 1) where the problem was found; absent for problems of a whole element (`referenceUndefined`). */
  line?: number;
  column?: number;
  /** The element or attribute name concerned, or the reference (`&nbsp;`), cut to 60 characters. */
  name?: string;
  /** `endTagMismatch`: the element that is open, which its end tag must close, and where it was opened. */
  expected?: string;
  openedLine?: number;
  openedColumn?: number;
  /** `textBeforeRoot`: the character found where `<` was expected. */
  found?: string;
  /** `tooDeep`: the nesting limit; `moreReferencesUndefined`: how many more elements. */
  count?: number;
}

/**
 * A failure with a stable code. `message` is English and meant for the log;
 * what operators read is produced from `code`, `field` and `value` by text/errors.ts.
 */
export class MailerError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly value?: string;
  readonly smtp?: SmtpErrorInfo;
  readonly path?: string;
  readonly xml?: XmlProblem;

  constructor(code: ErrorCode, message: string, options: MailerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MailerError';
    this.code = code;
    if (options.field !== undefined) this.field = options.field;
    if (options.value !== undefined) this.value = shorten(options.value);
    if (options.smtp !== undefined) this.smtp = options.smtp;
    if (options.path !== undefined) this.path = options.path;
    if (options.xml !== undefined) this.xml = options.xml;
  }

  /** A plain object for structured logs and persisted state. */
  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      ...(this.field !== undefined && { field: this.field }),
      ...(this.value !== undefined && { value: this.value }),
      ...(this.smtp !== undefined && { smtp: this.smtp }),
      ...(this.path !== undefined && { path: this.path }),
      ...(this.xml !== undefined && { xml: this.xml }),
    };
  }

  static fromJSON(data: SerializedError): MailerError {
    return new MailerError(data.code, data.message, {
      ...(data.field !== undefined && { field: data.field }),
      ...(data.value !== undefined && { value: data.value }),
      ...(data.smtp !== undefined && { smtp: data.smtp }),
      ...(data.path !== undefined && { path: data.path }),
      ...(data.xml !== undefined && { xml: data.xml }),
    });
  }
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  field?: string;
  value?: string;
  smtp?: SmtpErrorInfo;
  path?: string;
  xml?: XmlProblem;
}

export function isMailerError(value: unknown): value is MailerError {
  return value instanceof MailerError;
}

/** Wraps anything thrown into a MailerError, keeping MailerErrors as they are. */
export function toMailerError(value: unknown, code: ErrorCode = ErrorCodes.INTERNAL): MailerError {
  if (value instanceof MailerError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new MailerError(code, message, { cause: value });
}

/** Values quoted in notes are cut so that a 1 MB subject cannot flood a note or a log line. */
export function shorten(value: string, max = 200): string {
  const oneLine = value.replace(/[\r\n]+/g, '⏎');
  return oneLine.length > max ? `${oneLine.slice(0, max)}… (${value.length} caracteres)` : oneLine;
}

/** The retry class of a code (see RetryClass). */
export function retryClassOf(code: ErrorCode): RetryClass {
  return ERROR_TABLE[code].retry;
}

/** True for the codes spec §3 calls temporary failures: those retried on the schedule. */
export function isTemporaryCode(code: ErrorCode): boolean {
  return retryClassOf(code) === 'schedule';
}

/** What to do with an order whose send failed: `retry` it later, or `fail` it now. */
export type SendDecision = 'retry' | 'fail';

/**
 * The one decision on a failed send (spec §3): 4xx replies, timeouts and
 * refused or dropped connections retry; 5xx replies and everything else
 * fail. Pure, and by the code alone: it takes the error the SMTP pool
 * rejected with (a MailerError, io/smtp/errors.ts translates nodemailer's)
 * or its persisted form, so the order machine decides the same on both.
 */
export function classifySendError(error: Pick<SerializedError, 'code'>): SendDecision {
  return isTemporaryCode(error.code) ? 'retry' : 'fail';
}
