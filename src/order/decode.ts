/**
 * Bytes of an order file → text. The ERP writes orders in whatever its platform
 * favours (windows-1252 with or without a declaration, UTF-8 with or without a
 * BOM, UTF-16 from .NET), so the encoding is decided here, before any XML
 * parsing: the XML scanner (xml.ts) reads text, not bytes.
 *
 * Encoding rules (docs/order-format.md, *Encoding*):
 * - a byte-order mark decides (UTF-8, UTF-16 LE/BE; UTF-32 is refused);
 * - else the encoding the XML declaration names is honoured;
 * - with no declaration the file is UTF-8, and bytes that are not valid UTF-8
 *   are read as windows-1252 (what older Windows programs write), with a
 *   warning for the log;
 * - a file that claims UTF-8 (its declaration says so, or it starts with the
 *   UTF-8 byte-order mark) and is not valid UTF-8 is refused with
 *   ORDER_ENCODING naming the offset of the first bad byte: the claim is
 *   explicit, so guessing another encoding could send wrong characters
 *   without anyone noticing.
 *
 * Guarantees: never throws; returns either the decoded text (BOM removed) and
 * the name of the decoder actually used, or one file-level MailerError
 * (ORDER_TOO_LARGE, ORDER_EMPTY, ORDER_NOT_XML, ORDER_ENCODING).
 */
import { isUtf8 } from 'node:buffer';

import iconv from 'iconv-lite';
import { ErrorCodes, MailerError } from '../errors.js';

/** Orders above this size are refused unread: a send order is a few KB; 10 MiB leaves room for a huge HTML body. */
export const MAX_ORDER_BYTES = 10 * 1024 * 1024;

export interface DecodedOrder {
  text: string;
  /** The decoder actually used: `utf-8`, `utf-16le`, `utf-16be`, `windows-1252`, or the declared label. */
  encoding: string;
  /** Set when the bytes did not match what the file claims and a fallback was used (for the log). */
  warning?: string;
}

/** Labels decoded as windows-1252, as browsers do (WHATWG): C1 bytes in such files always mean cp1252 characters. */
const CP1252_ALIASES = new Set(['windows-1252', 'cp1252', 'iso-8859-1', 'iso8859-1', 'latin1', 'latin-1', 'l1', 'us-ascii', 'ascii']);
const UTF8_ALIASES = new Set(['utf-8', 'utf8']);
/** Encodings that cannot be read with an ASCII-readable declaration: such a label without a BOM is a mislabel. */
const WIDE_LABELS = /^(utf-?16|utf-?32|ucs-?2|ucs-?4)/;

/**
 * ORDER_TOO_LARGE for an order of `size` bytes: the one wording, whether the
 * bytes were handed in or only a stat of the file (`file`) saw them.
 */
export function tooLargeError(size: number, maxBytes = MAX_ORDER_BYTES, file?: string): MailerError {
  return new MailerError(ErrorCodes.ORDER_TOO_LARGE, `Order file is ${size} bytes, above the ${maxBytes}-byte limit${file === undefined ? '' : `: ${file}`}`, {
    value: String(size),
  });
}

/** Decodes order bytes; see the module comment for the rules. */
export function decodeOrderBytes(bytes: Buffer): DecodedOrder | MailerError {
  if (bytes.length > MAX_ORDER_BYTES) return tooLargeError(bytes.length);
  if (bytes.length === 0) return emptyError();
  const decoded = decodeByBomOrDeclaration(bytes);
  if (decoded instanceof MailerError) return decoded;
  return checkLooksLikeXml(decoded);
}

function emptyError(): MailerError {
  return new MailerError(ErrorCodes.ORDER_EMPTY, 'Order file is empty');
}

function notXml(reason: string): MailerError {
  return new MailerError(ErrorCodes.ORDER_NOT_XML, `Order file is not XML: ${reason}`);
}

/** Empty, binary and plain-text files are told apart here so the operator reads the real reason, not a parser message. */
function checkLooksLikeXml(decoded: DecodedOrder): DecodedOrder | MailerError {
  const trimmed = decoded.text.trim();
  if (trimmed.length === 0) return emptyError();
  if (decoded.text.includes('\u0000')) return notXml('it contains NUL characters (binary content)');
  if (!trimmed.includes('<')) return notXml("it contains no '<'");
  if (!trimmed.startsWith('<')) return notXml("it does not start with '<'");
  return decoded;
}

function decodeByBomOrDeclaration(bytes: Buffer): DecodedOrder | MailerError {
  if (startsWith(bytes, [0xff, 0xfe, 0x00, 0x00]) || startsWith(bytes, [0x00, 0x00, 0xfe, 0xff])) {
    return new MailerError(ErrorCodes.ORDER_ENCODING, 'UTF-32 orders are not supported', { value: 'utf-32' });
  }
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) return decodeClaimedUtf8(bytes, 3, 'starts with the UTF-8 byte-order mark');
  if (startsWith(bytes, [0xff, 0xfe])) return { text: iconv.decode(bytes.subarray(2), 'utf-16le'), encoding: 'utf-16le' };
  if (startsWith(bytes, [0xfe, 0xff])) return { text: iconv.decode(bytes.subarray(2), 'utf-16be'), encoding: 'utf-16be' };
  // UTF-16 without a BOM, recognised by its `<?` (XML 1.0, appendix F).
  if (startsWith(bytes, [0x3c, 0x00, 0x3f, 0x00])) return { text: iconv.decode(bytes, 'utf-16le'), encoding: 'utf-16le' };
  if (startsWith(bytes, [0x00, 0x3c, 0x00, 0x3f])) return { text: iconv.decode(bytes, 'utf-16be'), encoding: 'utf-16be' };
  if (bytes.includes(0x00)) return notXml('it contains NUL bytes (binary content)');
  const label = declaredEncoding(bytes);
  if (label !== undefined && UTF8_ALIASES.has(label)) return decodeClaimedUtf8(bytes, 0, `declares encoding="${label}"`);
  if (label === undefined || WIDE_LABELS.test(label)) {
    return decodeUtf8OrCp1252(bytes, label === undefined ? 'no declaration' : `the declaration "${label}"`);
  }
  if (CP1252_ALIASES.has(label)) return { text: iconv.decode(bytes, 'windows-1252'), encoding: 'windows-1252' };
  if (!iconv.encodingExists(label)) {
    return new MailerError(ErrorCodes.ORDER_ENCODING, `Unknown encoding "${label}" in the XML declaration`, { value: label });
  }
  return { text: iconv.decode(bytes, label), encoding: label };
}

/**
 * UTF-8 as XML's default (no declaration, or a UTF-16 label on an
 * ASCII-readable file, which cannot be honoured); bytes that are not valid
 * UTF-8 are read as windows-1252, which is what older Windows programs write
 * while declaring nothing. Replacement characters would lose the accents for
 * sure; cp1252 keeps them in practice.
 */
function decodeUtf8OrCp1252(bytes: Buffer, claim: string): DecodedOrder {
  if (isUtf8(bytes)) return { text: UTF8.decode(bytes), encoding: 'utf-8' };
  return {
    text: iconv.decode(bytes, 'windows-1252'),
    encoding: 'windows-1252',
    warning: `bytes are not valid UTF-8 (${claim}); read as windows-1252`,
  };
}

/**
 * UTF-8 that the file claims explicitly (`claim` says how), from byte `start`
 * on: decoded, or ORDER_ENCODING with the offset (from the start of the file,
 * counting from 0 as hex editors do) and the value of the first byte that is
 * not valid UTF-8, so the operator can find it.
 */
function decodeClaimedUtf8(bytes: Buffer, start: number, claim: string): DecodedOrder | MailerError {
  const body = bytes.subarray(start);
  if (isUtf8(body)) return { text: UTF8.decode(body), encoding: 'utf-8' };
  const offset = start + firstInvalidUtf8(body);
  const hex = `0x${(bytes[offset] ?? 0).toString(16).toUpperCase().padStart(2, '0')}`;
  return new MailerError(
    ErrorCodes.ORDER_ENCODING,
    `The file ${claim} but is not valid UTF-8: the first bad byte is byte ${offset} (${hex}, line ${lineAt(bytes, offset)}); ` +
      'save it as UTF-8 or declare the encoding it is written in (e.g. encoding="windows-1252")',
    { value: `UTF-8, byte ${offset} (${hex})` },
  );
}

/** Decodes only bytes `isUtf8` accepted; a BOM is removed by the callers, so one inside the text is kept. */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Index of the first byte where `bytes` stops being well-formed UTF-8
 * (Unicode's table 3-7: no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated sequence), or `bytes.length` when it never does.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    // Allowed range of the second byte and the number of continuation bytes, by lead byte.
    let lo = 0x80;
    let hi = 0xbf;
    let extra: number;
    if (b >= 0xc2 && b <= 0xdf) extra = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      extra = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      extra = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= extra; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += extra + 1;
  }
  return bytes.length;
}

/** 1-based line number of byte `offset` (lines end with LF; CRLF counts once). */
function lineAt(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let i = bytes.indexOf(0x0a); i !== -1 && i < offset; i = bytes.indexOf(0x0a, i + 1)) line++;
  return line;
}

/** The lower-cased `encoding="…"` of an ASCII-readable XML declaration, if any. */
function declaredEncoding(bytes: Buffer): string | undefined {
  const head = bytes.subarray(0, 512).toString('latin1');
  const declaration = /^\s*<\?xml\s[^>]*?\?>/.exec(head);
  if (!declaration) return undefined;
  const match = /\sencoding\s*=\s*(["'])([^"']*)\1/.exec(declaration[0]);
  return match ? match[2].trim().toLowerCase() : undefined;
}

function startsWith(bytes: Buffer, prefix: number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}
