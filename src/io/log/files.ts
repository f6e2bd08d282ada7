/**
 * The log file with housekeeping: daily and by-size rotation, deletion of
 * rotated files older than `keepDays`, and survival of a file that cannot be
 * written for a while (a full disk, a share gone, another program holding
 * the file). The lines are batched into few asynchronous writes of our own
 * (`Sink`) rather than through pino's destination (sonic-boom): its
 * synchronous flush, which pino runs at process exit, retries a refused write
 * (anything but EAGAIN) forever, 100 ms at a time, which would keep the
 * process from exiting, after SIGTERM too, for as long as the disk stays
 * full; and its buffer cannot tell which lines a failed write took with it.
 *
 * Why not pino-roll or rotating-file-stream: pino-roll writes through
 * sonic-boom (above); rotating-file-stream is a stream.Writable whose failed
 * write is an 'error' that ends the stream, with no count of the lines lost
 * and no resuming once the disk has room again; and both keep rotated files
 * by number or total size, not by the date in their name (`keepDays`). We
 * need the exact count of lost lines for the `log.lines_lost` notice.
 *
 * Naming: see `./names.ts`.
 *
 * Guarantees:
 * - no line is lost or duplicated across a rotation: lines written before it
 *   end up in the rotated file, lines after it in the new one, each file in
 *   write order; while the file is being switched, lines wait in memory;
 * - a rotated file is deleted once its date is more than `keepDays` days before
 *   today, at startup and after every rotation; only names of the scheme
 *   above are ever deleted;
 * - writing never blocks the event loop: opens, renames, deletions and writes
 *   are asynchronous (the folder may be on a network share);
 * - a file that cannot be opened or written stops nothing: from the error on,
 *   lines are counted as lost (not kept), `onError` is told once per outage,
 *   and the file is tried again after a pause that grows from 1 to 10
 *   seconds (at the first line after it, or at its end when lines were lost
 *   and none came since). The first thing written once it takes lines again
 *   is one notice (`lostNotice`) with how many lines were lost, between which
 *   times, why, and what `lostDetail` picked from them; then `onRecovered`.
 *   The count is exact: a line counts as lost unless every byte of it reached
 *   the file (a write a full disk cut short leaves half a line, which is then
 *   ended so that the notice starts a line of its own);
 * - memory stays bounded whatever the file does: lines waiting for a slow
 *   file, or for a switch, beyond `MAX_WAITING_BYTES` are counted as lost
 *   rather than kept, and the notice keeps at most `MAX_LOST_DETAILS` details;
 * - stopping never waits for space: `close()` tries the file once more when
 *   lines were lost (so the notice gets written if space came back), and it
 *   and the exit flush try each write once, with no retry loop, counting what
 *   was refused as lost (`onUnwritten` at close). (A write the system never
 *   answers, on a share that hangs, is waited for.)
 */
import { close as closeCb, fstat as fstatCb, fsync, open as openCb, read as readCb, write as writeCb, writeSync } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { deleteOldLogFiles, freeRotatedName, localDay } from './names.js';

export const DEFAULT_LOG_KEEP_DAYS = 30;
export const DEFAULT_LOG_MAX_BYTES = 50 * 1024 * 1024;

/** A batch is written once this many bytes wait (else at the latest after FLUSH_EVERY_MS). */
const MIN_BATCH_BYTES = 32 * 1024;
/**
 * Most bytes in one write (a longer line goes alone). One write is in flight
 * at a time and completes at most once per turn of the event loop, so this
 * is also how much of a backlog (a burst of lines in one tick) a turn drains.
 */
const MAX_WRITE_BYTES = 1024 * 1024;
const FLUSH_EVERY_MS = 1000;
/**
 * Lines waiting for a file that does not keep up (a share that hangs), or for
 * a switch, beyond this are lost rather than kept: far above what a burst
 * leaves waiting (a turn of the event loop drains MAX_WRITE_BYTES), well
 * within the service's memory.
 */
export const MAX_WAITING_BYTES = 32 * 1024 * 1024;
/** Pause before the file is tried again after an error: doubles from the first to the last. */
export const RETRY_FIRST_MS = 1000;
export const RETRY_LAST_MS = 10_000;
/** Details of lost lines the notice keeps; beyond, they are only counted (`detailsOmitted`). */
export const MAX_LOST_DETAILS = 1000;

/** What `lostDetail` reads from a lost line. */
export interface LostLine {
  /** When the line was logged (default: when it was found lost). */
  time?: Date;
  /** Kept for the notice (up to MAX_LOST_DETAILS). */
  detail?: Record<string, unknown>;
}

/** The lines lost since the last notice, for the next one. */
export interface LostLines {
  lines: number;
  /** Times of the first and the last lost line. */
  since: Date;
  until: Date;
  /** Why they were lost (the first error's message). */
  reason: string;
  details: Record<string, unknown>[];
  detailsOmitted: number;
}

export interface RotatingFileOptions {
  /** Absolute path of the current file, e.g. `<workDir>/logs/mailer.log`. */
  file: string;
  /** Size after which the current file is rotated (default 50 MB). */
  maxBytes?: number;
  /** Days a rotated file is kept (default 30). */
  keepDays?: number;
  /** The clock (tests): rotation days and retry pauses. */
  now?: () => Date;
  /** Told once per outage, when the file first cannot be opened or written. */
  onError(err: Error): void;
  /** Told when the file takes lines again after an outage, once its notice (if any lines were lost) is written. */
  onRecovered?: (lost: LostLines | undefined) => void;
  /** Told at close when lost lines could not be reported in the file. */
  onUnwritten?: (lost: LostLines) => void;
  /** Told when an old file cannot be renamed or deleted; logging goes on. */
  onHousekeepingError?: (err: Error) => void;
  /** The notice line (with its newline) written first when the file takes lines again after some were lost. */
  lostNotice(lost: LostLines): string;
  /** Reads a lost line for the notice (its time, a detail worth keeping); only called for lost lines. */
  lostDetail?: (line: Buffer) => LostLine | undefined;
}

export interface RotatingFile {
  write(line: string): void;
  /** Best effort on process exit: the lines waiting in memory are written synchronously, once. */
  flushSync(): void;
  /** Resolves once every line written so far is in a file, or counted as lost. */
  flush(): Promise<void>;
  /** Flushes and closes; later writes are dropped. */
  close(): Promise<void>;
}

const open = promisify(openCb);
const fstat = promisify(fstatCb);
const read = promisify(readCb);
const NEWLINE_BYTE = 0x0a;

/** Ends a half-written last line; never a line of its own in the counts. */
const NEWLINE = Buffer.from('\n');

interface Batch {
  parts: Buffer[];
  data: Buffer;
  written: number;
}

/** The parts of a batch that did not reach the file entirely. */
function unwritten(batch: Batch): Buffer[] {
  const out: Buffer[] = [];
  let end = 0;
  for (const part of batch.parts) {
    end += part.length;
    if (end > batch.written) out.push(part);
  }
  return out;
}

interface SinkEvents {
  /** A batch is entirely in the file. */
  written(): void;
  /** A write failed: the sink closes its file, and `lost` are the lines it did not write, in order. */
  failed(sink: Sink, err: Error, lost: Buffer[]): void;
}

/**
 * One open log file. Lines are batched: a write starts once 32 KB wait, on
 * `flush`/`end`, or at the latest a second after the line. Each write is a
 * round trip through the thread pool that costs the main thread far more than
 * the bytes do (a busy mailer writes ~4 KB of log per order), and lines are
 * kept as the Buffers they came as and joined once per batch (joining a
 * growing string per line copied ~200 KB per order).
 */
class Sink {
  private queue: Buffer[] = [];
  /** First queued line not yet taken into a batch. */
  private head = 0;
  private queuedBytes = 0;
  private batch: Batch | undefined;
  private drainWaiters: (() => void)[] = [];
  private state: 'open' | 'ending' | 'done' = 'open';
  /** Resolves once the file is closed (after `end`, or after a failure). */
  private readonly closed: Promise<void>;
  private markClosed!: () => void;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly fd: number,
    private readonly events: SinkEvents,
  ) {
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    this.timer = setInterval(() => {
      if (this.batch === undefined && this.waiting() > 0) this.next();
    }, FLUSH_EVERY_MS);
    this.timer.unref();
  }

  private waiting(): number {
    return this.queue.length - this.head;
  }

  /** Queues one line; false when it was not taken (closed, or MAX_WAITING_BYTES already wait): the caller counts it as lost. */
  write(line: Buffer): boolean {
    if (this.state !== 'open') return false;
    if (this.queuedBytes > 0 && this.queuedBytes + line.length > MAX_WAITING_BYTES) return false;
    this.queue.push(line);
    this.queuedBytes += line.length;
    if (this.batch === undefined && this.queuedBytes >= MIN_BATCH_BYTES) this.next();
    return true;
  }

  /** Starts the next batch, or, with nothing waiting, wakes `flush` and finishes `end`. */
  private next(): void {
    if (this.waiting() === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
      if (this.state === 'ending') this.finish();
      return;
    }
    let end = this.head;
    let size = 0;
    do {
      size += this.queue[end]!.length;
      end += 1;
    } while (end < this.queue.length && size + this.queue[end]!.length <= MAX_WRITE_BYTES);
    const parts = this.queue.slice(this.head, end);
    this.head = end;
    this.queuedBytes -= size;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.batch = { parts, data: parts.length === 1 ? parts[0]! : Buffer.concat(parts, size), written: 0 };
    this.writeBatch(this.batch);
  }

  private writeBatch(batch: Batch): void {
    writeCb(this.fd, batch.data, batch.written, batch.data.length - batch.written, null, (err, n) => {
      if (this.batch !== batch) return; // the sink failed meanwhile (exit flush)
      if (err === null && n === 0) err = Object.assign(new Error('the log file took no bytes'), { code: 'EIO' });
      if (err) {
        this.fail(err);
        return;
      }
      batch.written += n;
      if (batch.written < batch.data.length) {
        this.writeBatch(batch);
        return;
      }
      this.batch = undefined;
      this.events.written();
      if (this.queuedBytes >= MIN_BATCH_BYTES || this.drainWaiters.length > 0 || this.state === 'ending') this.next();
    });
  }

  /** Closes the file, and tells what it did not write. */
  private fail(err: Error): void {
    const lost = this.batch ? unwritten(this.batch) : [];
    for (let i = this.head; i < this.queue.length; i++) lost.push(this.queue[i]!);
    this.batch = undefined;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.state = 'done';
    clearInterval(this.timer);
    closeCb(this.fd, () => this.markClosed());
    this.events.failed(this, err, lost);
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private finish(): void {
    this.state = 'done';
    clearInterval(this.timer);
    // The fsync and close errors change nothing any more: every line was written.
    fsync(this.fd, () => closeCb(this.fd, () => this.markClosed()));
  }

  /** Resolves once every line queued so far is written, or the sink failed. */
  flush(): Promise<void> {
    if (this.state === 'done' || (this.batch === undefined && this.waiting() === 0)) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      if (this.batch === undefined) this.next();
    });
  }

  /** Writes what waits, then closes the file; resolves once it is closed (also after a failure). */
  end(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'ending';
      if (this.batch === undefined) this.next();
    }
    return this.closed;
  }

  /**
   * At process exit: the lines not yet in a batch, in one synchronous write,
   * tried once. A batch still in flight may land after them (its bytes were
   * handed to the thread pool before). On an error the rest is lost.
   */
  flushSync(): void {
    if (this.state === 'done' || this.waiting() === 0) return;
    const parts = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    const pending: Batch = { parts, data: Buffer.concat(parts), written: 0 };
    try {
      while (pending.written < pending.data.length) {
        const n = writeSync(this.fd, pending.data, pending.written, pending.data.length - pending.written);
        if (n === 0) throw Object.assign(new Error('the log file took no bytes'), { code: 'EIO' });
        pending.written += n;
      }
    } catch (err) {
      this.queue = unwritten(pending);
      this.fail(err as Error);
    }
  }
}

/** Opens the current file for appending; `whole` is false when it ends in the middle of a line. */
async function openFile(file: string): Promise<{ fd: number; size: number; whole: boolean }> {
  const fd = await open(file, 'a+');
  try {
    const { size } = await fstat(fd);
    if (size === 0) return { fd, size, whole: true };
    const last = Buffer.alloc(1);
    await read(fd, last, 0, 1, size - 1);
    return { fd, size, whole: last[0] === NEWLINE_BYTE };
  } catch (err) {
    closeCb(fd, () => undefined);
    throw err;
  }
}

/** The lost lines since the last notice: a count, a time span, a reason and a bounded list of details. */
class LostLedger {
  private lost: LostLines | undefined;

  constructor(private readonly read: ((line: Buffer) => LostLine | undefined) | undefined) {}

  get lines(): number {
    return this.lost?.lines ?? 0;
  }

  add(line: Buffer, at: Date, reason: string): void {
    const info = this.read?.(line);
    const time = info?.time !== undefined && !Number.isNaN(info.time.getTime()) ? info.time : at;
    const lost = (this.lost ??= { lines: 0, since: time, until: time, reason, details: [], detailsOmitted: 0 });
    lost.lines += 1;
    if (time < lost.since) lost.since = time;
    if (time > lost.until) lost.until = time;
    if (info?.detail === undefined) return;
    if (lost.details.length < MAX_LOST_DETAILS) lost.details.push(info.detail);
    else lost.detailsOmitted += 1;
  }

  /** Puts back a loss taken for a notice that was lost too (it came first). */
  restore(earlier: LostLines): void {
    const later = this.lost;
    if (later === undefined) {
      this.lost = earlier;
      return;
    }
    const details = [...earlier.details, ...later.details];
    this.lost = {
      lines: earlier.lines + later.lines,
      since: earlier.since < later.since ? earlier.since : later.since,
      until: earlier.until > later.until ? earlier.until : later.until,
      reason: earlier.reason,
      details: details.slice(0, MAX_LOST_DETAILS),
      detailsOmitted: earlier.detailsOmitted + later.detailsOmitted + Math.max(0, details.length - MAX_LOST_DETAILS),
    };
  }

  /** The loss so far (undefined when none), and a fresh start. */
  take(): LostLines | undefined {
    const lost = this.lost;
    this.lost = undefined;
    return lost;
  }
}

/** See the module comment. */
export function createRotatingFile(opts: RotatingFileOptions): RotatingFile {
  const maxBytes = opts.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
  const keepDays = opts.keepDays ?? DEFAULT_LOG_KEEP_DAYS;
  const now = opts.now ?? (() => new Date());
  const housekeepingError = opts.onHousekeepingError ?? (() => undefined);
  const ledger = new LostLedger(opts.lostDetail);

  let sink: Sink | undefined;
  /** Lines written while the file is being switched (startup, rotation, a new try after an error). */
  let held: Buffer[] = [];
  let heldBytes = 0;
  let day = localDay(now());
  let bytes = 0;
  let closed = false;
  /** The running switch; undefined while `sink` takes writes, or while the file is down (both undefined). */
  let switching: Promise<void> | undefined;
  /** From an error until a write succeeds again: the first error, told once. */
  let outage: Error | undefined;
  let pauseMs = RETRY_FIRST_MS;
  let retryAt = 0;
  /** The notice in the current file's first batch, and the loss it reports, until that batch is written. */
  let notice: { line: Buffer; lost: LostLines } | undefined;

  /** Counts a line that will not reach the file (the notice's own loss goes back to the ledger instead). */
  const lose = (line: Buffer, reason: string): void => {
    if (line === NEWLINE) return;
    if (notice !== undefined && line === notice.line) {
      ledger.restore(notice.lost);
      notice = undefined;
      return;
    }
    ledger.add(line, now(), reason);
  };

  /** Tries the file again once the pause is over, also when no line comes to start the try. */
  let retryTimer: NodeJS.Timeout | undefined;
  const armRetry = (): void => {
    if (retryTimer !== undefined) return;
    retryTimer = setTimeout(
      () => {
        retryTimer = undefined;
        if (closed || sink !== undefined || switching !== undefined || ledger.lines === 0) return;
        if (now().getTime() < retryAt) armRetry();
        else switching = run(resume());
      },
      Math.max(retryAt - now().getTime(), 0),
    );
    retryTimer.unref();
  };

  const down = (err: Error): void => {
    retryAt = now().getTime() + pauseMs;
    pauseMs = Math.min(pauseMs * 2, RETRY_LAST_MS);
    if (ledger.lines > 0) armRetry();
    if (outage !== undefined) return;
    outage = err;
    opts.onError(err);
  };

  const events: SinkEvents = {
    written() {
      const reported = notice;
      notice = undefined;
      pauseMs = RETRY_FIRST_MS;
      if (outage === undefined && reported === undefined) return;
      outage = undefined;
      opts.onRecovered?.(reported?.lost);
    },
    failed(failedSink, err, lost) {
      if (sink === failedSink) sink = undefined;
      for (const line of lost) lose(line, err.message);
      down(err);
    },
  };

  const hold = (line: Buffer): void => {
    if (heldBytes + line.length > MAX_WAITING_BYTES) {
      lose(line, `more than ${MAX_WAITING_BYTES} bytes of lines waited for the log file`);
      return;
    }
    held.push(line);
    heldBytes += line.length;
  };

  const prune = async (): Promise<void> => {
    try {
      await deleteOldLogFiles(opts.file, keepDays, now());
    } catch (err) {
      housekeepingError(err as Error);
    }
  };

  /** Opens the current file, writes the notice of lost lines if any, then the lines that waited. */
  const resume = async (): Promise<void> => {
    await mkdir(path.dirname(opts.file), { recursive: true });
    const opened = await openFile(opts.file);
    const next = new Sink(opened.fd, events);
    bytes = opened.size;
    sink = next;
    switching = undefined;
    const lost = ledger.take();
    const start = opened.whole ? '' : '\n';
    const first = lost === undefined ? (opened.whole ? undefined : NEWLINE) : Buffer.from(start + opts.lostNotice(lost));
    if (lost !== undefined) notice = { line: first!, lost };
    if (first !== undefined) {
      next.write(first);
      bytes += first.length;
    }
    const waiting = held;
    held = [];
    heldBytes = 0;
    for (const line of waiting) writeBytes(line);
  };

  const start = async (): Promise<void> => {
    await mkdir(path.dirname(opts.file), { recursive: true });
    try {
      const info = await stat(opts.file);
      const lastDay = localDay(info.mtime);
      if (info.isFile() && info.size > 0 && lastDay !== localDay(now())) {
        // Left from an earlier day (the mailer was not running at midnight).
        await rename(opts.file, await freeRotatedName(opts.file, lastDay, false));
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await prune();
    await resume();
  };

  const rotate = async (old: Sink, oldDay: string, bySize: boolean): Promise<void> => {
    await old.end();
    try {
      await rename(opts.file, await freeRotatedName(opts.file, oldDay, bySize));
    } catch (err) {
      // Not fatal: the lines go on into the same file, and the next rotation tries again.
      housekeepingError(err as Error);
    }
    await prune();
    await resume();
  };

  /** A switch that fails leaves the file down: what waited for it is lost. */
  const run = (work: Promise<void>): Promise<void> =>
    work.catch((err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      switching = undefined;
      const waiting = held;
      held = [];
      heldBytes = 0;
      for (const line of waiting) lose(line, error.message);
      down(error);
    });

  function write(line: string): void {
    writeBytes(Buffer.from(line));
  }

  function writeBytes(line: Buffer): void {
    if (closed) return;
    if (sink === undefined) {
      if (switching === undefined && now().getTime() >= retryAt) switching = run(resume());
      if (switching !== undefined) hold(line);
      else {
        lose(line, outage?.message ?? 'the log file was not open');
        armRetry();
      }
      return;
    }
    const length = line.length;
    const today = localDay(now());
    if (today !== day && bytes === 0) day = today;
    const full = bytes > 0 && bytes + length > maxBytes;
    if (today !== day || full) {
      const old = sink;
      const oldDay = day;
      sink = undefined;
      held.push(line);
      heldBytes += length;
      day = today;
      bytes = 0;
      switching = run(rotate(old, oldDay, today === oldDay));
      return;
    }
    if (!sink.write(line)) {
      lose(line, `more than ${MAX_WAITING_BYTES} bytes of lines waited for the log file`);
      return;
    }
    bytes += length;
  }

  switching = run(start());

  /** Waits until no switch is running (a switch may start another one, for lines that filled a file at once). */
  const settle = async (): Promise<void> => {
    while (switching !== undefined) await switching;
  };

  const flushSync = (): void => sink?.flushSync();
  process.on('exit', flushSync);

  return {
    write,
    flushSync,
    async flush() {
      await settle();
      await sink?.flush();
    },
    async close() {
      await settle();
      // One last try, whatever the pause, so that lost lines are reported if the file takes lines again.
      if (sink === undefined && ledger.lines > 0 && !closed) {
        switching = run(resume());
        await settle();
      }
      closed = true;
      clearTimeout(retryTimer);
      process.off('exit', flushSync);
      const current = sink;
      sink = undefined;
      if (current !== undefined) await current.end();
      const unreported = ledger.take() ?? (notice?.lost);
      notice = undefined;
      if (unreported !== undefined) opts.onUnwritten?.(unreported);
    },
  };
}
