/**
 * What every SMTP transport pool promises (the in-process one, io/smtp/pool.ts,
 * and the worker-thread one, io/smtp/threads.ts), and the pure helpers both
 * use. Kept free of nodemailer at run time so that the mailer's main thread,
 * which only talks to the worker, never loads it.
 */
import { createHash } from 'node:crypto';

import type { SendMailOptions, SMTPPoolSentMessageInfo } from 'nodemailer';

import type { ResolvedSmtp, SendProof } from '../../ports.js';

/** nodemailer's info, plus what io/smtp/proof.ts learnt of the send (the acuse's facts). */
export type SmtpSendInfo = SMTPPoolSentMessageInfo & { proof?: SendProof };

export interface TransportPoolOptions {
  /** Bound of one whole send in ms, instead of `timeoutMinutes` (tests; never minutes-long there). */
  timeoutMs?: number;
  /** EHLO name; nodemailer uses the machine's host name when absent. */
  name?: string;
  /** Closes a connection after this many idle ms (nodemailer default: 4 minutes). */
  idleTimeoutMs?: number;
  /** Keep the exact bytes of each message sent in its proof (`keepEml`): they are buffered while the message goes out. */
  keepMessage?: boolean;
}

export interface TransportPool {
  /**
   * Sends one message through the pooled transport of `lane` for `smtp`,
   * creating it (with `maxConnections` connections at most) on first use.
   */
  send(smtp: ResolvedSmtp, lane: string, maxConnections: number, message: SendMailOptions): Promise<SmtpSendInfo>;
  /** Closes every transport; in-flight sends finish or fail first. A later send opens new ones. */
  closeAll(): Promise<void>;
  /** Number of live transports (for tests and diagnostics). */
  size(): number;
}

/** The per-send bound in ms for these settings. */
export function sendTimeoutMs(smtp: ResolvedSmtp, override?: number): number {
  return override ?? Math.max(1, Math.round(smtp.timeoutMinutes * 60_000));
}

/**
 * Cache key: the lane plus every setting that changes the connection; the
 * password only as a hash. The timeout is left out on purpose: orders of one
 * company with different TiempoEspera share the company's connections (the
 * pool's socket timeouts come from the first of them, and each send is bounded
 * by its own timer anyway).
 */
export function keyOf(smtp: ResolvedSmtp, lane: string, maxConnections: number): string {
  const secret = smtp.password === undefined ? '' : createHash('sha256').update(smtp.password).digest('hex');
  return JSON.stringify([
    lane,
    smtp.host.toLowerCase(),
    smtp.port,
    smtp.security ?? '',
    smtp.user ?? '',
    secret,
    smtp.rejectUnauthorized,
    smtp.ca ?? '',
    maxConnections,
  ]);
}
