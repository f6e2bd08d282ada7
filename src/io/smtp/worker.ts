/**
 * The SMTP worker thread: owns the nodemailer pools (io/smtp/pool.ts) and does
 * what costs CPU in a send (building the MIME tree, base64 of every
 * attachment, dot-stuffing, socket writes) off the mailer's main thread,
 * which keeps the state machines, the watcher and the log responsive and
 * lets a second core work while the first one handles the orders.
 *
 * Protocol (io/smtp/threads.ts is the other end): requests
 * `{ id, type: 'send', smtp, lane, maxConnections, message }` and
 * `{ id, type: 'close' }`; every request gets exactly one reply
 * `{ id, ok: true, info? }` or `{ id, ok: false, error }` with `error` a
 * serialized MailerError (never the password: the pool's `send` translates
 * and redacts its failures once, and they are passed on as they are). A long
 * body arrives as UTF-8 bytes (see `packMessage`).
 */
import { parentPort, workerData } from 'node:worker_threads';

import { toMailerError } from '../../errors.js';
import { toSendError } from './errors.js';
import { createTransportPool } from './pool.js';
import type { SmtpSendInfo, TransportPoolOptions } from './transport-pool.js';
import { unpackMessage, type PlainSendInfo, type WorkerReply, type WorkerRequest } from './worker-slot.js';

const port = parentPort;
if (port === null) throw new Error('io/smtp/worker runs as a worker thread only');

const pool = createTransportPool((workerData ?? {}) as TransportPoolOptions);

/** What structured clone keeps of nodemailer's info (its rejectedErrors are Errors with extra fields, which cloning would drop). */
function plain(info: SmtpSendInfo): PlainSendInfo {
  return {
    messageId: info.messageId,
    accepted: (info.accepted ?? []).map(String),
    rejected: (info.rejected ?? []).map(String),
    rejectedErrors: (info.rejectedErrors ?? []).map((e) => ({
      ...(e.recipient !== undefined && { recipient: e.recipient }),
      ...(e.response !== undefined && { response: e.response }),
    })),
    response: info.response ?? '',
    ...(info.proof !== undefined && { proof: info.proof }),
  };
}

function reply(message: WorkerReply): void {
  // A kept message (keepEml) can be large: its memory is handed over, not copied, when it is its own.
  const eml = message.ok ? message.info?.proof?.eml : undefined;
  const own = eml !== undefined && eml.byteOffset === 0 && eml.buffer.byteLength === eml.byteLength;
  port!.postMessage(message, own ? [eml.buffer as ArrayBuffer] : []);
}

port.on('message', (request: WorkerRequest) => {
  if (request.type === 'send') {
    pool.send(request.smtp, request.lane, request.maxConnections, unpackMessage(request.message)).then(
      (info) => reply({ id: request.id, ok: true, info: plain(info) }),
      (err: unknown) => reply({ id: request.id, ok: false, error: toMailerError(err).toJSON() }),
    );
  } else {
    pool.closeAll().then(
      () => reply({ id: request.id, ok: true }),
      (err: unknown) => reply({ id: request.id, ok: false, error: toSendError(err).toJSON() }),
    );
  }
});
