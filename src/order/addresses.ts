/**
 * E-mail addresses as orders write them: `addr`, `Display Name <addr>` or
 * `"Name, with comma" <addr>`, lists separated by `,` or `;`.
 *
 * Own splitter rather than nodemailer's addressparser: addressparser is
 * lenient by design (`juan perez@x.mx` becomes name "juan", address
 * "perez@x.mx"), and an order with a typo must fail with the typo named, not
 * mail someone else.
 *
 * Guarantees: never throws; every item that is not a valid mailbox gives one
 * ORDER_ADDRESS_INVALID naming the field and the item (the first
 * MAX_LISTED_INVALID of them, then one more counting the rest); empty items
 * (`a;;b`, trailing `;`) are ignored; CR/LF/control characters anywhere give
 * one ORDER_HEADER_INJECTION and nothing else for the field; a list of more
 * than MAX_ADDRESSES items is one ORDER_FIELD_INVALID, read no further. Time
 * and memory are linear in the text, with a small constant.
 */
import { ErrorCodes, MailerError } from '../errors.js';
import type { Address } from './types.js';
import { checkHeaderValue } from './header.js';
import { clip } from './fields.js';

/**
 * Addresses one field may list. SMTP servers accept a few hundred recipients
 * per message at most (RFC 5321 asks for 100); a longer list is not an
 * invoice's, and reading it whole would cost memory for nothing.
 */
export const MAX_ADDRESSES = 1000;
/** Invalid addresses reported one by one per field; the rest are counted in one more error. */
export const MAX_LISTED_INVALID = 20;

/** dot-atom characters of RFC 5322, plus any Unicode letter or digit (SMTPUTF8 local parts like `josé`). */
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\p{L}\\p{N}-]+";
const LOCAL = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`, 'u');
const LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

/** True for `local@domain` with a dot-atom local part and a domain of two or more sane labels whose last one is not numeric. */
export function isValidAddress(address: string): boolean {
  if (address.length > 254) return false;
  const at = address.lastIndexOf('@');
  if (at <= 0) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !LOCAL.test(local)) return false;
  if (domain.length > 253) return false;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return false;
  return !/^\d+$/.test(labels[labels.length - 1]);
}

/** One mailbox (e.g. `Remitente`): the whole text is one address, so an unquoted comma in the name is fine. */
export function parseAddress(text: string, field: string): Address | MailerError {
  const injection = checkHeaderValue(text, field);
  if (injection) return injection;
  return parseMailbox(text.trim(), field);
}

/** A list (`Para`, `CC`, `CCO`, `ResponderA`, `CorreoErrores`). */
export function parseAddressList(text: string, field: string): { addresses: Address[]; errors: MailerError[] } {
  const injection = checkHeaderValue(text, field);
  if (injection) return { addresses: [], errors: [injection] };
  const pieces = splitList(text, MAX_ADDRESSES + 1);
  if (pieces.length > MAX_ADDRESSES) {
    const error = new MailerError(ErrorCodes.ORDER_FIELD_INVALID, `${field}: more than ${MAX_ADDRESSES} addresses`, {
      field,
      value: `> ${MAX_ADDRESSES}`,
    });
    return { addresses: [], errors: [error] };
  }
  const addresses: Address[] = [];
  const errors: MailerError[] = [];
  for (const item of mergeSplitNames(pieces)) {
    const parsed = parseMailbox(item, field);
    if (parsed instanceof MailerError) errors.push(parsed);
    else addresses.push(parsed);
  }
  if (errors.length <= MAX_LISTED_INVALID) return { addresses, errors };
  const unlisted = errors.length - MAX_LISTED_INVALID;
  const more = new MailerError(ErrorCodes.ORDER_ADDRESS_INVALID, `${field}: ${unlisted} more invalid addresses`, { field, value: `+${unlisted}` });
  return { addresses, errors: [...errors.slice(0, MAX_LISTED_INVALID), more] };
}

/**
 * A list written outside an order (the configuration, `send-test --to`), read
 * with the same rules, so an address accepted there is one an order would
 * accept too. Undefined when any entry is invalid or none is given.
 */
export function addressesOf(text: string): Address[] | undefined {
  const { addresses, errors } = parseAddressList(text, 'config');
  return errors.length === 0 && addresses.length > 0 ? addresses : undefined;
}

/** Exactly one `Display <address>` or `address` written outside an order; undefined when invalid. */
export function addressOf(text: string): Address | undefined {
  const parsed = parseAddress(text, 'config');
  return parsed instanceof MailerError ? undefined : parsed;
}

/** `Name <addr>` or a bare `addr`, already trimmed and non-empty. */
function parseMailbox(item: string, field: string): Address | MailerError {
  const invalid = (why: string): MailerError =>
    new MailerError(ErrorCodes.ORDER_ADDRESS_INVALID, `${field}: "${clip(item)}" is not a valid e-mail address (${why})`, { field, value: item });
  if (item === '') return invalid('empty');
  const angle = /^([^<>]*)<([^<>]*)>$/.exec(item);
  if (!angle && /[<>]/.test(item)) return invalid('misplaced < or >');
  const address = (angle ? angle[2] : item).trim();
  const name = angle ? unquote(angle[1].trim()) : '';
  if (name === undefined) return invalid('unbalanced quotes in the display name');
  if (!address.includes('@')) return invalid('no @');
  if (!isValidAddress(address)) return invalid('expected local@domain.tld without spaces');
  return { name, address };
}

/** `"López, Juan"` → `López, Juan`; unquoted names as they are; a stray quote → undefined. */
function unquote(name: string): string | undefined {
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) {
    const inner = name.slice(1, -1);
    if (/(^|[^\\])(\\\\)*"/.test(inner)) return undefined;
    return inner.replace(/\\(.)/g, '$1');
  }
  return name.includes('"') ? undefined : name;
}

interface Piece {
  text: string;
  separator: string;
}

/**
 * Splits on `,`/`;` outside quotes and angle brackets; drops empty items;
 * stops after `max` items. Each item is one slice of the text (never grown a
 * character at a time, which for a text of megabytes exhausted the heap).
 */
function splitList(text: string, max: number): Piece[] {
  const pieces: Piece[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  let escaped = false;
  const cut = (end: number, separator: string) => {
    const piece = text.slice(start, end).trim();
    if (piece !== '') pieces.push({ text: piece, separator });
    start = end + 1;
  };
  for (let i = 0; i < text.length && pieces.length < max; i++) {
    const ch = text[i];
    if (inQuote) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inQuote = false;
      continue;
    }
    if (ch === '"') inQuote = true;
    else if (ch === '<') inAngle = true;
    else if (ch === '>') inAngle = false;
    else if ((ch === ',' || ch === ';') && !inAngle) cut(i, ch);
  }
  if (pieces.length < max) cut(text.length, '');
  return pieces;
}

/**
 * `López, Juan <j@x.mx>` written without quotes splits into `López` and
 * `Juan <j@x.mx>`. A piece with no `@`, `<` or quote, followed after a comma by
 * a piece that has an unquoted name before its `<`, can only be the first half
 * of that name: join them. (Alone it would be an invalid address anyway.)
 */
function mergeSplitNames(pieces: Piece[]): string[] {
  const items: string[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    const next = pieces[i + 1];
    const isNameFragment = !/[@<>"]/.test(piece.text) && piece.separator === ',';
    if (isNameFragment && next && /^[^<>"@]+<[^<>]*>$/.test(next.text)) {
      pieces[i + 1] = { text: `${piece.text}, ${next.text}`, separator: next.separator };
      continue;
    }
    items.push(piece.text);
  }
  return items;
}
