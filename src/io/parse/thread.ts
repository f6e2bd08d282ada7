/**
 * Parsing large orders off the main thread. Small orders (nearly all) are
 * parsed where they are needed, in microseconds; an order of
 * OFFLOAD_BYTES or more is parsed in a worker thread (io/parse/worker.ts),
 * so that reading it (a 10 MB order takes a few hundred milliseconds) never
 * holds up another company's orders, the watcher, timers or signals.
 *
 * The worker also contains the cost of an order: should one ever need more
 * memory than a heap holds, or more time than PARSE_TIMEOUT_MS, only the
 * worker is stopped (and replaced for the next order), and the order is
 * refused with ORDER_TOO_COMPLEX instead of stopping the mailer.
 *
 * Why not piscina or tinypool: one thread taking one order at a time needs no
 * pool. They would replace only the queue and the idle timer; what this module
 * is for would stay here, wrapped around their rejections: a worker out of
 * memory or out of time refuses the order (ORDER_TOO_COMPLEX) and is replaced,
 * any other end of the worker has the order read on this thread instead.
 *
 * Guarantees: `parse` and `parseIsolated` never reject; requests are parsed
 * one at a time, in order; an idle worker is stopped after `idleMs` and never
 * keeps the process alive.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';

import { ErrorCodes, MailerError, type SerializedError } from '../../errors.js';
import { parseOrder, partialOf } from '../../order/parse.js';
import type { Order, ParseResult, PartialOrder } from '../../order/types.js';

/** Orders of this many bytes or more are parsed in the worker. */
export const OFFLOAD_BYTES = 256 * 1024;

/** Longest a parse may take in the worker (the largest legal order takes well under a second). */
export const PARSE_TIMEOUT_MS = 60_000;

/** How long an idle worker is kept for the next large order. */
export const PARSE_IDLE_MS = 10_000;

/**
 * The worker's heap: twice what the largest legal orders need (the most
 * costly, 9.9 MB of non-Latin HTML, is read within a 32 MB old generation;
 * the figures for each kind of order are in docs/benchmark.md). Under the
 * service's `--max-old-space-size`, which is process-wide, the old generation
 * may grow to that size instead.
 */
export const PARSE_WORKER_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 };

export interface ParseRequest {
  id: number;
  bytes: Uint8Array;
  fileName: string;
}

export type SerializedParse =
  | { ok: true; order: Order; warnings: string[] }
  | { ok: false; errors: SerializedError[]; partial: PartialOrder };

export interface ParseReply {
  id: number;
  result: SerializedParse;
}

/** A ParseResult as it crosses the thread boundary (MailerErrors as plain objects). */
export function serializeParse(result: ParseResult): SerializedParse {
  return result.ok ? result : { ok: false, errors: result.errors.map((e) => e.toJSON()), partial: result.partial };
}

export function deserializeParse(result: SerializedParse): ParseResult {
  return result.ok ? result : { ok: false, errors: result.errors.map((e) => MailerError.fromJSON(e)), partial: result.partial };
}

export interface ParseThread {
  /** Parses `bytes`: here when small, in the worker from OFFLOAD_BYTES on. */
  parse(bytes: Buffer, fileName: string): Promise<ParseResult>;
  /** Parses in the worker whatever the size (an order suspected of having stopped the mailer). */
  parseIsolated(bytes: Buffer, fileName: string): Promise<ParseResult>;
  /** Waits for the parses asked for so far, then stops the worker. */
  close(): Promise<void>;
}

export interface ParseThreadOptions {
  idleMs?: number;
  timeoutMs?: number;
  /**
   * The worker's module, or code to evaluate when `eval` is true (tests);
   * default: the built io/parse/worker.js beside this file.
   */
  entry?: { url: URL | string; eval?: boolean };
  /** The worker's heap (tests); default PARSE_WORKER_LIMITS. */
  resourceLimits?: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number };
}

interface Job {
  bytes: Buffer;
  fileName: string;
  resolve(result: ParseResult): void;
}

export function createParseThread(options: ParseThreadOptions = {}): ParseThread {
  const { idleMs = PARSE_IDLE_MS, timeoutMs = PARSE_TIMEOUT_MS } = options;
  const queue: Job[] = [];
  let worker: Worker | undefined;
  let current: { id: number; job: Job; timer: NodeJS.Timeout } | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let nextId = 1;

  function start(): Worker {
    const where = options.entry ?? { url: new URL('./worker.js', import.meta.url) };
    const w = new Worker(where.url, { eval: where.eval ?? false, resourceLimits: options.resourceLimits ?? PARSE_WORKER_LIMITS });
    w.on('message', (reply: ParseReply) => {
      if (current?.id === reply.id) finish(deserializeParse(reply.result));
    });
    // Out of memory: the order is what did it. Any other end (the thread could not start, say) is no
    // reason to refuse the order: it is read here instead, as small orders are.
    const stopped = (outOfMemory: boolean) => {
      if (worker !== w) return;
      worker = undefined;
      if (current === undefined) return;
      const { bytes, fileName } = current.job;
      finish(outOfMemory ? tooComplex(fileName, 'reading it needed more memory than the heap holds') : parseOrder(bytes, fileName));
    };
    w.on('error', (err) => stopped((err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY'));
    w.on('exit', () => stopped(false));
    w.unref();
    return w;
  }

  function finish(result: ParseResult): void {
    const done = current;
    if (done === undefined) return;
    clearTimeout(done.timer);
    current = undefined;
    done.job.resolve(result);
    next();
  }

  function next(): void {
    if (current !== undefined) return;
    const job = queue.shift();
    if (job === undefined) {
      worker?.unref();
      if (worker !== undefined && idleTimer === undefined) {
        idleTimer = setTimeout(() => {
          idleTimer = undefined;
          if (current === undefined && queue.length === 0) stop();
        }, idleMs);
        idleTimer.unref();
      }
      return;
    }
    if (idleTimer !== undefined) {
      clearTimeout(idleTimer);
      idleTimer = undefined;
    }
    worker ??= start();
    worker.ref();
    const id = nextId++;
    const timer = setTimeout(() => {
      stop(); // first: the next order must go to a new worker, not to this one
      finish(tooComplex(job.fileName, `reading it took more than ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    current = { id, job, timer };
    const request: ParseRequest = { id, bytes: job.bytes, fileName: job.fileName };
    worker.postMessage(request);
  }

  function stop(): void {
    const w = worker;
    worker = undefined;
    if (w !== undefined) void w.terminate();
  }

  function parseIsolated(bytes: Buffer, fileName: string): Promise<ParseResult> {
    return new Promise((resolve) => {
      queue.push({ bytes, fileName, resolve });
      next();
    });
  }

  return {
    parse: (bytes, fileName) => (bytes.length < OFFLOAD_BYTES ? Promise.resolve(parseOrder(bytes, fileName)) : parseIsolated(bytes, fileName)),
    parseIsolated,
    async close() {
      while (current !== undefined || queue.length > 0) await sleep(10);
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      idleTimer = undefined;
      const w = worker;
      worker = undefined;
      if (w !== undefined) await w.terminate();
    },
  };
}

/** The refusal of an order whose reading did not complete in the worker. */
function tooComplex(fileName: string, why: string): ParseResult {
  const error = new MailerError(
    ErrorCodes.ORDER_TOO_COMPLEX,
    `The order could not be read within the mailer's memory and time limits: ${why}`,
    { value: why },
  );
  return { ok: false, errors: [error], partial: partialOf(fileName) };
}
