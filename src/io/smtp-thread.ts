/**
 * A TransportPool whose nodemailer pools live in a worker thread
 * (io/smtp-worker.ts). Same contract as `createTransportPool` (io/smtp.ts):
 * `send` settles within the order's TiempoEspera and rejects only with
 * MailerErrors; `closeAll` lets in-flight sends finish.
 *
 * Why a thread: composing and streaming a message (MIME tree, base64 of the
 * attachments, dot-stuffing) is most of the CPU a send costs; on the main
 * thread it competes with the order machines for one core, in the worker it
 * uses another. The benchmark (npm run bench) shows the difference.
 *
 * Guarantees added here: a worker that dies fails every send it held with
 * SMTP_CONNECTION (temporary: the order is retried, as after a dropped
 * connection whose outcome is unknown) and the next send starts a new one;
 * the worker never keeps the process alive when nothing is being sent.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import type { SendMailOptions } from 'nodemailer';

import { ErrorCodes, MailerError, type SerializedError } from '../errors.js';
import type { ResolvedSmtp } from '../ports.js';
import { keyOf, sendTimeoutMs, type SmtpSendInfo, type TransportPool, type TransportPoolOptions } from './transport-pool.js';

export interface ThreadedPoolOptions extends TransportPoolOptions {
  /** The worker's module (tests point it at a worker that misbehaves); default: io/smtp-worker beside this file. */
  worker?: { url: URL };
  /** Overrides WORKER_GRACE_MS (tests). */
  graceMs?: number;
}

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
 * Where the worker's code is: beside this module once built (dist/io/smtp-worker.js).
 * When running from the TypeScript sources (tests), a bootstrap registers tsx's
 * loader in the worker first, then imports the .ts module.
 */
function workerEntry(): { url: URL | string; eval?: boolean } {
  const js = new URL('./smtp-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { url: js };
  const ts = new URL('./smtp-worker.ts', import.meta.url);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(ts.href)}); });`;
  return { url: bootstrap, eval: true };
}

export interface ThreadedTransportPool extends TransportPool {
  /**
   * Starts the worker now rather than at the first send, so that loading
   * nodemailer there overlaps the mailer's own start-up (lock, scan, first
   * reads). It never keeps the process alive.
   */
  warmUp(): void;
}

export function createThreadedTransportPool(opts: ThreadedPoolOptions = {}): ThreadedTransportPool {
  const { worker: entry, graceMs = WORKER_GRACE_MS, ...options } = opts;
  let worker: Worker | undefined;
  const pending = new Map<number, Pending>();
  const keys = new Set<string>();
  let nextId = 1;
  /** The longest send bound seen: closing waits at most that (plus grace) for in-flight sends. */
  let longestBoundMs = 0;

  function start(): Worker {
    const where: { url: URL | string; eval?: boolean } = entry ?? workerEntry();
    const w = new Worker(where.url, { workerData: options, eval: where.eval ?? false });
    w.on('message', (reply: WorkerReply) => {
      const waiting = pending.get(reply.id);
      if (waiting !== undefined) settle(reply.id, waiting, reply);
    });
    const fail = (why: string) => {
      if (worker === w) {
        worker = undefined;
        keys.clear();
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
    return [...pending.entries()].filter(([, p]) => p.worker === w);
  }

  function settle(id: number, waiting: Pending, reply: WorkerReply): void {
    pending.delete(id);
    if (waiting.timer !== undefined) clearTimeout(waiting.timer);
    // An idle worker must not keep the process alive.
    if (heldBy(waiting.worker).length === 0) waiting.worker.unref();
    waiting.resolve(reply);
  }

  type Body = { type: 'send'; smtp: ResolvedSmtp; lane: string; maxConnections: number; message: SendMailOptions } | { type: 'close' };

  /** Posts a request; resolves with the worker's reply, or a SMTP_TIMEOUT one after `boundMs` (+ grace) without an answer. */
  function request(body: Body, boundMs?: number): Promise<WorkerReply> {
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
      pending.set(id, waiting);
      w.ref();
      w.postMessage({ id, ...body } as WorkerRequest);
    });
    waiting.settled = replied;
    return replied;
  }

  async function send(smtp: ResolvedSmtp, lane: string, maxConnections: number, message: SendMailOptions): Promise<SmtpSendInfo> {
    keys.add(keyOf(smtp, lane, maxConnections));
    const boundMs = sendTimeoutMs(smtp, options.timeoutMs);
    longestBoundMs = Math.max(longestBoundMs, boundMs);
    const reply = await request({ type: 'send', smtp, lane, maxConnections, message }, boundMs);
    if (!reply.ok) throw MailerError.fromJSON(reply.error);
    return reply.info as unknown as SmtpSendInfo;
  }

  /**
   * Closes the worker's pools and stops it. A send posted while the close was
   * on its way (a notification flushed at shutdown) reached the worker after
   * the close and opened a new pool there: it is waited for and the pools are
   * closed again, so stopping the worker never cuts a send short.
   */
  async function closeAll(): Promise<void> {
    for (;;) {
      const w = worker;
      if (w === undefined) return;
      // In-flight sends settle within their bound; a worker that cannot answer is stopped anyway.
      await request({ type: 'close' }, longestBoundMs);
      if (worker !== w) continue;
      const late = heldBy(w);
      if (late.length > 0) {
        await Promise.all(late.map(([, p]) => p.settled));
        continue;
      }
      keys.clear();
      worker = undefined;
      await w.terminate();
      return;
    }
  }

  const warmUp = () => {
    worker ??= start();
  };

  return { send, closeAll, warmUp, size: () => keys.size };
}
