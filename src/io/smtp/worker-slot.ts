/**
 * One SMTP worker thread (io/smtp/worker.ts) as the main thread sees it: it
 * starts on demand, numbers requests and matches replies, bounds every wait,
 * and replaces itself after the thread died. io/smtp/threads.ts spreads sends
 * over one or more of these.
 *
 * Guarantees: every request settles exactly once, with the worker's reply,
 * with SMTP_CONNECTION when its worker died first (only that worker's
 * requests), or with SMTP_TIMEOUT when no reply came within its bound plus
 * the grace; an idle worker never keeps the process alive.
 */
import { Worker } from 'node:worker_threads';

import type { SendMailOptions } from 'nodemailer';

import { ErrorCodes, MailerError, type SerializedError } from '../../errors.js';
import type { ResolvedSmtp, SendProof } from '../../ports.js';
import type { TransportPoolOptions } from './transport-pool.js';

/**
 * How long after a send's own bound (TiempoEspera) the main thread stops
 * waiting for the worker's answer: the worker's timer should always answer
 * first; this covers a worker that cannot run its timers any more.
 */
export const WORKER_GRACE_MS = 5_000;

/** nodemailer's info as it crosses the thread boundary. */
export interface PlainSendInfo {
  messageId: string;
  accepted: string[];
  rejected: string[];
  rejectedErrors: { recipient?: string; response?: string }[];
  response: string;
  /** What io/smtp/proof.ts learnt of the send; its kept bytes (`eml`) are transferred, not copied. */
  proof?: SendProof;
}

export type WorkerRequest =
  | { id: number; type: 'send'; smtp: ResolvedSmtp; lane: string; maxConnections: number; message: SendMailOptions }
  | { id: number; type: 'close' };

export type WorkerReply = { id: number; ok: true; info?: PlainSendInfo } | { id: number; ok: false; error: SerializedError };

interface Pending {
  /** The worker the request went to: a worker that stops fails only its own requests. */
  worker: Worker;
  resolve(reply: WorkerReply): void;
  /** Resolves once the request has its reply (whatever it says). */
  settled: Promise<unknown>;
  timer?: NodeJS.Timeout;
}

/**
 * Bodies at least this long (characters) cross to the worker as UTF-8 bytes
 * whose memory is handed over (transferred), not as strings: a string is
 * copied into the worker's heap (a 10 MB order's HTML and text alternative:
 * 25 MB there before composing starts), bytes live outside any heap and
 * nodemailer encodes them as it does the string. As bytes, the largest legal
 * message needs well under half the worker's old generation it needs as
 * strings (the figures are in docs/benchmark.md).
 */
export const PACK_CHARS = 64 * 1024;

/** `message` with its long `text`/`html` as UTF-8 bytes, and the memory to transfer with it. */
export function packMessage(message: SendMailOptions): { message: SendMailOptions; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const packed: SendMailOptions = { ...message };
  for (const key of ['text', 'html'] as const) {
    const value = message[key];
    if (typeof value !== 'string' || value.length < PACK_CHARS) continue;
    // Its own memory (Buffer.from of a long string is never a slice of the shared pool), so handing it over moves nothing else.
    const bytes = Buffer.from(value, 'utf8');
    packed[key] = bytes;
    if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) transfer.push(bytes.buffer as ArrayBuffer);
  }
  return { message: packed, transfer };
}

/** In the worker: the bytes `packMessage` sent arrive as plain Uint8Arrays; nodemailer recognises Buffers. */
export function unpackMessage(message: SendMailOptions): SendMailOptions {
  for (const key of ['text', 'html'] as const) {
    const value = message[key] as unknown;
    if (value instanceof Uint8Array && !Buffer.isBuffer(value)) message[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return message;
}

export type RequestBody =
  | { type: 'send'; smtp: ResolvedSmtp; lane: string; maxConnections: number; message: SendMailOptions }
  | { type: 'close' };

export interface WorkerSlot {
  /** Posts a request (starting the worker if needed); resolves with its reply, or a SMTP_TIMEOUT reply after `boundMs` + grace. */
  request(body: RequestBody, boundMs?: number): Promise<WorkerReply>;
  /** Starts the worker now (it does not keep the process alive). */
  warmUp(): void;
  /** Closes the worker's pools (waiting up to `boundMs` for sends in flight) and stops it; see the loop for late sends. */
  closeAndStop(boundMs: number): Promise<void>;
}

export interface WorkerSlotOptions {
  /** What the worker builds its transports with. */
  options: TransportPoolOptions;
  /**
   * The worker's module, or code to evaluate when `eval` is true (tests run it
   * from the sources); default: the built io/smtp/worker.js beside this file.
   */
  entry?: { url: URL | string; eval?: boolean };
  graceMs: number;
  /** Called when the worker stopped (died, or was stopped): its transports are gone. */
  onStopped?: () => void;
}

/**
 * A worker holds only the messages in flight, so its heap is capped far below
 * what Node would let it grow to. Caveat: a `--max-old-space-size` given to
 * node (as the service definitions do) is a process-wide V8 flag and wins
 * over `maxOldGenerationSizeMb` here, so under the service the worker's old
 * generation may grow to that size too; the young generation below applies
 * either way. An idle worker costs ~15 MB of RSS. A worker that still runs
 * out stops, and its sends are retried (see the module comment).
 *
 * Why the old generation is 48 MB: the worker's own code, nodemailer and
 * their compiled code leave ~8 MB live after a full collection, so a cap near
 * that has V8 collect the whole heap again and again (at 12 MB, about once
 * every three messages, at half the throughput); at 48 MB full collections
 * are rare, and a larger cap is no faster. test/io/smtp/threads.test.ts counts
 * them (a fixture worker observing its own collections).
 *
 * Why the young generation is 8 MB: composing a message allocates about
 * 0.8 MB of short-lived buffers and strings (base64 lines, dot-stuffed
 * chunks), so a young generation of 2 MB is scavenged about once per
 * message, each time waking V8's helper threads; larger ones are slower too, their
 * helper threads busier again. The figures are in docs/benchmark.md.
 */
export const WORKER_LIMITS = { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 };

export function createWorkerSlot({ options, entry, graceMs, onStopped }: WorkerSlotOptions): WorkerSlot {
  let worker: Worker | undefined;
  /** Requests waiting for an answer, per worker (a worker that stops fails only its own; one with none is unref'd). */
  const pending = new Map<Worker, Map<number, Pending>>();
  let nextId = 1;

  function start(): Worker {
    const where = entry ?? { url: new URL('./worker.js', import.meta.url) };
    const w = new Worker(where.url, { workerData: options, eval: where.eval ?? false, resourceLimits: WORKER_LIMITS });
    w.on('message', (reply: WorkerReply) => {
      const waiting = pending.get(w)?.get(reply.id);
      if (waiting !== undefined) settle(reply.id, waiting, reply);
    });
    const fail = (why: string) => {
      if (worker === w) {
        worker = undefined;
        onStopped?.();
      }
      const error = new MailerError(ErrorCodes.SMTP_CONNECTION, `The SMTP worker stopped (${why}); the outcome of the messages it held is unknown`).toJSON();
      for (const [id, waiting] of heldBy(w)) settle(id, waiting, { id, ok: false, error });
    };
    w.on('error', (err) => fail(err.message));
    w.on('exit', (code) => fail(`exit ${code}`));
    w.unref();
    return w;
  }

  /** The requests still waiting for an answer from `w`. */
  function heldBy(w: Worker): [number, Pending][] {
    return [...(pending.get(w) ?? [])];
  }

  function settle(id: number, waiting: Pending, reply: WorkerReply): void {
    const mine = pending.get(waiting.worker);
    mine?.delete(id);
    if (waiting.timer !== undefined) clearTimeout(waiting.timer);
    if (mine?.size === 0) {
      pending.delete(waiting.worker);
      // An idle worker must not keep the process alive.
      waiting.worker.unref();
    }
    waiting.resolve(reply);
  }

  /** Posts a request; resolves with the worker's reply, or a SMTP_TIMEOUT one after `boundMs` (+ grace) without an answer. */
  function request(body: RequestBody, boundMs?: number): Promise<WorkerReply> {
    worker ??= start();
    const id = nextId++;
    const w = worker;
    let waiting!: Pending;
    const replied = new Promise<WorkerReply>((resolve) => {
      waiting = { worker: w, resolve, settled: Promise.resolve() };
      if (boundMs !== undefined) {
        waiting.timer = setTimeout(() => {
          const error = new MailerError(ErrorCodes.SMTP_TIMEOUT, `No answer from the SMTP worker within ${boundMs + graceMs} ms`, {
            smtp: { errno: 'ETIMEDOUT' },
          }).toJSON();
          settle(id, waiting, { id, ok: false, error });
        }, boundMs + graceMs);
      }
      let mine = pending.get(w);
      if (mine === undefined) pending.set(w, (mine = new Map()));
      mine.set(id, waiting);
      w.ref();
      if (body.type === 'send') {
        const { message, transfer } = packMessage(body.message);
        w.postMessage({ id, ...body, message } as WorkerRequest, transfer);
      } else {
        w.postMessage({ id, ...body } as WorkerRequest);
      }
    });
    waiting.settled = replied;
    return replied;
  }

  /**
   * Closes the worker's pools and stops it. A send posted while the close was
   * on its way (a notification flushed at shutdown) reached the worker after
   * the close and opened a new pool there: it is waited for and the pools are
   * closed again, so stopping the worker never cuts a send short.
   */
  async function closeAndStop(boundMs: number): Promise<void> {
    for (;;) {
      const w = worker;
      if (w === undefined) return;
      // In-flight sends settle within their bound; a worker that cannot answer is stopped anyway.
      await request({ type: 'close' }, boundMs);
      if (worker !== w) continue;
      const late = heldBy(w);
      if (late.length > 0) {
        await Promise.all(late.map(([, p]) => p.settled));
        continue;
      }
      worker = undefined;
      onStopped?.();
      await w.terminate();
      return;
    }
  }

  return {
    request,
    warmUp: () => {
      worker ??= start();
    },
    closeAndStop,
  };
}
