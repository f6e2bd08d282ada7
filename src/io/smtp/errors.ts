/**
 * Translates what went wrong while handing a message to an SMTP server into a
 * MailerError with our stable code; that code's retry class (ERROR_TABLE in
 * errors.ts, read by `classifySendError`) then decides `retry` (the order
 * stays queued and is tried again later) or `fail` (the order goes to
 * errores/ at once). Pure: it only reads the properties that nodemailer and
 * node put on their errors, so it imports neither. The SMTP pool calls it
 * once, in `send` (io/smtp/pool.ts); everything after that passes the
 * MailerError on.
 *
 * The codes it gives, and so the decisions (spec §3, "temporary failure" vs
 * "permanent failure"):
 * - No answer from the server (refused, reset, DNS, closed, timed out) → retry.
 *   `ENOTFOUND` is retried too: on an office LAN a dropped VPN or resolver makes
 *   a good host name unresolvable for a while, and the retry schedule is bounded,
 *   so a real typo still ends in errores/ once the retries are used up.
 * - An SMTP reply decides by its class: 4xx → retry, 5xx → fail. 503 (bad
 *   sequence) is the exception nodemailer also makes: it says the session was in
 *   the wrong state, so a new connection may succeed → retry.
 * - Credentials refused (535, 534…) → fail; 454 "temporary authentication
 *   failure" → retry.
 * - TLS problems (certificate refused, STARTTLS required but not offered, a TLS
 *   handshake against a plain port) → fail: retrying cannot fix a certificate,
 *   and falling back to plain text would leak the password. A 4xx answer to
 *   STARTTLS (454 "TLS not available now") → retry.
 * - Every recipient refused: with 5xx only → fail; if any was a 4xx → retry.
 *   A 553 "internationalized mailbox name not allowed" is such a refusal.
 * - An address whose local part is not ASCII, on a server that does not offer
 *   SMTPUTF8 (io/smtp/pool.ts finds out before anything is sent) → fail with
 *   SMTP_SMTPUTF8_UNSUPPORTED: the server's extensions do not change between
 *   tries, and a non-ASCII local part has no ASCII form to fall back to.
 * - Anything not recognised → INTERNAL, fail: a bug must be visible in errores/
 *   rather than loop through the retry schedule.
 *
 * What the reply points at (`smtp.diagnosis`, from REPLY_TABLE) changes the
 * advice, never the decision: a sender the account may not use is SMTP_PERMANENT
 * even when the server refuses it at `RCPT` (Postfix's
 * reject_sender_login_mismatch answers every recipient with `553 5.7.1 <sender>:
 * Sender address rejected`), because the recipients are not what to correct.
 * The English advice is added to the message, which is what the log shows.
 *
 * Messages never carry credentials: everything after `AUTH PLAIN`/`AUTH LOGIN`
 * on a line is cut, and any `secrets` given are masked wherever they appear
 * (also base64-encoded, the form AUTH sends them in).
 */
import { ErrorCodes, MailerError, isMailerError, type ErrorCode, type SmtpDiagnosis, type SmtpErrorInfo } from '../../errors.js';
import { diagnosisAdvice } from '../../text/errors.js';

/**
 * What a refusal points at, read from the reply (its code, enhanced status
 * code and words), in the manner of ZoneMTA's bounce table: the first row whose
 * pattern matches `<code> <text>` wins. Rows are ordered from the most to the
 * least specific: a sender refusal often says `5.7.1` too, and a full mailbox
 * (`552 5.2.2`) is the recipient's problem, not the size of the message.
 */
export const REPLY_TABLE: readonly (readonly [RegExp, ReplyDiagnosis])[] = [
  // Postfix reject_sender_login_mismatch / reject_unauthenticated_sender_login_mismatch, Exchange SendAsDenied, Gmail, generic.
  [/sender address rejected|not owned by user|send ?as ?denied|\b5\.7\.60\b|\b[45]\.1\.[78]\b|not (?:allowed|authori[sz]ed|permitted) to send (?:as|from|on behalf)|sender (?:is )?not (?:allowed|authori[sz]ed|permitted)|from address (?:is )?not (?:allowed|verified|authori[sz]ed)|sender verify failed/i, 'sender'],
  // Full or over-quota mailbox: 552 by RFC 5321, but the recipient's problem.
  [/\b[45]\.2\.2\b|mailbox (?:is )?full|over ?quota|quota exceeded/i, 'mailbox'],
  [/\b[45]\.3\.4\b|\b[45]\.2\.3\b|^552\b|message (?:file )?too (?:big|large)|(?:message )?size (?:limit )?exceed|exceeds? (?:the )?(?:fixed |maximum )?(?:message )?size/i, 'size'],
  [/relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|prohibited)|unable to relay|not permitted to relay|\b5\.7\.64\b/i, 'relay'],
  [/\b[45]\.1\.[0-6]\b|\b[45]\.2\.1\b|user unknown|unknown (?:user|recipient|mailbox)|no such (?:user|mailbox|recipient|address)|mailbox (?:unavailable|not found|does not exist|disabled)|recipient (?:not found|unknown)|invalid recipient|does not exist/i, 'mailbox'],
  [/\b[45]\.7\.\d{1,3}\b|spam|block(?:ed|list)|black ?list|policy|dmarc|\bspf\b|dkim|reputation|greylist|denied/i, 'policy'],
];

/** The diagnoses REPLY_TABLE can give (the TLS ones come from the handshake, not a reply). */
export type ReplyDiagnosis = Extract<SmtpDiagnosis, 'sender' | 'size' | 'mailbox' | 'relay' | 'policy'>;

/** The diagnosis of a reply by REPLY_TABLE; undefined when no row matches. */
export function diagnoseReply(reply: number | undefined, response: string): ReplyDiagnosis | undefined {
  const line = `${reply ?? ''} ${response.replace(/^\d{3}[ -]/, '')}`.trim();
  return REPLY_TABLE.find(([pattern]) => pattern.test(line))?.[1];
}

/** Codes whose message carries the server's refusal; only these get a diagnosis of the reply. */
const REFUSAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.SMTP_PERMANENT,
  ErrorCodes.SMTP_TEMPORARY,
  ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED,
]);

/**
 * OpenSSL's words for a TLS handshake that met a server speaking plain text
 * (its `220` greeting read as a TLS record): implicit TLS against a
 * plain/STARTTLS port.
 */
const PLAIN_PORT = /wrong version number|packet length too long|http request|unknown protocol/i;

/** Node/nodemailer codes meaning "the connection did not work out"; retried. */
const CONNECTION_CODES = new Set([
  'ECONNECTION',
  'ESOCKET',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'EDNS',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ENODATA',
  'ESERVFAIL',
  'EPROTOCOL',
  'EMAXLIMIT',
]);

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ETIME', 'ESOCKETTIMEDOUT', 'EABORT', 'ABORT_ERR']);

/**
 * Low-level codes of a refused TLS handshake or certificate (node sets them on
 * the socket error; nodemailer keeps them as `originalCode`).
 */
const TLS_CODE_PATTERN =
  /^(ETLS|EREQUIRETLS|EPROTO|ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_|HOSTNAME_MISMATCH|ERR_OSSL)/;

/** The fields of nodemailer/node errors that classification reads. */
interface ErrorLike {
  message?: unknown;
  name?: unknown;
  code?: unknown;
  originalCode?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  timeoutType?: unknown;
  rejected?: unknown;
  rejectedErrors?: unknown;
  recipient?: unknown;
}

export interface ToSendErrorOptions {
  /** Values to mask in every message and response (e.g. the SMTP password). */
  secrets?: readonly (string | undefined)[];
}

/** Maps anything thrown by nodemailer or node while sending to a MailerError with our stable code. */
export function toSendError(err: unknown, options: ToSendErrorOptions = {}): MailerError {
  if (isMailerError(err)) return err;
  const e: ErrorLike = typeof err === 'object' && err !== null ? (err as ErrorLike) : { message: String(err) };
  const clean = (text: string): string => redact(text, options.secrets ?? []);
  const smtp = smtpInfo(e, clean);
  let code = codeFor(e, smtp);
  let message = clean(str(e.message) ?? 'SMTP send failed');
  const diagnosis = diagnosisFor(code, smtp, message);
  if (diagnosis !== undefined) {
    smtp.diagnosis = diagnosis;
    // Not the recipients' fault: the sender, or the message itself, was refused at RCPT.
    if (code === ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED && (diagnosis === 'sender' || diagnosis === 'size')) code = ErrorCodes.SMTP_PERMANENT;
    message = `${message.replace(/[.\s]+$/, '')}. ${diagnosisAdvice(diagnosis, 'en')}`;
  }
  return new MailerError(code, message, { smtp });
}

function diagnosisFor(code: ErrorCode, smtp: SmtpErrorInfo, message: string): SmtpDiagnosis | undefined {
  if (REFUSAL_CODES.has(code) && smtp.response !== undefined) return diagnoseReply(smtp.responseCode, smtp.response);
  if (code === ErrorCodes.SMTP_TLS && PLAIN_PORT.test(message)) return 'plain-port';
  return undefined;
}

function codeFor(e: ErrorLike, smtp: SmtpErrorInfo): ErrorCode {
  const code = str(e.code) ?? '';
  const original = str(e.originalCode) ?? '';
  const reply = smtp.responseCode;
  const temporaryReply = reply !== undefined && (isTransientReply(reply) || (reply >= 200 && reply < 400));

  if (code === 'EABORT' || e.name === 'AbortError') return ErrorCodes.SMTP_TIMEOUT;
  if (isTlsCode(code) || isTlsCode(original)) {
    return temporaryReply ? ErrorCodes.SMTP_TEMPORARY : ErrorCodes.SMTP_TLS;
  }
  if (code === 'EAUTH' || code === 'ENOAUTH') {
    if (reply !== undefined && isTransientReply(reply)) return ErrorCodes.SMTP_TEMPORARY;
    // "530 Must issue a STARTTLS command first" answers AUTH, but the fix is TLS, not the password.
    if ((reply === 530 || reply === 538) && /tls/i.test(smtp.response ?? '')) return ErrorCodes.SMTP_TLS;
    return ErrorCodes.SMTP_AUTH;
  }
  if (code === 'ESTREAM') return ErrorCodes.ATTACHMENT_UNREADABLE;
  if (code === 'ECONFIG') return ErrorCodes.INTERNAL;
  if (Array.isArray(e.rejected) && e.rejected.length > 0 && smtp.command === 'RCPT TO') {
    return anyTransientRejection(e) ? ErrorCodes.SMTP_TEMPORARY : ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED;
  }
  if (reply !== undefined) return codeForReply(reply, smtp.response ?? '');
  if (TIMEOUT_CODES.has(code) || TIMEOUT_CODES.has(original) || e.timeoutType !== undefined) {
    return ErrorCodes.SMTP_TIMEOUT;
  }
  if (CONNECTION_CODES.has(code) || CONNECTION_CODES.has(original)) return ErrorCodes.SMTP_CONNECTION;
  // Refused before a byte was sent (no recipients, invalid address, message larger than SIZE).
  if (code === 'EENVELOPE' || code === 'EMESSAGE' || code === 'EMAXRECIPIENTS') return ErrorCodes.SMTP_PERMANENT;
  return ErrorCodes.INTERNAL;
}

/** Code for an SMTP reply that was not classified by the error's own code. */
function codeForReply(reply: number, response: string): ErrorCode {
  if (isTransientReply(reply)) return ErrorCodes.SMTP_TEMPORARY;
  if (reply === 530 || reply === 538) {
    // 530 is both "authentication required" and "must issue STARTTLS first".
    return /tls/i.test(response) ? ErrorCodes.SMTP_TLS : ErrorCodes.SMTP_AUTH;
  }
  if (reply === 534 || reply === 535) return ErrorCodes.SMTP_AUTH;
  if (reply >= 500) return ErrorCodes.SMTP_PERMANENT;
  // An unexpected 2xx/3xx where an error was expected: a confused session, try again.
  return ErrorCodes.SMTP_TEMPORARY;
}

/** 4xx, and 503 "bad sequence of commands" (a state problem of that session, not of the message). */
function isTransientReply(reply: number): boolean {
  return (reply >= 400 && reply < 500) || reply === 503;
}

function isTlsCode(code: string): boolean {
  return code !== '' && TLS_CODE_PATTERN.test(code);
}

function anyTransientRejection(e: ErrorLike): boolean {
  const list = Array.isArray(e.rejectedErrors) ? (e.rejectedErrors as ErrorLike[]) : [];
  const codes = list.map((r) => replyCode(r)).filter((c): c is number => c !== undefined);
  const own = replyCode(e);
  if (own !== undefined) codes.push(own);
  return codes.some((c) => c >= 400 && c < 500);
}

function smtpInfo(e: ErrorLike, clean: (s: string) => string): SmtpErrorInfo {
  const info: SmtpErrorInfo = {};
  const responseCode = replyCode(e);
  if (responseCode !== undefined) info.responseCode = responseCode;
  const response = str(e.response);
  if (response !== undefined) info.response = clean(response);
  const command = str(e.command);
  if (command !== undefined) info.command = clean(command);
  const errno = str(e.originalCode) ?? str(e.code);
  if (errno !== undefined) info.errno = errno;
  return info;
}

/** The three-digit reply code, from `responseCode` or the start of `response`. */
function replyCode(e: ErrorLike): number | undefined {
  if (typeof e.responseCode === 'number' && e.responseCode >= 200 && e.responseCode < 600) return e.responseCode;
  const match = /^([2-5]\d\d)\b/.exec(str(e.response) ?? '');
  return match ? Number(match[1]) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Removes credentials from text meant for logs and notes: the rest of any line
 * after `AUTH <mechanism>`, and every given secret, verbatim or base64-encoded.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/(AUTH[ \t]+(?:PLAIN|LOGIN|XOAUTH2|CRAM-MD5|OAUTHBEARER))[ \t]+[^\r\n]+/gi, '$1 [redacted]');
  for (const secret of secrets) {
    // Very short values would mask ordinary digits and words; passwords are longer.
    if (!secret || secret.length < 3) continue;
    for (const form of [secret, base64(secret)]) out = out.split(form).join('[redacted]');
  }
  return out;
}

/** btoa over UTF-8 bytes, without importing Buffer (this module stays platform-free). */
function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
