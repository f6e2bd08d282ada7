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
 * ORDER_ADDRESS_INVALID naming the field and the item; empty items (`a;;b`,
 * trailing `;`) are ignored; CR/LF/control characters anywhere give one
 * ORDER_HEADER_INJECTION and nothing else for the field.
 */
import { ErrorCodes, MailerError } from '../errors.js';
import type { Address } from './types.js';
import { checkHeaderValue } from './header.js';

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
  const addresses: Address[] = [];
  const errors: MailerError[] = [];
  for (const item of mergeSplitNames(splitList(text))) {
    const parsed = parseMailbox(item, field);
    if (parsed instanceof MailerError) errors.push(parsed);
    else addresses.push(parsed);
  }
  return { addresses, errors };
}

/** `Name <addr>` or a bare `addr`, already trimmed and non-empty. */
function parseMailbox(item: string, field: string): Address | MailerError {
  const invalid = (why: string): MailerError =>
    new MailerError(ErrorCodes.ORDER_ADDRESS_INVALID, `${field}: "${item}" is not a valid e-mail address (${why})`, { field, value: item });
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

/** Splits on `,`/`;` outside quotes and angle brackets; drops empty items. */
function splitList(text: string): Piece[] {
  const pieces: Piece[] = [];
  let current = '';
  let inQuote = false;
  let inAngle = false;
  let escaped = false;
  for (const ch of text) {
    if (inQuote) {
      current += ch;
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inQuote = false;
      continue;
    }
    if (ch === '"') inQuote = true;
    else if (ch === '<') inAngle = true;
    else if (ch === '>') inAngle = false;
    else if ((ch === ',' || ch === ';') && !inAngle) {
      pieces.push({ text: current.trim(), separator: ch });
      current = '';
      continue;
    }
    current += ch;
  }
  pieces.push({ text: current.trim(), separator: '' });
  return pieces.filter((p) => p.text !== '');
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
