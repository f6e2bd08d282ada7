/**
 * Pooled nodemailer SMTP transports, one per (lane, SMTP settings).
 *
 * Why pooled: connections are reused between messages, which saves the TCP,
 * TLS and AUTH round trips (and smtp-server's 100 ms early-talker wait) on
 * every message. Why per lane: each company gets its own pool, so one
 * company's backlog or stuck server never occupies another company's
 * connections (spec §5, maxConnections).
 *
 * Guarantees of `send`:
 * - it settles within the order's TiempoEspera (`timeoutMinutes`, or the
 *   pool's `timeoutMs` override): on expiry it rejects with SMTP_TIMEOUT and
 *   aborts that message, which closes the connection carrying it, so a
 *   stalled server cannot hold a connection for ever; other messages of the
 *   same pool keep their connections;
 * - it rejects only with MailerErrors (see machines/classify.ts), whose
 *   messages never contain the password;
 * - certificates are verified unless the settings say `rejectUnauthorized: false`;
 * - a message with an address whose local part is not ASCII (`josé@…`) is
 *   handed over only when the server offers SMTPUTF8; otherwise it rejects
 *   with SMTP_SMTPUTF8_UNSUPPORTED naming the addresses, and nothing is sent.
 */
import nodemailer from 'nodemailer';
import type { SendMailOptions, SMTPPoolOptions, SMTPPoolSentMessageInfo, Transporter } from 'nodemailer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

import { ErrorCodes, MailerError } from '../errors.js';
import { toSendError } from '../machines/classify.js';
import { addressesNeedingSmtpUtf8 } from '../order/compose.js';
import type { ResolvedSmtp } from '../ports.js';
import { keyOf, sendTimeoutMs, type SmtpSendInfo, type TransportPool, type TransportPoolOptions } from './transport-pool.js';

export { keyOf, sendTimeoutMs, type SmtpSendInfo, type TransportPool, type TransportPoolOptions } from './transport-pool.js';

interface Entry {
  transport: Transporter<SMTPPoolSentMessageInfo, SMTPPoolOptions>;
  inFlight: Set<Promise<unknown>>;
}

/**
 * nodemailer pool options for resolved settings (spec §2, SMTP/Seguridad):
 * SSL = implicit TLS; STARTTLS = upgrade required; NINGUNA = plain, STARTTLS
 * ignored even when offered; unset = implicit TLS on 465, else STARTTLS when
 * the server offers it. AUTH only when a user is given.
 */
export function transportOptionsFor(
  smtp: ResolvedSmtp,
  maxConnections: number,
  timeoutMs: number,
  extra: Pick<TransportPoolOptions, 'name' | 'idleTimeoutMs'> = {},
): SMTPPoolOptions {
  const options: SMTPPoolOptions = {
    pool: true,
    host: smtp.host,
    port: smtp.port,
    maxConnections: Math.max(1, Math.floor(maxConnections)),
    // A healthy connection is kept for as long as the server allows.
    maxMessages: Number.MAX_SAFE_INTEGER,
    // One requeue covers a pooled connection the server closed while idle; more
    // only delay the failure our own retry schedule handles better.
    maxRequeues: 1,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    tls: { rejectUnauthorized: smtp.rejectUnauthorized },
    logger: false,
    debug: false,
    ...securityOptions(smtp),
  };
  if (smtp.user !== undefined && smtp.user !== '') options.auth = { user: smtp.user, pass: smtp.password ?? '' };
  if (extra.name !== undefined) options.name = extra.name;
  if (extra.idleTimeoutMs !== undefined) options.idleTimeout = extra.idleTimeoutMs;
  return options;
}

function securityOptions(smtp: ResolvedSmtp): Pick<SMTPPoolOptions, 'secure' | 'requireTLS' | 'ignoreTLS'> {
  switch (smtp.security) {
    case 'SSL':
      return { secure: true };
    case 'STARTTLS':
      return { secure: false, requireTLS: true };
    case 'NINGUNA':
      return { secure: false, ignoreTLS: true };
    default:
      return smtp.port === 465 ? { secure: true } : { secure: false };
  }
}

/** A cache of pooled transports keyed by lane and SMTP settings. */
export function createTransportPool(options: TransportPoolOptions = {}): TransportPool {
  const entries = new Map<string, Entry>();

  function entryFor(smtp: ResolvedSmtp, lane: string, maxConnections: number, timeoutMs: number): Entry {
    const key = keyOf(smtp, lane, maxConnections);
    let entry = entries.get(key);
    if (entry === undefined) {
      const transport = nodemailer.createTransport({
        ...transportOptionsFor(smtp, maxConnections, timeoutMs, options),
        pool: true,
      });
      entry = { transport, inFlight: new Set() };
      entries.set(key, entry);
    }
    return entry;
  }

  async function send(
    smtp: ResolvedSmtp,
    lane: string,
    maxConnections: number,
    message: SendMailOptions,
  ): Promise<SmtpSendInfo> {
    const timeoutMs = sendTimeoutMs(smtp, options.timeoutMs);
    const entry = entryFor(smtp, lane, maxConnections, timeoutMs);
    const attempt = checkedSend(entry, smtp, message, timeoutMs);
    entry.inFlight.add(attempt);
    try {
      return await attempt;
    } finally {
      entry.inFlight.delete(attempt);
    }
  }

  /**
   * Forgets every transport, lets each one's sends settle, then closes it.
   * Why in that order: nodemailer's close() fails the messages still queued
   * for a connection ("Connection pool was closed"), such as a failure
   * notification flushed at shutdown whose connection was still opening.
   * Waiting is bounded: every send settles within its TiempoEspera. A send
   * started meanwhile gets a new transport, which the next closeAll closes.
   */
  async function closeAll(): Promise<void> {
    const closing = [...entries.values()];
    entries.clear();
    await Promise.all(
      closing.map(async (entry) => {
        await Promise.allSettled([...entry.inFlight]);
        entry.transport.close();
      }),
    );
  }

  /**
   * `boundedSend`, after making sure the server can carry every address of
   * the message; the check and the send share the one TiempoEspera.
   */
  async function checkedSend(entry: Entry, smtp: ResolvedSmtp, message: SendMailOptions, timeoutMs: number): Promise<SmtpSendInfo> {
    const international = addressesNeedingSmtpUtf8(message);
    if (international.length === 0) return boundedSend(entry, smtp, message, timeoutMs);
    const started = Date.now();
    const offered = await offersSmtpUtf8(transportOptionsFor(smtp, 1, timeoutMs, options), timeoutMs, [smtp.password]);
    if (!offered) {
      const list = international.join(', ');
      throw new MailerError(
        ErrorCodes.SMTP_SMTPUTF8_UNSUPPORTED,
        `The server does not offer SMTPUTF8, which the non-ASCII local part of ${list} needs; nothing was sent`,
        { value: list },
      );
    }
    return boundedSend(entry, smtp, message, timeoutMs, Math.max(1, timeoutMs - (Date.now() - started)));
  }

  return { send, closeAll, size: () => entries.size };
}

/**
 * Whether the server offers SMTPUTF8 to a connection set up exactly as the
 * pooled ones are (host, port, TLS settings, EHLO name), which then quits
 * without AUTH or a message. Why a connection of its own: nodemailer keeps
 * what its pooled connections learnt from EHLO to itself, and sends a
 * non-ASCII address raw to a server without SMTPUTF8 instead of refusing it.
 * The test is nodemailer's own, on the EHLO reply its connection ended on.
 * Why not remembered between messages: an operator who enables SMTPUTF8
 * after such a failure expects the retry to see it, and such addresses are
 * rare enough that one more connection for each costs nothing noticeable.
 *
 * Rejects as a send would (toSendError: refused, reset, TLS…), and with
 * SMTP_TIMEOUT after `timeoutMs`.
 */
export function offersSmtpUtf8(options: SMTPPoolOptions, timeoutMs: number, secrets: (string | undefined)[] = []): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const connection = new SMTPConnection(options);
    let settled = false;
    const finish = (error: unknown, offered = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined) {
        connection.quit();
        resolve(offered);
      } else {
        connection.close();
        reject(toSendError(error, { secrets }));
      }
    };
    const timer = setTimeout(() => {
      finish(new MailerError(ErrorCodes.SMTP_TIMEOUT, `Asking the server for SMTPUTF8 took longer than ${timeoutMs} ms (TiempoEspera)`, { smtp: { errno: 'ETIMEDOUT' } }));
    }, timeoutMs);
    // Stays attached after settling: an error while quitting must not become an uncaught 'error' event.
    connection.on('error', (err: unknown) => finish(err));
    connection.connect((err?: unknown) => {
      if (err) return finish(err);
      const ehlo = typeof connection.lastServerResponse === 'string' ? connection.lastServerResponse : '';
      finish(undefined, /[ -]SMTPUTF8\b/im.test(ehlo));
    });
  });
}

/**
 * One sendMail bounded by `remainingMs` (what is left of the order's
 * `timeoutMs`, which the error names). The abort signal makes nodemailer drop
 * the message from its queue or close the connection delivering it; the
 * promise rejects at the deadline whatever nodemailer does afterwards.
 */
function boundedSend(entry: Entry, smtp: ResolvedSmtp, message: SendMailOptions, timeoutMs: number, remainingMs = timeoutMs): Promise<SmtpSendInfo> {
  const controller = new AbortController();
  const secrets = [smtp.password];
  return new Promise<SmtpSendInfo>((resolve, reject) => {
    const timer = setTimeout(() => {
      controller.abort();
      reject(
        new MailerError(ErrorCodes.SMTP_TIMEOUT, `Sending took longer than ${timeoutMs} ms (TiempoEspera)`, {
          smtp: { errno: 'ETIMEDOUT' },
        }),
      );
    }, remainingMs);
    entry.transport.sendMail({ ...message, signal: controller.signal }).then(
      (info) => {
        clearTimeout(timer);
        resolve(info);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(toSendError(err, { secrets }));
      },
    );
  });
}
