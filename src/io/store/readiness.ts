/**
 * "An order is only read once its size and modification time have stopped
 * changing" (spec §1), without making every order pay for that: a file that is
 * already complete (its root element is closed and it did not change while it
 * was read) is returned at once; only one that is still being written waits.
 *
 * Writers pause: the ERP writes over network shares and may stop for seconds
 * in the middle of a file. So a document that is not complete yet (no closing
 * `</OrdenEnvio>`) is waited for while it may still grow, until it has been
 * unchanged for a generous `incompleteSettleMs` (`incompleteSettleSeconds` in
 * the configuration, a minute by default); only then is it handed on, and the
 * order fails as ORDER_INCOMPLETE (`incompleteError`), never as a malformed
 * XML at "line 1". What no more writing can turn into an order (a text or
 * binary file named like one, another kind of XML document) is not waited
 * for: the parser refuses it at once (`cannotBecomeOrder`).
 *
 * Orders above MAX_ORDER_BYTES are never read: the size comes from a stat
 * (`readOrderBytes`: fstat of the open file), and such a file is refused with
 * ORDER_TOO_LARGE, so a file of gigabytes costs neither memory nor a long
 * blocking read.
 *
 * This replaces chokidar's awaitWriteFinish, which delays every file by its
 * whole threshold.
 */
import type { Stats } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, MailerError, type ErrorCode, type SerializedError } from '../../errors.js';
import { MAX_ORDER_BYTES, tooLargeError } from '../../order/decode.js';
import { fastFs } from './file-calls.js';
import { accessError, errnoOf, heldError, isHeld } from './files.js';

export interface WaitOptions {
  /**
   * How long a file whose document is not complete must stay unchanged (size
   * and mtime) before it is returned as it is. Default 60 000.
   */
  incompleteSettleMs?: number;
  /**
   * How long a file above `maxBytes`, or one that changed while it was read,
   * must stay unchanged before it is refused (ORDER_TOO_LARGE) or read again.
   * Default 500.
   */
  settleMs?: number;
  /** Whether the bytes are a whole order. Default `looksComplete`. */
  isComplete?: (bytes: Buffer) => boolean;
  /** Interval between stats while waiting. Default 100. */
  pollMs?: number;
  /**
   * Give up when the file is still held open (FS_HELD), or still changing
   * (FS_ACCESS_FAILED), after this long. A file that is unchanged at that
   * moment is not given up: it is waited for until its settle time ends.
   * Default 60 000.
   */
  maxWaitMs?: number;
  /** Files above this many bytes are never read. Default MAX_ORDER_BYTES. */
  maxBytes?: number;
  /** Stops the wait (the mailer is stopping): rejects with the signal's AbortError, the file untouched. */
  signal?: AbortSignal;
}

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

/**
 * An order file's bytes, after an fstat of the open file says it holds at
 * most `maxBytes`; ORDER_TOO_LARGE (nothing read) when it holds more. Throws
 * the raw fs error otherwise.
 */
export async function readOrderBytes(file: string, maxBytes = MAX_ORDER_BYTES): Promise<Buffer> {
  const read = await fastFs.readAtMost(file, maxBytes);
  if (Buffer.isBuffer(read)) return read;
  throw tooLargeError(read.size, maxBytes, file);
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


/** An fs call refused because another program holds the file: the raw error, for its errno. */
class Held {
  constructor(readonly cause: unknown) {}
}

/** Runs an fs call; "held by another program" becomes `Held`, "gone" becomes CLAIM_LOST, a MailerError (too large) passes, anything else is FS_ACCESS_FAILED. */
async function attempt<T>(file: string, op: string, fn: () => Promise<T>): Promise<T | Held> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof MailerError) throw err;
    if (isHeld(err)) return new Held(err);
    if (errnoOf(err) === 'ENOENT') throw new MailerError(ErrorCodes.CLAIM_LOST, `order file vanished while waiting for it: ${file}`, { value: file, cause: err });
    throw accessError(op, file, err);
  }
}

const signature = (s: Stats) => `${s.size}:${s.mtimeMs}`;

/**
 * What one look at the file found: a whole document, one not complete yet,
 * a file too large to read, a file that changed while it was read, or a file
 * another program holds. `sig` is the stat signature it was found at.
 */
type Look =
  | { kind: 'complete'; bytes: Buffer; sig: string }
  | { kind: 'incomplete'; bytes?: Buffer; sig: string }
  | { kind: 'tooLarge'; size: number; sig: string }
  | { kind: 'changing'; sig?: string }
  | { kind: 'held'; held: Held; sig?: string };

/**
 * Reads an order once it is whole. Returns at once when `isComplete` accepts
 * the bytes, or no more writing could make them an order (`cannotBecomeOrder`:
 * the parser refuses them at once), and the file did not change during the
 * read. Otherwise polls its
 * stat, looks again at every change (returning as soon as it is complete),
 * and once it has been unchanged long enough:
 * - not complete after `incompleteSettleMs`: returns the bytes as they are
 *   (the order then fails as ORDER_INCOMPLETE, see `incompleteError`);
 * - above `maxBytes` after `settleMs`: rejects with ORDER_TOO_LARGE; such a
 *   file is only ever stat'ed, never read.
 * A file held open by another program (Windows: its writer or an antivirus
 * opened it without sharing, so reading it fails with EBUSY; stat still
 * works) is waited for like one still being written.
 *
 * Rejects with CLAIM_LOST when the file disappears (another mailer took it);
 * with an AbortError as soon as `signal` aborts;
 * FS_HELD when after `maxWaitMs` it was still refused as held (EBUSY, EPERM,
 * EACCES: the message has the errno); FS_ACCESS_FAILED when it was still
 * changing after `maxWaitMs`, or cannot be read at all.
 */
export async function waitUntilComplete(file: string, opts: WaitOptions = {}): Promise<Buffer> {
  const { incompleteSettleMs = 60_000, settleMs = 500, isComplete = looksComplete, pollMs = 100, maxWaitMs = 60_000, maxBytes = MAX_ORDER_BYTES, signal } = opts;
  const deadline = Date.now() + maxWaitMs;
  const stat = () => attempt(file, 'stat', () => fastFs.stat(file));

  /** The bytes when they did not change while being read; held, too large or changing otherwise. */
  const look = async (): Promise<Look> => {
    const before = await stat();
    if (before instanceof Held) return { kind: 'held', held: before };
    const sig = signature(before);
    if (before.size > maxBytes) return { kind: 'tooLarge', size: before.size, sig };
    let bytes: Buffer | Held;
    try {
      bytes = await attempt(file, 'read', () => readOrderBytes(file, maxBytes));
    } catch (err) {
      if ((err as MailerError).code === ErrorCodes.ORDER_TOO_LARGE) return { kind: 'changing' }; // it grew past the limit since the stat
      throw err;
    }
    if (bytes instanceof Held) return { kind: 'held', held: bytes, sig };
    const after = await stat();
    if (after instanceof Held) return { kind: 'held', held: after, sig };
    if (signature(after) !== sig) return { kind: 'changing', sig: signature(after) };
    return isComplete(bytes) || cannotBecomeOrder(bytes) ? { kind: 'complete', bytes, sig } : { kind: 'incomplete', bytes, sig };
  };
  /** What is kept of a look while waiting: not the bytes of an incomplete document, which may be megabytes. */
  const kept = (l: Look): Look => (l.kind === 'incomplete' ? { kind: 'incomplete', sig: l.sig } : l);
  const giveUp = (current: Look): never => {
    if (current.kind === 'held') throw heldError('wait for order', file, current.held.cause);
    throw accessError('wait for order', file, Object.assign(new Error(`still being written after ${maxWaitMs} ms`), { code: 'ETIMEDOUT' }));
  };

  let current = kept(await look());
  let stableSince = Date.now();
  for (;;) {
    if (current.kind === 'complete') return current.bytes;
    if (current.kind === 'held' && Date.now() > deadline) giveUp(current);
    await sleep(pollMs, undefined, signal && { signal });
    const now = await stat();
    if (now instanceof Held) {
      current = { kind: 'held', held: now };
      continue;
    }
    const sig = signature(now);
    if (sig !== current.sig) {
      // It changed: the writer may just have finished; a complete document goes at once.
      if (Date.now() > deadline) giveUp(current);
      stableSince = Date.now();
      current = now.size > maxBytes ? { kind: 'tooLarge', size: now.size, sig } : kept(await look());
      continue;
    }
    if (Date.now() - stableSince < (current.kind === 'incomplete' ? incompleteSettleMs : settleMs)) continue;
    if (current.kind === 'tooLarge') throw tooLargeError(current.size, maxBytes, file);
    const again = await look();
    const stillIncomplete = again.kind === 'incomplete' && again.sig === sig;
    // Unchanged and still not complete after the long settle: hand it on as it is.
    if (current.kind === 'incomplete' && stillIncomplete) return again.bytes!;
    // Found incomplete now, it keeps its stillness since the last change; anything else (held) is looked at again after another settle.
    if (!stillIncomplete) stableSince = Date.now();
    current = kept(again);
  }
}
