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
import { accessError, errnoOf, heldError, isHeld } from './fsutil.js';

export interface WaitOptions {
  /** How long size and mtime must stay the same before an incomplete-looking file is returned. Default 500. */
  settleMs?: number;
  /** Whether the bytes are a whole order. Default `looksComplete`. */
  isComplete?: (bytes: Buffer) => boolean;
  /** Interval between stats while waiting. Default 100. */
  pollMs?: number;
  /** Give up (FS_HELD when held open, else FS_ACCESS_FAILED) when the file is still held or changing after this long. Default 60 000. */
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

/** An fs call refused because another program holds the file: the raw error, for its errno. */
class Held {
  constructor(readonly cause: unknown) {}
}

/** Runs an fs call; "held by another program" becomes `Held`, "gone" becomes CLAIM_LOST, anything else FS_ACCESS_FAILED. */
async function attempt<T>(file: string, op: string, fn: () => Promise<T>): Promise<T | Held> {
  try {
    return await fn();
  } catch (err) {
    if (isHeld(err)) return new Held(err);
    if (errnoOf(err) === 'ENOENT') throw new MailerError(ErrorCodes.CLAIM_LOST, `order file vanished while waiting for it: ${file}`, { value: file, cause: err });
    throw accessError(op, file, err);
  }
}

const signature = (s: Stats) => `${s.size}:${s.mtimeMs}`;

/**
 * Reads an order once it is whole. Returns at once when `isComplete` accepts the
 * bytes and the file did not change during the read; otherwise polls its stat
 * until size and mtime stayed the same for `settleMs`, then returns the bytes
 * even if they still look incomplete (the parser then refuses them with a
 * reason). A file held open by another program (Windows: its writer or an
 * antivirus opened it without sharing, so reading it fails with EBUSY; stat
 * still works) is waited for like one still being written.
 *
 * Rejects with CLAIM_LOST when the file disappears (another mailer took it);
 * FS_HELD when its last read after `maxWaitMs` was still refused as held
 * (EBUSY, EPERM, EACCES: the message has the errno); FS_ACCESS_FAILED when it
 * kept changing past `maxWaitMs`, or cannot be read at all.
 */
export async function waitUntilComplete(file: string, opts: WaitOptions = {}): Promise<Buffer> {
  const { settleMs = 500, isComplete = looksComplete, pollMs = 100, maxWaitMs = 60_000 } = opts;
  const deadline = Date.now() + maxWaitMs;
  const stat = () => attempt(file, 'stat', () => fastFs.stat(file));
  const read = () => attempt(file, 'read', () => fastFs.readFile(file));
  /** Why the last stat or read was refused, while the file is held; undefined once one succeeds. */
  let held: Held | undefined;

  /** The bytes when the file did not change while being read; undefined when it changed or is held (then `held` says why). */
  const readStill = async (): Promise<{ bytes: Buffer; sig: string } | undefined> => {
    const before = await stat();
    const bytes = before instanceof Held ? before : await read();
    const after = bytes instanceof Held ? bytes : await stat();
    if (after instanceof Held) {
      held = after;
      return undefined;
    }
    held = undefined;
    return signature(before as Stats) === signature(after) ? { bytes: bytes as Buffer, sig: signature(after) } : undefined;
  };

  const first = await readStill();
  if (first !== undefined && isComplete(first.bytes)) return first.bytes;

  let last = first?.sig;
  let stableSince = Date.now();
  for (;;) {
    if (Date.now() > deadline) {
      if (held !== undefined) throw heldError('wait for order', file, held.cause);
      throw accessError('wait for order', file, Object.assign(new Error(`still being written after ${maxWaitMs} ms`), { code: 'ETIMEDOUT' }));
    }
    await sleep(pollMs);
    const now = await stat();
    if (now instanceof Held || signature(now) !== last) {
      if (now instanceof Held) held = now;
      last = now instanceof Held ? undefined : signature(now);
      stableSince = Date.now();
      // It changed: the writer may just have finished. A complete document
      // that did not change while read goes at once, without the settle wait.
      if (!(now instanceof Held)) {
        const again = await readStill();
        if (again !== undefined && isComplete(again.bytes)) return again.bytes;
      }
      continue;
    }
    if (Date.now() - stableSince < settleMs) continue;
    const settled = await readStill();
    if (settled !== undefined && settled.sig === last) return settled.bytes;
    last = undefined;
    stableSince = Date.now();
  }
}
