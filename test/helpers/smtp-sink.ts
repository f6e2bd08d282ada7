/**
 * A real SMTP server for tests: smtp-server on 127.0.0.1, port 0, that keeps
 * every message it accepts (envelope, raw bytes, and the mailparser parse).
 *
 * ```ts
 * const sink = await startSmtpSink({ tls: 'starttls', auth: { user: 'u', pass: 'p' } });
 * // … send to 127.0.0.1:sink.port …
 * expect(sink.messages[0].parsed.subject).toBe('Hola');
 * await sink.close();
 * ```
 *
 * TLS uses the self-signed certificate in test/fixtures/tls/ (CN=localhost,
 * SAN localhost and 127.0.0.1): clients must pass `rejectUnauthorized: false`
 * (or this CA, `SINK_CERT`) to connect.
 *
 * Scripted refusals: `rejectRecipients` refuses the listed addresses with 550
 * (or the code given); `rcptError` / `dataError` / `mailFromError` can return
 * any reply for finer control (e.g. 451 on DATA). For replies smtp-server
 * cannot produce (stalls, trickling, dropped connections) use a raw
 * `net.createServer` in the test instead.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

const TLS_DIR = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
/** The test certificate (also usable as a CA) and its key. */
export const SINK_CERT = readFileSync(`${TLS_DIR}cert.pem`);
export const SINK_KEY = readFileSync(`${TLS_DIR}key.pem`);

/** An SMTP reply to script: `code` is the three-digit reply code. */
export interface SinkReply {
  code: number;
  message?: string;
}

export interface SmtpSinkOptions {
  /**
   * 'none' (default): plain, STARTTLS not offered;
   * 'starttls': plain, STARTTLS offered with the test certificate;
   * 'implicit': TLS from the first byte (like port 465).
   */
  tls?: 'none' | 'starttls' | 'implicit';
  /** Require AUTH with these credentials; `methods` defaults to PLAIN and LOGIN. */
  auth?: { user: string; pass: string; methods?: ('PLAIN' | 'LOGIN')[] };
  /** Recipients refused at RCPT TO (compared case-insensitively); 550 unless a code is given. */
  rejectRecipients?: (string | { address: string; code: number; message?: string })[];
  /** Reply for MAIL FROM; undefined accepts. */
  mailFromError?: (address: string) => SinkReply | undefined;
  /** Reply for RCPT TO; undefined accepts (after `rejectRecipients`). */
  rcptError?: (address: string) => SinkReply | undefined;
  /** Reply after the message data was received; undefined accepts and records it. */
  dataError?: (raw: Buffer) => SinkReply | undefined;
  /** Extra smtp-server options, applied last. */
  serverOptions?: Partial<SMTPServerOptions>;
}

export interface ReceivedMessage {
  envelope: { from: string; to: string[] };
  /** The message exactly as it arrived after DATA (dot-unstuffed). */
  raw: Buffer;
  parsed: ParsedMail;
  /** The authenticated user, when AUTH was used. */
  user?: string;
  /** Whether the session was under TLS (implicit or STARTTLS). */
  secure: boolean;
}

export interface SmtpSink {
  port: number;
  /** Accepted messages, in order of arrival. */
  messages: ReceivedMessage[];
  /** Successful and failed AUTH attempts (user and method; never the password). */
  authAttempts: { user: string; method: string; ok: boolean }[];
  /** Client sessions opened so far (a pooled client reuses them). */
  connectionCount(): number;
  /** Errors smtp-server emitted (e.g. a client that refused the certificate). */
  errors: Error[];
  /** Resolves once `count` messages have arrived, rejects after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  /** Stops listening and drops open client sessions (after `closeTimeout`, 200 ms). */
  close(): Promise<void>;
}

/** Starts the sink; the returned port is ready to accept connections. */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMessage[] = [];
  const authAttempts: SmtpSink['authAttempts'] = [];
  const errors: Error[] = [];
  let connections = 0;
  const tlsMode = options.tls ?? 'none';
  const disabled: string[] = [];
  if (tlsMode !== 'starttls') disabled.push('STARTTLS');
  if (options.auth === undefined) disabled.push('AUTH');
  const rejected = new Map(
    (options.rejectRecipients ?? []).map((r) =>
      typeof r === 'string' ? [r.toLowerCase(), { code: 550 }] : [r.address.toLowerCase(), r],
    ),
  );

  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    secure: tlsMode === 'implicit',
    key: SINK_KEY,
    cert: SINK_CERT,
    disabledCommands: disabled,
    authOptional: options.auth === undefined,
    authMethods: options.auth?.methods ?? ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    closeTimeout: 200,
    onConnect(_session, callback) {
      connections += 1;
      callback();
    },
    onAuth(auth, _session, callback) {
      const expected = options.auth;
      const ok = expected !== undefined && auth.username === expected.user && auth.password === expected.pass;
      authAttempts.push({ user: auth.username ?? '', method: auth.method, ok });
      if (!ok) return callback(replyError({ code: 535, message: '5.7.8 Authentication credentials invalid' }));
      return callback(null, { user: auth.username });
    },
    onMailFrom(address, _session, callback) {
      const reply = options.mailFromError?.(address.address);
      callback(reply ? replyError(reply) : null);
    },
    onRcptTo(address, _session, callback) {
      const listed = rejected.get(address.address.toLowerCase());
      const reply = listed ?? options.rcptError?.(address.address);
      callback(reply ? replyError({ message: `5.1.1 <${address.address}> refused`, ...reply }) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const reply = options.dataError?.(raw);
        if (reply) return callback(replyError(reply));
        simpleParser(raw).then(
          (parsed) => {
            const from = session.envelope.mailFrom;
            messages.push({
              envelope: { from: from ? from.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
              raw,
              parsed,
              ...(typeof session.user === 'string' && { user: session.user }),
              secure: session.secure === true,
            });
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
    ...options.serverOptions,
  });
  server.on('error', (err) => errors.push(err));

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    messages,
    authAttempts,
    errors,
    connectionCount: () => connections,
    waitForMessages: (count, timeoutMs = 5_000) => waitFor(() => messages.length >= count, timeoutMs).then(() => messages),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An Error smtp-server turns into the given SMTP reply. */
function replyError(reply: SinkReply): Error & { responseCode: number } {
  return Object.assign(new Error(reply.message ?? `${reply.code} scripted reply`), { responseCode: reply.code });
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`smtp-sink: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
