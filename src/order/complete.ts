/**
 * Whether an order file's bytes are a whole order yet, judged from the bytes
 * alone: `looksComplete` (the root element `</OrdenEnvio>` is closed),
 * `cannotBecomeOrder` (no more writing can make them an order, so waiting is
 * pointless) and `incompleteError` (the parser's refusal of a document cut
 * short becomes ORDER_INCOMPLETE). io/store/readiness.ts waits on a file being
 * written with these.
 *
 * Guarantees: UTF-8, single-byte encodings and UTF-16 (LE/BE, with or without
 * BOM) alike; only the first and the last KB are looked at, so a large order
 * costs no more than a small one.
 */
import { ErrorCodes, MailerError, type ErrorCode, type SerializedError } from '../errors.js';

/** Enough of the file's end to hold the closing tag and any trailing padding. */
const TAIL_BYTES = 1024;
const CLOSED_ROOT = /<\/(?:[A-Za-z_][\w.-]*:)?OrdenEnvio\s*>$/i;
/** Trailing white space, NULs (pre-allocated files) and Ctrl-Z (old DOS end-of-file). */
const TRAILING_JUNK = /[\s\0\x1a]+$/;

function utf16Order(bytes: Buffer): { le: boolean; bom: number } | undefined {
  if (bytes.length >= 2) {
    if (bytes[0] === 0xff && bytes[1] === 0xfe) return { le: true, bom: 2 };
    if (bytes[0] === 0xfe && bytes[1] === 0xff) return { le: false, bom: 2 };
    if (bytes[0] === 0x3c && bytes[1] === 0x00) return { le: true, bom: 0 };
    if (bytes[0] === 0x00 && bytes[1] === 0x3c) return { le: false, bom: 0 };
  }
  return undefined;
}

/**
 * The bytes from `start` to `stop` as text, without a byte-order mark: UTF-16
 * (LE/BE, with or without BOM) decoded as such, whole characters only,
 * anything else as Latin-1 (the markup looked for is ASCII).
 */
function textOf(bytes: Buffer, start: number, stop: number): string {
  const utf16 = utf16Order(bytes);
  if (utf16 === undefined) {
    const text = bytes.subarray(Math.max(0, start), Math.min(bytes.length, stop)).toString('latin1');
    return start <= 0 ? text.replace(/^\xef\xbb\xbf/, '') : text;
  }
  let from = Math.max(utf16.bom, start);
  if ((from - utf16.bom) % 2 !== 0) from++;
  const to = Math.min(bytes.length, stop);
  const end = to - ((to - from) % 2); // a half-written last character is not there yet
  const slice = Buffer.from(bytes.subarray(from, Math.max(from, end)));
  if (!utf16.le) slice.swap16();
  return slice.toString('utf16le');
}

/** The end of the file as text (see `textOf`). */
const tailText = (bytes: Buffer): string => textOf(bytes, bytes.length - TAIL_BYTES, bytes.length);

/** The XML declaration, processing instructions, comments and white space before the root element. */
const PROLOG = /^(?:\s|<\?[\s\S]*?\?>|<!--[\s\S]*?-->)*/;

/**
 * True when the bytes end with the closed root element `</OrdenEnvio>` (any
 * case, optional namespace prefix), ignoring trailing white space, NULs and
 * Ctrl-Z; UTF-8, single-byte encodings and UTF-16 alike.
 */
export function looksComplete(bytes: Buffer): boolean {
  return CLOSED_ROOT.test(tailText(bytes).replace(TRAILING_JUNK, ''));
}

/**
 * True when no more writing can make the bytes a whole order, so that waiting
 * for them is pointless: content that does not start like XML (a text note or
 * binary data named like an order), or a document whose root element, of
 * another name, is already closed (`<Factura>…</Factura>`). An order being
 * written is never such a file: empty, blank or NUL-filled files and
 * documents cut short can still grow.
 */
export function cannotBecomeOrder(bytes: Buffer): boolean {
  const head = textOf(bytes, 0, TAIL_BYTES).replace(/^[\s\0]+/, '');
  if (head === '') return false;
  // Only the first bytes of a byte-order mark so far.
  if (bytes.length < 3 && [0xef, 0xfe, 0xff].includes(bytes[0]!)) return false;
  if (!head.startsWith('<')) return true;
  const root = /^<([A-Za-z_][\w.:-]*)/.exec(head.replace(PROLOG, ''))?.[1];
  if (root === undefined) return false; // still in the declaration or a comment
  const closing = new RegExp(`</${root.replaceAll('.', '\\.')}\\s*>$`, 'i');
  return closing.test(tailText(bytes).replace(TRAILING_JUNK, ''));
}

/** Parse errors that a document cut short produces: the XML is not closed, or the file ends inside a UTF-8 character. */
const CUT_SHORT_CODES: ReadonlySet<ErrorCode> = new Set([ErrorCodes.ORDER_XML_MALFORMED, ErrorCodes.ORDER_ENCODING]);

/**
 * ORDER_INCOMPLETE when an order the parser refused (`errors`) is a document
 * cut short: refused as malformed (or as invalid UTF-8, a file ending inside
 * a character) and its bytes do not end with the closed root element. The
 * value quotes how the file ends. Undefined when the document is whole and
 * the parser's reasons stand (a complete but broken file, another root, a
 * text file named like an order).
 */
export function incompleteError(bytes: Buffer, errors: readonly (MailerError | SerializedError)[]): MailerError | undefined {
  if (bytes.length === 0 || errors.length === 0 || !CUT_SHORT_CODES.has(errors[0]!.code) || looksComplete(bytes)) return undefined;
  // The last characters, from an element's start tag when there is one: `<Cuerpo>Primera parte`.
  const last = tailText(bytes).replace(TRAILING_JUNK, '').slice(-60).replace(/\s+/g, ' ');
  const end = last.slice(Math.max(0, last.search(/<(?!\/)/))).trim();
  return new MailerError(ErrorCodes.ORDER_INCOMPLETE, `incomplete: the file ends before </OrdenEnvio> (${bytes.length} bytes, ending "${end}")`, {
    value: end,
  });
}
