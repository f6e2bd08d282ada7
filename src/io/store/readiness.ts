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
 * for: the parser refuses it at once (`cannotBecomeOrder`). Those judgements
 * of the bytes are order/complete.ts; this module does the file calls.
 *
 * Orders above MAX_ORDER_BYTES are never read: the size comes from a stat
 * (`readOrderBytes`: fstat of the open file), and such a file is refused with
 * ORDER_TOO_LARGE, so a file of gigabytes costs neither memory nor a long
 * blocking read.
 *
 * chokidar's awaitWriteFinish is not used: it delays every file by its whole
 * threshold.
 */
import type { Stats } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, MailerError } from '../../errors.js';
import { cannotBecomeOrder, looksComplete } from '../../order/complete.js';
import { MAX_ORDER_BYTES, tooLargeError } from '../../order/decode.js';
import { asyncFileCalls, type FileCalls } from './file-calls.js';
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
  /** The file calls to make (the order store's `calls`). Default: asynchronous. */
  calls?: FileCalls;
}

/**
 * An order file's bytes, after an fstat of the open file says it holds at
 * most `maxBytes`; ORDER_TOO_LARGE (nothing read) when it holds more. Throws
 * the raw fs error otherwise.
 */
export async function readOrderBytes(file: string, maxBytes = MAX_ORDER_BYTES, calls: FileCalls = asyncFileCalls): Promise<Buffer> {
  const read = await calls.readAtMost(file, maxBytes);
  if (Buffer.isBuffer(read)) return read;
  throw tooLargeError(read.size, maxBytes, file);
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
  const { incompleteSettleMs = 60_000, settleMs = 500, isComplete = looksComplete, pollMs = 100, maxWaitMs = 60_000, maxBytes = MAX_ORDER_BYTES, signal, calls = asyncFileCalls } = opts;
  const deadline = Date.now() + maxWaitMs;
  const stat = () => attempt(file, 'stat', () => calls.stat(file));

  /** The bytes when they did not change while being read; held, too large or changing otherwise. */
  const look = async (): Promise<Look> => {
    const before = await stat();
    if (before instanceof Held) return { kind: 'held', held: before };
    const sig = signature(before);
    if (before.size > maxBytes) return { kind: 'tooLarge', size: before.size, sig };
    let bytes: Buffer | Held;
    try {
      bytes = await attempt(file, 'read', () => readOrderBytes(file, maxBytes, calls));
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
