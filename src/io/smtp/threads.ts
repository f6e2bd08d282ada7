/**
 * A TransportPool whose nodemailer pools live in worker threads
 * (io/smtp/worker.ts, one io/smtp/worker-slot.ts each). Same contract as
 * `createTransportPool` (io/smtp/pool.ts): `send` settles within the order's
 * TiempoEspera and rejects only with MailerErrors; `closeAll` lets in-flight
 * sends finish.
 *
 * Why threads: composing and streaming a message (MIME tree, base64 of the
 * attachments, dot-stuffing, socket writes) is most of the CPU a send costs;
 * on the main thread it competes with the order machines for one core. With
 * two workers (machines with three cores or more, see defaultWorkers) a
 * company's connections are split between them (2 connections: one in each),
 * so its sends can use two cores besides the main thread's.
 *
 * Why not piscina or tinypool: our workers hold state, each its share of every
 * lane's pooled SMTP connections (connectionsOfWorker), so a send must go to a
 * chosen worker and closing must reach each one to close its pools; those
 * libraries hand a task to whichever thread is idle and cannot address one.
 *
 * Guarantees added here: a lane never holds more connections in all workers
 * together than its `maxConnections`; a worker that dies fails the sends it
 * held with SMTP_CONNECTION (temporary: the order is retried, as after a
 * dropped connection whose outcome is unknown) and the next send starts a
 * new one; an idle worker never keeps the process alive.
 */
import os from 'node:os';

import type { SendMailOptions } from 'nodemailer';

import { MailerError } from '../../errors.js';
import type { ResolvedSmtp } from '../../ports.js';
import { WORKER_GRACE_MS, createWorkerSlot, type WorkerSlot, type WorkerSlotOptions } from './worker-slot.js';
import { keyOf, sendTimeoutMs, type SmtpSendInfo, type TransportPool, type TransportPoolOptions } from './transport-pool.js';

/**
 * Workers by default: one on a machine with one or two cores, two with three
 * or more (one per connection of the default maxConnections).
 *
 * Why not two on two cores: there the main thread, the worker and the rest of
 * the machine already keep both cores busy, and a second worker is one more V8
 * isolate to warm up, compile nodemailer in and collect garbage in: on two
 * cores it sends no faster and costs more CPU per message and more memory
 * (the figures are in docs/benchmark.md).
 */
export function defaultWorkers(cores: number = os.availableParallelism()): number {
  return cores >= 3 ? 2 : 1;
}

export const DEFAULT_WORKERS = defaultWorkers();

export interface ThreadedPoolOptions extends TransportPoolOptions {
  /** The worker's module or code (tests: the sources, or a worker that misbehaves); default: io/smtp/worker beside this file. */
  worker?: WorkerSlotOptions['entry'];
  /** Overrides WORKER_GRACE_MS (tests). */
  graceMs?: number;
  /** Number of worker threads (default DEFAULT_WORKERS). */
  workers?: number;
}

export interface ThreadedTransportPool extends TransportPool {
  /**
   * Starts the workers now rather than at the first send, so that loading
   * nodemailer there overlaps the mailer's own start-up (lock, scan, first
   * reads). They never keep the process alive.
   */
  warmUp(): void;
}

/** Connections of a lane with `maxConnections` that worker `i` of `n` holds: the split adds up to exactly `maxConnections`. */
export function connectionsOfWorker(maxConnections: number, n: number, i: number): number {
  const m = Math.max(1, Math.floor(maxConnections));
  return Math.floor(m / n) + (i < m % n ? 1 : 0);
}

export function createThreadedTransportPool(opts: ThreadedPoolOptions = {}): ThreadedTransportPool {
  const { worker: entry, graceMs = WORKER_GRACE_MS, workers = DEFAULT_WORKERS, ...options } = opts;
  const n = Math.max(1, Math.floor(workers));
  /** Transports per worker (for size()): a worker that stops takes only its own with it. */
  const keys = Array.from({ length: n }, () => new Set<string>());
  const slots: WorkerSlot[] = Array.from({ length: n }, (_, i) =>
    createWorkerSlot({ options, ...(entry !== undefined && { entry }), graceMs, onStopped: () => keys[i]!.clear() }),
  );
  /** Sends in flight per lane and worker: a lane's next send goes to its least busy worker. */
  const busy = new Map<string, number[]>();
  /** The longest send bound seen: closing waits at most that (plus grace) for in-flight sends. */
  let longestBoundMs = 0;

  /** The least busy of the lane's first `usable` workers. */
  function leastBusy(counts: number[], usable: number): number {
    let best = 0;
    for (let i = 1; i < usable; i++) if (counts[i]! < counts[best]!) best = i;
    return best;
  }

  async function send(smtp: ResolvedSmtp, lane: string, maxConnections: number, message: SendMailOptions): Promise<SmtpSendInfo> {
    const boundMs = sendTimeoutMs(smtp, options.timeoutMs);
    longestBoundMs = Math.max(longestBoundMs, boundMs);
    // A lane with fewer connections than there are workers uses only as many workers as connections.
    const usable = Math.min(slots.length, Math.max(1, Math.floor(maxConnections)));
    let counts = busy.get(lane);
    if (counts === undefined) busy.set(lane, (counts = slots.map(() => 0)));
    const i = leastBusy(counts, usable);
    counts[i]! += 1;
    keys[i]!.add(keyOf(smtp, lane, maxConnections));
    try {
      const reply = await slots[i]!.request(
        { type: 'send', smtp, lane, maxConnections: connectionsOfWorker(maxConnections, usable, i), message },
        boundMs,
      );
      if (!reply.ok) throw MailerError.fromJSON(reply.error);
      return reply.info as unknown as SmtpSendInfo;
    } finally {
      counts[i]! -= 1;
    }
  }

  async function closeAll(): Promise<void> {
    await Promise.all(slots.map((slot) => slot.closeAndStop(longestBoundMs)));
    for (const set of keys) set.clear();
  }

  return {
    send,
    closeAll,
    warmUp: () => slots.forEach((slot) => slot.warmUp()),
    size: () => new Set(keys.flatMap((set) => [...set])).size,
  };
}
