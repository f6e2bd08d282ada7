/**
 * One order field's text → its typed value. Each reader returns the value,
 * `undefined` when the element is absent or empty (the configuration or a
 * built-in default then applies), or a MailerError naming the field and the
 * offending value. None of them throws.
 */
import { ErrorCodes, MailerError } from '../errors.js';
import type { AfterSend, OrderAttachment, Security } from './types.js';
import { checkHeaderValue } from './header.js';
import { safeFileName } from './file-name.js';

export type FieldResult<T> = T | MailerError | undefined;

/** Subjects longer than this are refused: no real subject is that long, and some servers cap header lines. */
export const MAX_SUBJECT_CHARS = 1000;

export const SECURITY_KEYWORDS = ['NINGUNA', 'STARTTLS', 'SSL'] as const satisfies readonly Security[];
export const AFTER_SEND_KEYWORDS = ['CONSERVAR', 'RECICLAR', 'ELIMINAR'] as const satisfies readonly AfterSend[];

const TRUE_WORDS = new Set(['si', 'sí', 'true', '1']);
const FALSE_WORDS = new Set(['no', 'false', '0']);

/** `text` cut to `max` characters for a log line (a value can be megabytes long). */
export function clip(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function invalid(field: string, value: string, why: string): MailerError {
  return new MailerError(ErrorCodes.ORDER_FIELD_INVALID, `${field}: "${clip(value)}" ${why}`, { field, value });
}

/** A whole number written with digits only, within [min, max]. */
export function readInteger(text: string | undefined, field: string, min: number, max: number): FieldResult<number> {
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,6}$/.test(text)) return invalid(field, text, `is not a whole number from ${min} to ${max}`);
  const value = Number(text);
  return value >= min && value <= max ? value : invalid(field, text, `is out of range (${min} to ${max})`);
}

/** One of `allowed`, any case. Returns the canonical (upper-case) keyword. */
export function readKeyword<T extends string>(text: string | undefined, field: string, allowed: readonly T[]): FieldResult<T> {
  if (text === undefined || text === '') return undefined;
  const upper = text.toUpperCase();
  const found = allowed.find((k) => k === upper);
  return found ?? invalid(field, text, `is not one of ${allowed.join(', ')}`);
}

/** `SI`/`SÍ`/`true`/`1` or `NO`/`false`/`0`, any case, accent composed or not. */
export function readBoolean(text: string | undefined, field: string): FieldResult<boolean> {
  if (text === undefined || text === '') return undefined;
  const key = text.normalize('NFC').toLowerCase();
  if (TRUE_WORDS.has(key)) return true;
  if (FALSE_WORDS.has(key)) return false;
  return invalid(field, text, 'is not SI or NO (nor true/false/1/0)');
}

/** Free text that goes into a header or the SMTP conversation: one line, no control characters. */
export function readHeaderText(text: string | undefined, field: string): FieldResult<string> {
  if (text === undefined || text === '') return undefined;
  return checkHeaderValue(text, field) ?? text;
}

/** `Asunto`: any Unicode, one line, at most MAX_SUBJECT_CHARS characters. */
export function readSubject(text: string | undefined): FieldResult<string> {
  const subject = readHeaderText(text, 'Asunto');
  if (typeof subject !== 'string') return subject;
  // A code point is one or two UTF-16 units: past twice the limit it is too long whatever it holds (and is not counted one by one).
  if (subject.length > 2 * MAX_SUBJECT_CHARS) return invalid('Asunto', subject, `is ${subject.length} characters long, more than ${MAX_SUBJECT_CHARS}`);
  const length = [...subject].length;
  return length > MAX_SUBJECT_CHARS ? invalid('Asunto', subject, `is ${length} characters long, more than ${MAX_SUBJECT_CHARS}`) : subject;
}

/** `SMTP/Servidor`: a host name or IP address (no spaces, slashes or schemes); the SMTP module resolves it. */
export function readHost(text: string | undefined): FieldResult<string> {
  const host = readHeaderText(text, 'SMTP/Servidor');
  if (typeof host !== 'string') return host;
  return /^[\p{L}\p{N}._:[\]-]+$/u.test(host) ? host : invalid('SMTP/Servidor', host, 'is not a host name or IP address');
}

/** `SMTP/Contrasena`: trimmed like every field (spec), otherwise as written; never checked, so never quoted in an error. */
export function readPassword(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

/**
 * One `Adjuntos/Archivo`: the path as written (resolved and checked elsewhere)
 * and the optional `nombre` the recipient sees, reduced to a safe bare file
 * name (file-name.ts); a `nombre` that had to be changed gives a warning, and
 * one with nothing usable left is dropped (the file's own name is used).
 */
export function readAttachment(
  pathText: string,
  nombre: string | undefined,
): { attachment?: OrderAttachment; errors: MailerError[]; warning?: string } {
  const errors: MailerError[] = [];
  const field = 'Adjuntos/Archivo';
  if (pathText === '') errors.push(invalid(field, pathText, 'is empty: no file to attach'));
  else if (/[\u0000-\u001F\u007F]/.test(pathText)) errors.push(invalid(field, pathText, 'contains control characters'));
  const name = nombre?.trim();
  const nameError = name ? checkHeaderValue(name, `${field}/@nombre`) : undefined;
  if (nameError) errors.push(nameError);
  if (errors.length > 0) return { errors };
  const filename = safeFileName(name);
  const warning =
    name && filename !== name
      ? `${field}/@nombre "${clip(name)}" ${filename === undefined ? "has no usable file name: the file's own name is used" : `is sent as "${filename}"`}`
      : undefined;
  return { attachment: { path: pathText, ...(filename !== undefined && { filename }) }, errors, ...(warning !== undefined && { warning }) };
}
