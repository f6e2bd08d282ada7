/**
 * The one errors module. Every failure the mailer can meet has a stable code
 * here; code everywhere else throws or returns a `MailerError`, never a string.
 *
 * Codes are part of the operator interface: they appear in the log, in the
 * `.error.txt` notes and in the troubleshooting docs, so they never change
 * meaning once released. Operator-facing wording lives in `src/text/i18n.ts`.
 */

export const ErrorCodes = {
  // Reading an order (permanent: the order goes to errores/)
  ORDER_UNREADABLE: 'ORDER_UNREADABLE',
  ORDER_EMPTY: 'ORDER_EMPTY',
  ORDER_TOO_LARGE: 'ORDER_TOO_LARGE',
  ORDER_INCOMPLETE: 'ORDER_INCOMPLETE', // the file ends before </OrdenEnvio> and did not change for incompleteSettleSeconds: its writer stopped half-way
  ORDER_ENCODING: 'ORDER_ENCODING',
  ORDER_NOT_XML: 'ORDER_NOT_XML',
  ORDER_XML_MALFORMED: 'ORDER_XML_MALFORMED',
  ORDER_DOCTYPE: 'ORDER_DOCTYPE',
  ORDER_ROOT: 'ORDER_ROOT',
  ORDER_FIELD_MISSING: 'ORDER_FIELD_MISSING',
  ORDER_FIELD_INVALID: 'ORDER_FIELD_INVALID',
  ORDER_NO_RECIPIENT: 'ORDER_NO_RECIPIENT',
  ORDER_ADDRESS_INVALID: 'ORDER_ADDRESS_INVALID',
  ORDER_HEADER_INJECTION: 'ORDER_HEADER_INJECTION',
  ORDER_TOO_COMPLEX: 'ORDER_TOO_COMPLEX', // reading the order needed more memory or time than the mailer allows (a worker thread stopped, not the mailer)
  ORDER_CRASHED_MAILER: 'ORDER_CRASHED_MAILER', // the mailer stopped unexpectedly while this order was in flight, twice in a row: set aside so the other orders are sent
  // Attachments (permanent)
  ATTACHMENT_OUTSIDE: 'ATTACHMENT_OUTSIDE',
  ATTACHMENT_MISSING: 'ATTACHMENT_MISSING',
  ATTACHMENT_UNREADABLE: 'ATTACHMENT_UNREADABLE',
  // SMTP
  SMTP_CONNECTION: 'SMTP_CONNECTION', // refused, reset, DNS failure: temporary
  SMTP_TIMEOUT: 'SMTP_TIMEOUT', // greeting, socket or whole-send timeout: temporary
  SMTP_TEMPORARY: 'SMTP_TEMPORARY', // 4xx reply: temporary
  SMTP_PERMANENT: 'SMTP_PERMANENT', // 5xx reply: permanent
  SMTP_AUTH: 'SMTP_AUTH', // credentials refused (535): permanent
  SMTP_TLS: 'SMTP_TLS', // TLS required/unavailable, certificate refused: permanent
  SMTP_ALL_RECIPIENTS_REJECTED: 'SMTP_ALL_RECIPIENTS_REJECTED',
  SMTP_SMTPUTF8_UNSUPPORTED: 'SMTP_SMTPUTF8_UNSUPPORTED', // an address has a non-ASCII local part and the server does not offer SMTPUTF8: permanent, nothing sent
  RETRIES_EXHAUSTED: 'RETRIES_EXHAUSTED',
  // Files and process
  FS_MOVE_FAILED: 'FS_MOVE_FAILED', // moving, writing or deleting a file failed: the order stays where it was; temporary
  FS_ACCESS_FAILED: 'FS_ACCESS_FAILED', // listing, reading or waiting on a file or folder failed (share down, file still being written): temporary
  FS_HELD: 'FS_HELD', // an order file in the order folder is held open by another program (its writer, an antivirus): left there for a later pass, never failed
  CLAIM_LOST: 'CLAIM_LOST',
  CONFIG_INVALID: 'CONFIG_INVALID',
  USAGE: 'USAGE',
  INSTANCE_RUNNING: 'INSTANCE_RUNNING',
  INSTANCE_LOCK_LOST: 'INSTANCE_LOCK_LOST', // the running mailer's single-instance lock vanished or was replaced (order folder removed, share remounted): it stops taking orders until it holds the lock again
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

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
 * order/tree.ts). Stable keys: text/i18n.ts words each one in both languages.
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
 * what operators read is produced from `code`, `field` and `value` by i18n.
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

/** Codes after which the same order may succeed on a later try (spec §3's temporary failures). */
const TEMPORARY_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.SMTP_CONNECTION,
  ErrorCodes.SMTP_TIMEOUT,
  ErrorCodes.SMTP_TEMPORARY,
]);

/** True for the codes spec §3 calls temporary failures. */
export function isTemporaryCode(code: ErrorCode): boolean {
  return TEMPORARY_CODES.has(code);
}
