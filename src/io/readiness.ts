/**
 * "An order is only read once its size and modification time have stopped
 * changing" (spec §1), without making every order pay for that: a file that is
 * already complete (its root element is closed and it did not change while it
 * was read) is returned at once; only one that is still being written waits
 * until it has been still for `settleMs`.
 *
 * This replaces chokidar's awaitWriteFinish, which delays every file by its
 * whole threshold.
 */
import type { Stats } from 'node:fs';
import { ErrorCodes, MailerError } from '../errors.js';
import { fastFs } from './fastfs.js';
import { BUSY_CODES, accessError, errnoOf } from './fsutil.js';

export interface WaitOptions {
  /** How long size and mtime must stay the same before an incomplete-looking file is returned. Default 500. */
  settleMs?: number;
  /** Whether the bytes are a whole order. Default `looksComplete`. */
  isComplete?: (bytes: Buffer) => boolean;
  /** Interval between stats while waiting. Default 100. */
  pollMs?: number;
  /** Give up (FS_ACCESS_FAILED) when the file is still changing or held after this long. Default 60 000. */
  maxWaitMs?: number;
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

/** The end of the file as text: UTF-16 (LE/BE, with or without BOM) decoded as such, anything else as Latin-1 (the tag is ASCII). */
function tailText(bytes: Buffer): string {
  const utf16 = utf16Order(bytes);
  if (utf16 === undefined) return bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)).toString('latin1');
  let from = Math.max(utf16.bom, bytes.length - TAIL_BYTES);
  if ((from - utf16.bom) % 2 !== 0) from++;
  const end = bytes.length - ((bytes.length - from) % 2); // a half-written last character is not there yet
  const slice = Buffer.from(bytes.subarray(from, end));
  if (!utf16.le) slice.swap16();
  return slice.toString('utf16le');
}

/**
 * True when the bytes end with the closed root element `</OrdenEnvio>` (any
 * case, optional namespace prefix), ignoring trailing white space, NULs and
 * Ctrl-Z; UTF-8, single-byte encodings and UTF-16 alike.
 */
export function looksComplete(bytes: Buffer): boolean {
  return CLOSED_ROOT.test(tailText(bytes).replace(TRAILING_JUNK, ''));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const BUSY = Symbol('busy');
type Busy = typeof BUSY;

/** Runs an fs call; "held by another program" becomes BUSY, "gone" becomes CLAIM_LOST, anything else FS_ACCESS_FAILED. */
async function attempt<T>(file: string, op: string, fn: () => Promise<T>): Promise<T | Busy> {
  try {
    return await fn();
  } catch (err) {
    const errno = errnoOf(err);
    if (errno !== undefined && BUSY_CODES.has(errno)) return BUSY;
    if (errno === 'ENOENT') throw new MailerError(ErrorCodes.CLAIM_LOST, `order file vanished while waiting for it: ${file}`, { value: file, cause: err });
    throw accessError(op, file, err);
  }
}

const signature = (s: Stats) => `${s.size}:${s.mtimeMs}`;

/**
 * Reads an order once it is whole. Returns at once when `isComplete` accepts the
 * bytes and the file did not change during the read; otherwise polls its stat
 * until size and mtime stayed the same for `settleMs`, then returns the bytes
 * even if they still look incomplete (the parser then refuses them with a
 * reason). Rejects with CLAIM_LOST when the file disappears (another mailer
 * took it) and FS_ACCESS_FAILED when it stays held (EBUSY/EPERM on Windows) or
 * keeps changing past `maxWaitMs`, or cannot be read at all.
 */
export async function waitUntilComplete(file: string, opts: WaitOptions = {}): Promise<Buffer> {
  const { settleMs = 500, isComplete = looksComplete, pollMs = 100, maxWaitMs = 60_000 } = opts;
  const deadline = Date.now() + maxWaitMs;
  const stat = () => attempt(file, 'stat', () => fastFs.stat(file));
  const read = () => attempt(file, 'read', () => fastFs.readFile(file));

  /** The bytes when the file did not change while being read; BUSY when held; undefined when it changed. */
  const readStill = async (): Promise<{ bytes: Buffer; sig: string } | Busy | undefined> => {
    const before = await stat();
    if (before === BUSY) return BUSY;
    const bytes = await read();
    if (bytes === BUSY) return BUSY;
    const after = await stat();
    if (after === BUSY) return BUSY;
    return signature(before) === signature(after) ? { bytes, sig: signature(after) } : undefined;
  };

  const first = await readStill();
  if (first !== BUSY && first !== undefined && isComplete(first.bytes)) return first.bytes;

  let last = first !== BUSY && first !== undefined ? first.sig : undefined;
  let stableSince = Date.now();
  let held = first === BUSY;
  for (;;) {
    if (Date.now() > deadline) {
      const why = held ? 'held by another program' : 'still being written';
      throw accessError('wait for order', file, Object.assign(new Error(`${why} after ${maxWaitMs} ms`), { code: held ? 'EBUSY' : 'ETIMEDOUT' }));
    }
    await sleep(pollMs);
    const now = await stat();
    held = now === BUSY;
    if (now === BUSY || signature(now) !== last) {
      last = now === BUSY ? undefined : signature(now);
      stableSince = Date.now();
      // It changed: the writer may just have finished. A complete document
      // that did not change while read goes at once, without the settle wait.
      if (now !== BUSY) {
        const again = await readStill();
        if (again !== BUSY && again !== undefined && isComplete(again.bytes)) return again.bytes;
      }
      continue;
    }
    if (Date.now() - stableSince < settleMs) continue;
    const settled = await readStill();
    held = settled === BUSY;
    if (settled !== BUSY && settled !== undefined && settled.sig === last) return settled.bytes;
    last = undefined;
    stableSince = Date.now();
  }
}
