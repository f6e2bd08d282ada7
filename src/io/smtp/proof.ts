/**
 * What the acuse (order/acuse.ts) needs to know of a send that nodemailer's
 * info does not say: the size and SHA-256 of the exact bytes the server
 * received, the connection that carried them (TLS or not, and its protocol),
 * and each attachment's size and SHA-256.
 *
 * How the bytes are seen: the pooled connection that sends a message reads it
 * from `mail.message.createReadStream()`, whose output already went through
 * every processing step (DKIM signing included: nodemailer signs in a
 * process function of that stream). `watchSend` wraps that method for one
 * message, so every byte the connection reads passes a hash on its way; it
 * buffers nothing (a message with large attachments costs no more memory)
 * unless `keep` asks for the bytes (`keepEml`). The SMTP layer's own framing
 * (dot-stuffing, the final `.`) is undone by the server, so the hashed bytes
 * are the message as the server stores it.
 *
 * How the connection is known: the pool assigns the message to one of its
 * connections and then asks for the stream; at that moment the pool resource
 * holding the message (`queueEntry.mail`) is the one sending it, and its
 * connection's socket says whether it is TLS (implicit or after STARTTLS) and
 * which protocol it negotiated. A message requeued to another connection asks
 * for the stream again, so the facts are those of the connection that sent it.
 * These are nodemailer internals (its pool's `_connections` and a
 * connection's `_socket`); test/io/smtp/proof.test.ts fails if they change.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline, Transform, type Readable } from 'node:stream';
import { TLSSocket } from 'node:tls';

import type { DigestedFile, SendProof } from '../../ports.js';

/** The part of a pool resource this module reads (not in nodemailer's typings). */
interface ResourceInternals {
  queueEntry?: { mail?: unknown } | false;
  connection?: { secure?: boolean; _socket?: unknown };
}

/** What nodemailer's 'stream' plugin step hands over (typed loosely: the internals are not in its typings). */
export interface StreamedMail {
  data: { signal?: unknown; attachments?: unknown };
  message: { createReadStream(options?: unknown): Readable };
}

/** The facts of one send, filled while it goes out. */
export interface SendWatch {
  size: number;
  sha256: string;
  tls: { used: boolean; protocol: string | null };
  chunks?: Buffer[];
}

/** Whether the connection that reads `mail` is under TLS, and its protocol (`TLSv1.3`…). */
function tlsOf(resources: readonly ResourceInternals[], mail: unknown): SendWatch['tls'] {
  const resource = resources.find((r) => r.queueEntry !== false && r.queueEntry?.mail === mail);
  const socket = resource?.connection?._socket;
  if (socket instanceof TLSSocket) return { used: true, protocol: socket.getProtocol() };
  return { used: resource?.connection?.secure === true, protocol: null };
}

/**
 * Wraps `mail`'s stream so that `watch` ends up with the digest of the bytes
 * read from it and the TLS facts of the connection that read them.
 * `resources` gives the pool's resources at the moment the stream is asked for.
 */
export function watchSend(mail: StreamedMail, watch: SendWatch, resources: () => readonly unknown[], keep: boolean): void {
  const message = mail.message;
  const original = message.createReadStream.bind(message);
  message.createReadStream = (options?: unknown): Readable => {
    watch.tls = tlsOf(resources() as readonly ResourceInternals[], mail);
    const hash = createHash('sha256');
    let size = 0;
    const chunks: Buffer[] | undefined = keep ? [] : undefined;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        chunks?.push(chunk);
        done(null, chunk);
      },
      flush(done) {
        watch.size = size;
        watch.sha256 = hash.digest('hex');
        if (chunks !== undefined) watch.chunks = chunks;
        done();
      },
    });
    // pipeline: an error of the message reaches the connection through `counter`, and a connection that gives up stops the message.
    return pipeline(original(options), counter, () => undefined);
  };
}

export function newWatch(): SendWatch {
  return { size: 0, sha256: '', tls: { used: false, protocol: null } };
}

/** An attachment as composeMessage gives it to nodemailer (order/compose.ts). */
interface AttachmentOption {
  filename?: string | false;
  content?: unknown;
  path?: unknown;
}

/** Name, size and SHA-256 of each attachment of a message, from the bytes nodemailer sends (the content, or the file). */
export async function digestAttachments(attachments: unknown): Promise<DigestedFile[]> {
  const list = Array.isArray(attachments) ? (attachments as AttachmentOption[]) : [];
  return Promise.all(
    list.map(async (a) => {
      const name = typeof a.filename === 'string' ? a.filename : '';
      if (a.content instanceof Uint8Array) return { name, size: a.content.length, sha256: createHash('sha256').update(a.content).digest('hex') };
      if (typeof a.content === 'string') {
        const bytes = Buffer.from(a.content, 'utf8');
        return { name, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
      }
      if (typeof a.path === 'string') return { name, ...(await digestFile(a.path)) };
      return { name, size: 0, sha256: createHash('sha256').digest('hex') };
    }),
  );
}

function digestFile(file: string): Promise<{ size: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let size = 0;
    createReadStream(file)
      .on('data', (chunk: string | Buffer) => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        size += bytes.length;
        hash.update(bytes);
      })
      .on('error', reject)
      .on('end', () => resolve({ size, sha256: hash.digest('hex') }));
  });
}

/** The proof of a send that the server accepted. */
export function proofOf(
  watch: SendWatch,
  facts: { host: string; port: number; envelopeFrom: string; attachments: DigestedFile[]; acceptedAt: number },
): SendProof {
  return {
    size: watch.size,
    sha256: watch.sha256,
    acceptedAt: facts.acceptedAt,
    server: { host: facts.host, port: facts.port },
    tls: watch.tls,
    envelopeFrom: facts.envelopeFrom,
    attachments: facts.attachments,
    ...(watch.chunks !== undefined && { eml: Buffer.concat(watch.chunks) }),
  };
}
