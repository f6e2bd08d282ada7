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
 * - it rejects only with MailerErrors (see io/smtp/errors.ts), whose
 *   messages never contain the password;
 * - certificates are verified unless the settings say `rejectUnauthorized: false`;
 *   a profile's `ca` (a PEM file) is trusted besides the public authorities,
 *   and the server's name is still checked against its certificate;
 * - a plain or STARTTLS connection to a port that speaks TLS first (465, whose
 *   server waits for a TLS ClientHello and says nothing) fails within seconds
 *   as SMTP_TLS with the diagnosis `tls-port` (Seguridad and Puerto do not
 *   match), not after the whole TiempoEspera as a timeout retried for a day:
 *   a send of such settings still unsettled after PROBE_AFTER_MS has the port
 *   probed for TLS (see `probeOnce`), which tells that mismatch from a server
 *   that is merely slow, whatever the port number;
 * - `closeAll` says `QUIT` on every idle connection (waiting QUIT_WAIT_MS at
 *   most for the server's reply) before closing it;
 * - a message with an address whose local part is not ASCII (`josé@…`) is
 *   handed over only when the server offers SMTPUTF8; otherwise it rejects
 *   with SMTP_SMTPUTF8_UNSUPPORTED naming the addresses, and nothing is sent.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

import nodemailer from 'nodemailer';
import type { SendMailOptions, SMTPPoolOptions, SMTPPoolSentMessageInfo, Transporter } from 'nodemailer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

import { ErrorCodes, MailerError } from '../../errors.js';
import { diagnosisAdvice } from '../../text/errors.js';
import { toSendError } from './errors.js';
import { addressesNeedingSmtpUtf8 } from '../../order/compose.js';
import type { ResolvedSmtp } from '../../ports.js';
import { keyOf, sendTimeoutMs, type SmtpSendInfo, type TransportPool, type TransportPoolOptions } from './transport-pool.js';
import { digestAttachments, newWatch, proofOf, watchSend, type SendWatch, type StreamedMail } from './proof.js';

/**
 * How long a send of settings that start in plain text may go unanswered
 * before the port is probed for TLS. Healthy servers greet within
 * milliseconds; a send slower than this is probed once per transport.
 */
export const PROBE_AFTER_MS = 1_500;
/** Bound of that probe, from its connection to the end of its TLS handshake. */
export const PROBE_MS = 4_000;
/** How long the probe listens for a plain greeting before it tries TLS. */
export const PROBE_SILENT_MS = 2_000;
/** How long closing waits for the server's answer to QUIT before it closes the connection anyway. */
export const QUIT_WAIT_MS = 2_000;

interface Entry {
  transport: Transporter<SMTPPoolSentMessageInfo, SMTPPoolOptions>;
  inFlight: Set<Promise<unknown>>;
  /**
   * For settings that start in plain text: the probe of whether the port
   * speaks TLS first, shared by the sends waiting for it; `false` once a send
   * went through or a probe found plain SMTP (never probed again).
   */
  tlsFirst?: Promise<boolean> | false;
  /** The sends in flight by their abort signal: what io/smtp/proof.ts learns of each while it goes out. */
  watches: Map<AbortSignal, SendWatch>;
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
    tls: { rejectUnauthorized: smtp.rejectUnauthorized, ...(smtp.ca !== undefined && { ca: trustedAuthorities(smtp.ca) }) },
    logger: false,
    debug: false,
    ...securityOptions(smtp),
  };
  if (smtp.user !== undefined && smtp.user !== '') options.auth = { user: smtp.user, pass: smtp.password ?? '' };
  if (extra.name !== undefined) options.name = extra.name;
  if (extra.idleTimeoutMs !== undefined) options.idleTimeout = extra.idleTimeoutMs;
  return options;
}

/** Whether these settings start in plain text (NINGUNA, STARTTLS, or unset off 465): a port that speaks TLS first never greets them. */
function startsPlain(smtp: ResolvedSmtp): boolean {
  return securityOptions(smtp).secure !== true;
}

/**
 * The public authorities plus the profile's `ca` file: Node's `ca` option
 * replaces its trust store, and a company's own authority must not cost the
 * trust in the public ones (an order may name another server). The file was
 * checked when the configuration was loaded (io/host/ca-files.ts); one that became
 * unreadable since fails the send as SMTP_TLS naming it.
 */
function trustedAuthorities(file: string): string[] {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new MailerError(ErrorCodes.SMTP_TLS, `The certificate authority file ${file} ("ca") cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      field: 'ca',
      value: file,
      cause: err,
    });
  }
  return [...tls.rootCertificates, pem];
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
      const watches = new Map<AbortSignal, SendWatch>();
      entry = { transport, inFlight: new Set(), watches };
      const resources = () => (transport as unknown as PoolInternals).transporter?._connections ?? [];
      // Every message this transport sends is watched (io/smtp/proof.ts): the acuse needs its digest and connection.
      transport.use('stream', (mail, done) => {
        const streamed = mail as unknown as StreamedMail;
        const watch = watches.get(streamed.data.signal as AbortSignal);
        if (watch !== undefined) watchSend(streamed, watch, resources, options.keepMessage === true);
        done();
      });
      entries.set(key, entry);
    }
    return entry;
  }

  /**
   * The one place where a failed send becomes a MailerError (toSendError):
   * whatever the body throws or rejects with, nodemailer's transport
   * creation included, so every caller gets our code and a message without
   * the password.
   */
  async function send(
    smtp: ResolvedSmtp,
    lane: string,
    maxConnections: number,
    message: SendMailOptions,
  ): Promise<SmtpSendInfo> {
    try {
      const timeoutMs = sendTimeoutMs(smtp, options.timeoutMs);
      const entry = entryFor(smtp, lane, maxConnections, timeoutMs);
      const attempt = withProof(smtp, message, (watching) => checkedSend(entry, smtp, watching, timeoutMs));
      entry.inFlight.add(attempt);
      try {
        return await attempt;
      } finally {
        entry.inFlight.delete(attempt);
      }
    } catch (err) {
      throw toSendError(err, { secrets: [smtp.password] });
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
        await quitIdleConnections(entry.transport);
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
    const offered = await offersSmtpUtf8(transportOptionsFor(smtp, 1, timeoutMs, options), timeoutMs);
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
 * `send(message)` with a watch on the bytes it sends (boundedSend registers
 * it under its abort signal); the info it resolves with carries the proof
 * (io/smtp/proof.ts). The attachments are digested meanwhile, from the same
 * content or files; a digest that fails leaves the list empty, never the send.
 */
async function withProof(
  smtp: ResolvedSmtp,
  message: SendMailOptions,
  send: (message: SendMailOptions & { [WATCH]: SendWatch }) => Promise<SmtpSendInfo>,
): Promise<SmtpSendInfo> {
  const watch = newWatch();
  const digests = digestAttachments(message.attachments).catch(() => []);
  const info = await send({ ...message, [WATCH]: watch });
  const acceptedAt = Date.now();
  const envelopeFrom = typeof info.envelope?.from === 'string' ? info.envelope.from : '';
  return { ...info, proof: proofOf(watch, { host: smtp.host, port: smtp.port, envelopeFrom, attachments: await digests, acceptedAt }) };
}

/** Where withProof hands its watch to boundedSend (a symbol: nodemailer copies only string keys of a message). */
const WATCH = Symbol('send watch');

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
 * Rejects with what the connection reported (refused, reset, TLS…, which
 * `send` translates), and with SMTP_TIMEOUT after `timeoutMs`.
 */
export function offersSmtpUtf8(options: SMTPPoolOptions, timeoutMs: number): Promise<boolean> {
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
        reject(error);
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

/** What closing politely needs of nodemailer's pool (SMTPPool and its PoolResources, not in its typings). */
interface PoolInternals {
  transporter?: { _connections?: { available?: boolean; _closed?: boolean; connection?: SMTPConnection; close?: () => void }[] };
}

/**
 * Says QUIT on each open connection of a pooled transport and waits (at
 * most QUIT_WAIT_MS) for the server's answer, which closes it. Called once
 * the transport's sends have settled, so no connection carries a message (one
 * may still be resetting after the last one: QUIT follows the RSET). Why:
 * nodemailer's pool closes its connections without a word, which servers log
 * as a lost connection and some count against the client.
 */
async function quitIdleConnections(transport: Transporter<SMTPPoolSentMessageInfo, SMTPPoolOptions>): Promise<void> {
  const resources = (transport as unknown as PoolInternals).transporter?._connections ?? [];
  await Promise.all(
    resources
      .filter((resource) => resource._closed !== true && resource.connection !== undefined)
      .map(
        (resource) =>
          new Promise<void>((resolve) => {
            const connection = resource.connection!;
            // No message may be handed to a connection that is saying goodbye.
            resource.available = false;
            const done = (): void => {
              clearTimeout(timer);
              resource.close?.();
              resolve();
            };
            const timer = setTimeout(done, QUIT_WAIT_MS);
            connection.once('end', done);
            connection.once('error', done);
            connection.quit();
          }),
      ),
  );
}

/**
 * Whether `host:port` speaks TLS first. The probe first listens: a plain SMTP
 * server speaks first (its greeting, or the `220-` with which Postfix's
 * postscreen opens its pregreet test), and is then left with a QUIT and no
 * byte of TLS, so no server counts the probe as a client that talks too
 * early. Only after PROBE_SILENT_MS of silence does it send a TLS ClientHello
 * (any certificate accepted: it only asks what the port speaks, and sends
 * nothing over it but QUIT); a completed handshake within PROBE_MS in all
 * means TLS first.
 */
export function speaksTlsFirst(host: string, port: number, timeoutMs = PROBE_MS): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port });
    let secure: tls.TLSSocket | undefined;
    let settled = false;
    const finish = (result: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(silence);
      for (const s of [socket, secure]) s?.on('error', () => undefined);
      if (result) secure?.end('QUIT\r\n');
      else socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    let silence: NodeJS.Timeout | undefined;
    const onGreeting = (): void => {
      socket.end('QUIT\r\n');
      finish(false);
    };
    socket.once('data', onGreeting);
    socket.once('error', () => finish(false));
    socket.once('connect', () => {
      silence = setTimeout(() => {
        socket.off('data', onGreeting);
        secure = tls.connect({ socket, rejectUnauthorized: false, ...(isName(host) && { servername: host }) });
        secure.once('secureConnect', () => finish(true));
        secure.once('error', () => finish(false));
      }, Math.min(PROBE_SILENT_MS, timeoutMs));
    });
  });
}

function isName(host: string): boolean {
  return !/^[\d.]+$/.test(host) && !host.includes(':');
}

/** The failure of plain-text settings against a port that speaks TLS first. */
function tlsPortError(smtp: ResolvedSmtp): MailerError {
  const security = smtp.security ?? 'STARTTLS';
  return new MailerError(
    ErrorCodes.SMTP_TLS,
    `Port ${smtp.port} speaks TLS from the first byte (implicit TLS) but Seguridad is ${security}: the server never greets a plain connection. ${diagnosisAdvice('tls-port', 'en')}`,
    { value: `Seguridad ${security}, Puerto ${smtp.port}`, smtp: { errno: 'ETLSPORT', diagnosis: 'tls-port' } },
  );
}

/**
 * Whether the entry's port speaks TLS first, probed at most once per
 * transport (concurrent sends share the probe) and never again once a send
 * went through or the port answered in plain text. Why once: a slow send to
 * a plain server (a large attachment) costs that server one short extra
 * connection, not one per message.
 */
function probeOnce(entry: Entry, smtp: ResolvedSmtp): Promise<boolean> {
  if (entry.tlsFirst === false) return Promise.resolve(false);
  if (entry.tlsFirst === undefined) {
    entry.tlsFirst = speaksTlsFirst(smtp.host, smtp.port).then((tlsFirst) => {
      if (!tlsFirst) entry.tlsFirst = false;
      else entry.tlsFirst = undefined; // a later send (after the settings were fixed elsewhere) probes again
      return tlsFirst;
    });
  }
  return entry.tlsFirst;
}

/**
 * One sendMail bounded by `remainingMs` (what is left of the order's
 * `timeoutMs`, which the error names). The abort signal makes nodemailer drop
 * the message from its queue or close the connection delivering it; the
 * promise rejects at the deadline whatever nodemailer does afterwards.
 */
function boundedSend(entry: Entry, smtp: ResolvedSmtp, message: SendMailOptions, timeoutMs: number, remainingMs = timeoutMs): Promise<SmtpSendInfo> {
  const controller = new AbortController();
  const watch = (message as { [WATCH]?: SendWatch })[WATCH];
  if (watch !== undefined) entry.watches.set(controller.signal, watch);
  return new Promise<SmtpSendInfo>((resolve, reject) => {
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      entry.watches.delete(controller.signal);
      clearTimeout(timer);
      clearTimeout(probeTimer);
      return true;
    };
    const timer = setTimeout(() => {
      if (!settle()) return;
      controller.abort();
      reject(
        new MailerError(ErrorCodes.SMTP_TIMEOUT, `Sending took longer than ${timeoutMs} ms (TiempoEspera)`, {
          smtp: { errno: 'ETIMEDOUT' },
        }),
      );
    }, remainingMs);
    // Plain-text settings on a port that speaks TLS first get no greeting at all: probe the port when the send is slow.
    const probeTimer =
      startsPlain(smtp) && entry.tlsFirst !== false
        ? setTimeout(() => {
            void probeOnce(entry, smtp).then((tlsFirst) => {
              if (!tlsFirst || !settle()) return;
              controller.abort();
              reject(tlsPortError(smtp));
            });
          }, Math.min(PROBE_AFTER_MS, remainingMs))
        : undefined;
    entry.transport.sendMail({ ...message, signal: controller.signal }).then(
      (info) => {
        entry.tlsFirst = false;
        if (settle()) resolve(info);
      },
      (err: unknown) => {
        if (settle()) reject(err);
      },
    );
  });
}
