/**
 * Bytes of an order file → text. The ERP writes orders in whatever its platform
 * favours (windows-1252 with or without a declaration, UTF-8 with or without a
 * BOM, UTF-16 from .NET), so the encoding is decided here, before any XML
 * parsing: fast-xml-parser itself assumes UTF-8.
 *
 * Guarantees: never throws; returns either the decoded text (BOM removed) and
 * the name of the decoder actually used, or one file-level MailerError
 * (ORDER_TOO_LARGE, ORDER_EMPTY, ORDER_NOT_XML, ORDER_ENCODING).
 */
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

/** Decodes order bytes; see the module comment for the rules. */
export function decodeOrderBytes(bytes: Buffer): DecodedOrder | MailerError {
  if (bytes.length > MAX_ORDER_BYTES) {
    return new MailerError(ErrorCodes.ORDER_TOO_LARGE, `Order file is ${bytes.length} bytes, above the ${MAX_ORDER_BYTES}-byte limit`, {
      value: String(bytes.length),
    });
  }
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
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) return decodeUtf8OrCp1252(bytes.subarray(3), 'the UTF-8 BOM');
  if (startsWith(bytes, [0xff, 0xfe])) return { text: iconv.decode(bytes.subarray(2), 'utf-16le'), encoding: 'utf-16le' };
  if (startsWith(bytes, [0xfe, 0xff])) return { text: iconv.decode(bytes.subarray(2), 'utf-16be'), encoding: 'utf-16be' };
  // UTF-16 without a BOM, recognised by its `<?` (XML 1.0, appendix F).
  if (startsWith(bytes, [0x3c, 0x00, 0x3f, 0x00])) return { text: iconv.decode(bytes, 'utf-16le'), encoding: 'utf-16le' };
  if (startsWith(bytes, [0x00, 0x3c, 0x00, 0x3f])) return { text: iconv.decode(bytes, 'utf-16be'), encoding: 'utf-16be' };
  if (bytes.includes(0x00)) return notXml('it contains NUL bytes (binary content)');
  const label = declaredEncoding(bytes);
  if (label === undefined || UTF8_ALIASES.has(label) || WIDE_LABELS.test(label)) {
    return decodeUtf8OrCp1252(bytes, label === undefined ? 'no declaration' : `the declaration "${label}"`);
  }
  if (CP1252_ALIASES.has(label)) return { text: iconv.decode(bytes, 'windows-1252'), encoding: 'windows-1252' };
  if (!iconv.encodingExists(label)) {
    return new MailerError(ErrorCodes.ORDER_ENCODING, `Unknown encoding "${label}" in the XML declaration`, { value: label });
  }
  return { text: iconv.decode(bytes, label), encoding: label };
}

/**
 * UTF-8 as claimed (or as XML's default); bytes that are not valid UTF-8 are
 * read as windows-1252, which is what older Windows programs write while
 * declaring nothing or even "UTF-8". Replacement characters would lose the
 * accents for sure; cp1252 keeps them in practice.
 */
function decodeUtf8OrCp1252(bytes: Buffer, claim: string): DecodedOrder {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    return {
      text: iconv.decode(bytes, 'windows-1252'),
      encoding: 'windows-1252',
      warning: `bytes are not valid UTF-8 (${claim}); read as windows-1252`,
    };
  }
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
