/**
 * The log file with housekeeping: daily and by-size rotation, and deletion of
 * rotated files older than `keepDays`. A small rotation of our own instead of
 * `pino-roll`: that transport runs in a worker thread (a second event loop, a
 * flush on exit that can be cut short) and is not a dependency here; this
 * needs only sonic-boom, which pino already uses for the file.
 *
 * Naming: see `./log-names.ts`.
 *
 * Guarantees:
 * - no line is lost or duplicated across a rotation: lines written before it
 *   end up in the rotated file, lines after it in the new one, each file in
 *   write order; while the file is being switched, lines wait in memory;
 * - a rotated file is deleted once its date is more than `keepDays` days before
 *   today, at startup and after every rotation; only names of the scheme
 *   above are ever deleted;
 * - writing never blocks the event loop: renames, deletions and writes are
 *   asynchronous (the folder may be on a network share);
 * - a file that cannot be opened or written is reported once (`onError`) and
 *   later lines are dropped; the program keeps running.
 */
import { mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { EventEmitter } from 'node:events';

import pino from 'pino';

import { deleteOldLogFiles, freeRotatedName, localDay } from './log-names.js';

export const DEFAULT_LOG_KEEP_DAYS = 30;
export const DEFAULT_LOG_MAX_BYTES = 50 * 1024 * 1024;

export interface RotatingFileOptions {
  /** Absolute path of the current file, e.g. `<workDir>/logs/mailer.log`. */
  file: string;
  /** Size after which the current file is rotated (default 50 MB). */
  maxBytes?: number;
  /** Days a rotated file is kept (default 30). */
  keepDays?: number;
  /** The clock (tests). */
  now?: () => Date;
  /** Told once when the file cannot be opened or written; later lines are dropped. */
  onError(err: Error): void;
  /** Told when an old file cannot be renamed or deleted; logging goes on. */
  onHousekeepingError?: (err: Error) => void;
}

export interface RotatingFile {
  write(line: string): void;
  /** Best effort on process exit: what the current file holds in memory is written synchronously. */
  flushSync(): void;
  /** Resolves once every line written so far is in a file. */
  flush(): Promise<void>;
  /** Flushes and closes; later writes are dropped. */
  close(): Promise<void>;
}

/** sonic-boom in buffer mode: its typings only declare the string write. */
type Sonic = Omit<ReturnType<typeof pino.destination>, 'write'> & { write(data: Buffer): boolean };

/**
 * Opens the current file for appending (sonic-boom, 32 KB batches, flushed at
 * least every second). Each write is a round trip through the thread pool
 * that costs the main thread far more than the bytes do: a busy mailer writes
 * ~4 KB of log per order, so small batches meant one such trip per order.
 *
 * Buffer mode, fed one Buffer per line (see `write`): in its default string
 * mode sonic-boom appends each line to the batch's string and measures the
 * whole batch with `Buffer.byteLength`, which flattens it, copying it again
 * for every line. With 32 KB batches that copied ~200 KB per order on the main
 * thread, 40 % of everything it allocated (measured with the sampling heap
 * profiler in the benchmark's throughput run). Buffer mode keeps a list of
 * the lines and joins them once per batch.
 */
async function open(file: string): Promise<Sonic> {
  const stream = pino.destination({
    dest: file,
    mkdir: true,
    sync: false,
    minLength: 32 * 1024,
    maxWrite: 64 * 1024,
    periodicFlush: 1000,
    contentMode: 'buffer',
  });
  await new Promise<void>((resolve, reject) => {
    const ready = (): void => {
      stream.off('error', failed);
      resolve();
    };
    const failed = (err: Error): void => {
      stream.off('ready', ready);
      reject(err);
    };
    stream.once('ready', ready);
    stream.once('error', failed);
  });
  // contentMode 'buffer' makes `write` take Buffers (sonic-boom's writeBuffer).
  return stream as unknown as Sonic;
}

/** Ends a stream and resolves when its file is closed (or the stream failed). */
function end(stream: Sonic): Promise<void> {
  const done = settled(stream, 'close');
  stream.end();
  return done;
}

/** See the module comment. */
export function createRotatingFile(opts: RotatingFileOptions): RotatingFile {
  const maxBytes = opts.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
  const keepDays = opts.keepDays ?? DEFAULT_LOG_KEEP_DAYS;
  const now = opts.now ?? (() => new Date());
  const housekeepingError = opts.onHousekeepingError ?? (() => undefined);

  let stream: Sonic | undefined;
  let held: Buffer[] = [];
  let day = localDay(now());
  let bytes = 0;
  let failed = false;
  let closed = false;
  /** The running switch (startup or rotation); undefined while `stream` takes writes. */
  let switching: Promise<void> | undefined;

  const fail = (err: Error): void => {
    if (failed) return;
    failed = true;
    held = [];
    opts.onError(err);
  };

  const prune = async (): Promise<void> => {
    try {
      await deleteOldLogFiles(opts.file, keepDays, now());
    } catch (err) {
      housekeepingError(err as Error);
    }
  };

  /** Opens the current file and writes the lines that waited; every write path goes through `writeBytes`. */
  const resume = async (): Promise<void> => {
    const next = await open(opts.file);
    next.on('error', (err: Error) => fail(err));
    stream = next;
    switching = undefined;
    const waiting = held;
    held = [];
    for (const line of waiting) writeBytes(line);
  };

  const start = async (): Promise<void> => {
    await mkdir(path.dirname(opts.file), { recursive: true });
    try {
      const info = await stat(opts.file);
      const lastDay = localDay(info.mtime);
      if (info.size > 0 && lastDay !== localDay(now())) {
        // Left from an earlier day (the mailer was not running at midnight).
        await rename(opts.file, await freeRotatedName(opts.file, lastDay, false));
      } else {
        bytes = info.size;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await prune();
    await resume();
  };

  const rotate = async (old: Sonic, oldDay: string, bySize: boolean): Promise<void> => {
    await end(old);
    try {
      await rename(opts.file, await freeRotatedName(opts.file, oldDay, bySize));
    } catch (err) {
      // Not fatal: the lines go on into the same file, and the next rotation tries again.
      housekeepingError(err as Error);
    }
    await prune();
    await resume();
  };

  const run = (work: Promise<void>): Promise<void> => work.catch((err: unknown) => fail(err as Error));

  function write(line: string): void {
    writeBytes(Buffer.from(line));
  }

  function writeBytes(line: Buffer): void {
    if (failed || closed) return;
    if (stream === undefined) {
      held.push(line);
      return;
    }
    const length = line.length;
    const today = localDay(now());
    if (today !== day && bytes === 0) day = today;
    const full = bytes > 0 && bytes + length > maxBytes;
    if (today !== day || full) {
      const old = stream;
      const oldDay = day;
      stream = undefined;
      held.push(line);
      day = today;
      bytes = 0;
      switching = run(rotate(old, oldDay, today === oldDay));
      return;
    }
    bytes += length;
    stream.write(line);
  }

  switching = run(start());

  /** Waits until no switch is running (a switch may start another one, for lines that filled a file at once). */
  const settle = async (): Promise<void> => {
    while (switching !== undefined && !failed) await switching;
  };

  return {
    write,
    flushSync() {
      try {
        stream?.flushSync();
      } catch {
        // Not ready or already closed: nothing more can be done synchronously.
      }
    },
    async flush() {
      await settle();
      const current = stream;
      if (failed || current === undefined) return;
      await new Promise<void>((resolve) => current.flush(() => resolve()));
    },
    async close() {
      await settle();
      closed = true;
      const current = stream;
      stream = undefined;
      if (!failed && current !== undefined) await end(current);
    },
  };
}

/** Resolves on `event` or on an error (reported elsewhere), never rejects, leaves no listener behind. */
export function settled(emitter: EventEmitter, event: string): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      emitter.off(event, done);
      emitter.off('error', done);
      resolve();
    };
    emitter.on(event, done);
    emitter.on('error', done);
  });
}
