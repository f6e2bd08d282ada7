import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ErrorCodes, MailerError, classifySendError, type ErrorCode } from '../../../src/errors.js';
import { PROBE_AFTER_MS, QUIT_WAIT_MS, createTransportPool, speaksTlsFirst, transportOptionsFor } from '../../../src/io/smtp/pool.js';
import { sendTimeoutMs, type TransportPool } from '../../../src/io/smtp/transport-pool.js';
import type { ResolvedSmtp } from '../../../src/ports.js';
import { afterThisTest, scopedScriptedSmtp, scopedSink as sink } from '../../helpers/scoped.js';
import type { SmtpSinkOptions } from '../../helpers/smtp-sink.js';
import { makeSmtp } from './send-fixtures.js';
import { closedPort } from '../../helpers/ports.js';

/** The test servers' certificate, which is its own authority (test/fixtures/tls). */
const CA_FILE = fileURLToPath(new URL('../../fixtures/tls/cert.pem', import.meta.url));

function pool(timeoutMs?: number): TransportPool {
  const p = createTransportPool(timeoutMs === undefined ? {} : { timeoutMs });
  afterThisTest(() => p.closeAll());
  return p;
}

const message = (to: string[] = ['pagos@cliente.example']) => ({
  from: 'facturas@acme.example',
  to,
  subject: 'Prueba',
  text: 'Hola',
});

async function sendError(p: TransportPool, smtp: ResolvedSmtp, to?: string[]): Promise<MailerError> {
  const err = await p.send(smtp, 'ACME', 2, message(to)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MailerError);
  return err as MailerError;
}

/** A raw TCP server for conversations smtp-server cannot script; records when each client socket goes away. */
async function rawServer(onConnection: (socket: net.Socket) => void) {
  const closed: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed.push(Date.now());
      sockets.delete(socket);
    });
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterThisTest(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, closed };
}

async function eventually(predicate: () => boolean, timeoutMs = 7_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('transportOptionsFor', () => {
  const base = makeSmtp(587, { security: undefined });
  it.each([
    ['SSL', { ...base, security: 'SSL' as const, port: 465 }, { secure: true }],
    ['STARTTLS', { ...base, security: 'STARTTLS' as const }, { secure: false, requireTLS: true }],
    ['NINGUNA', { ...base, security: 'NINGUNA' as const }, { secure: false, ignoreTLS: true }],
    ['unset on 465', { ...base, port: 465 }, { secure: true }],
    ['unset on 587', base, { secure: false }],
  ])('%s', (_name, smtp, expected) => {
    const options = transportOptionsFor(smtp, 3, 1000);
    expect(options).toMatchObject({ ...expected, pool: true, maxConnections: 3, tls: { rejectUnauthorized: true } });
    for (const key of ['secure', 'requireTLS', 'ignoreTLS'] as const) {
      if (!(key in expected)) expect(options[key]).toBeUndefined();
    }
  });

  it('uses AUTH only with a user, and derives every timeout from TiempoEspera', () => {
    expect(transportOptionsFor(base, 1, 1000).auth).toBeUndefined();
    expect(transportOptionsFor({ ...base, user: 'u', password: 'p' }, 1, 1000).auth).toEqual({ user: 'u', pass: 'p' });
    expect(sendTimeoutMs({ ...base, timeoutMinutes: 2 })).toBe(120_000);
    expect(sendTimeoutMs({ ...base, timeoutMinutes: 0.01 })).toBe(600);
    expect(sendTimeoutMs(base, 250)).toBe(250);
    expect(transportOptionsFor(base, 1, 1234)).toMatchObject({ connectionTimeout: 1234, greetingTimeout: 1234, socketTimeout: 1234 });
  });
});

describe('createTransportPool against a real SMTP server', () => {
  it('sends plain (NINGUNA) and reuses one connection for several messages', async () => {
    const s = await sink({ tls: 'starttls' });
    const p = pool();
    const smtp = makeSmtp(s.port);
    for (let i = 0; i < 3; i += 1) {
      const info = await p.send(smtp, 'ACME', 1, message());
      expect(info.accepted).toEqual(['pagos@cliente.example']);
    }
    expect(s.messages).toHaveLength(3);
    expect(s.messages.every((m) => !m.secure)).toBe(true); // NINGUNA ignores the offered STARTTLS
    expect(s.connectionCount()).toBe(1);
    expect(p.size()).toBe(1);
    await p.send(smtp, 'OTRA', 1, message());
    expect(p.size()).toBe(2); // another lane gets its own transport
    await p.closeAll();
    expect(p.size()).toBe(0);
  });

  it('closeAll lets a send still waiting for its connection finish instead of failing it', async () => {
    // At shutdown a failure notification can be queued on a transport whose connection is not open yet.
    const s = await sink();
    const p = pool();
    const queued = p.send(makeSmtp(s.port), 'AVISOS', 1, message(['sistemas@acme.example'])).then(
      (info) => info.accepted,
      (e: unknown) => `failed: ${(e as Error).message}`,
    );
    await p.closeAll();
    expect(await queued).toEqual(['sistemas@acme.example']);
    expect(s.messages).toHaveLength(1);
    expect(p.size()).toBe(0);
  });

  it('AUTH PLAIN and AUTH LOGIN with the right password', async () => {
    for (const method of ['PLAIN', 'LOGIN'] as const) {
      const s = await sink({ auth: { user: 'facturas', pass: 'correcta', methods: [method] } });
      await pool().send(makeSmtp(s.port, { user: 'facturas', password: 'correcta' }), 'ACME', 1, message());
      expect(s.authAttempts).toEqual([{ user: 'facturas', method, ok: true }]);
      expect(s.messages[0].user).toBe('facturas');
    }
  });

  it('a wrong password fails with SMTP_AUTH and never shows the password', async () => {
    for (const method of ['PLAIN', 'LOGIN'] as const) {
      const s = await sink({ auth: { user: 'facturas', pass: 'correcta', methods: [method] } });
      const err = await sendError(pool(), makeSmtp(s.port, { user: 'facturas', password: 'Incorrecta-123' }));
      expect(err.code).toBe(ErrorCodes.SMTP_AUTH);
      expect(err.smtp?.responseCode).toBe(535);
      expect(classifySendError(err)).toBe('fail');
      const everything = `${err.message} ${JSON.stringify(err.toJSON())}`;
      expect(everything).not.toContain('Incorrecta-123');
      expect(everything).not.toContain(Buffer.from('Incorrecta-123').toString('base64'));
      expect(s.messages).toHaveLength(0);
    }
  });

  it('STARTTLS required: upgrades when offered (certificate accepted explicitly)', async () => {
    const s = await sink({ tls: 'starttls', auth: { user: 'u', pass: 'p' } });
    await pool().send(makeSmtp(s.port, { security: 'STARTTLS', rejectUnauthorized: false, user: 'u', password: 'p' }), 'ACME', 1, message());
    expect(s.messages[0].secure).toBe(true);
  });

  it('STARTTLS required but not offered: SMTP_TLS, nothing sent', async () => {
    const s = await sink({ tls: 'none' });
    const err = await sendError(pool(), makeSmtp(s.port, { security: 'STARTTLS', rejectUnauthorized: false }));
    expect(err.code).toBe(ErrorCodes.SMTP_TLS);
    expect(classifySendError(err)).toBe('fail');
    expect(s.messages).toHaveLength(0);
  });

  it('unset security: STARTTLS when offered, plain when not', async () => {
    const tls = await sink({ tls: 'starttls' });
    await pool().send(makeSmtp(tls.port, { security: undefined, rejectUnauthorized: false }), 'ACME', 1, message());
    expect(tls.messages[0].secure).toBe(true);
    const plain = await sink({ tls: 'none' });
    await pool().send(makeSmtp(plain.port, { security: undefined }), 'ACME', 1, message());
    expect(plain.messages[0].secure).toBe(false);
  });

  it('verifies certificates by default: the self-signed one is refused with SMTP_TLS (STARTTLS and SSL)', async () => {
    const starttls = await sink({ tls: 'starttls' });
    const e1 = await sendError(pool(), makeSmtp(starttls.port, { security: 'STARTTLS' }));
    expect(e1.code).toBe(ErrorCodes.SMTP_TLS);
    const implicit = await sink({ tls: 'implicit' });
    const e2 = await sendError(pool(), makeSmtp(implicit.port, { security: 'SSL' }));
    expect(e2.code).toBe(ErrorCodes.SMTP_TLS);
    expect(classifySendError(e2)).toBe('fail');
    expect(starttls.messages.length + implicit.messages.length).toBe(0);
  });

  it('implicit TLS (SSL) works when the certificate is accepted', async () => {
    const s = await sink({ tls: 'implicit' });
    await pool().send(makeSmtp(s.port, { security: 'SSL', rejectUnauthorized: false }), 'ACME', 1, message());
    expect(s.messages[0].secure).toBe(true);
  });

  it('connection refused is SMTP_CONNECTION, retried', async () => {
    const { port } = await rawServer((socket) => socket.destroy());
    const freePort = await closedPort();
    const refused = await sendError(pool(), makeSmtp(freePort));
    expect(refused.code).toBe(ErrorCodes.SMTP_CONNECTION);
    expect(refused.smtp?.errno).toBe('ECONNREFUSED');
    expect(classifySendError(refused)).toBe('retry');
    const dropped = await sendError(pool(), makeSmtp(port)); // accepts and hangs up at once
    expect(dropped.code).toBe(ErrorCodes.SMTP_CONNECTION);
    expect(classifySendError(dropped)).toBe('retry');
  });

  const replyCases: [string, SmtpSinkOptions, ErrorCode, 'retry' | 'fail'][] = [
    ['451 on RCPT TO', { rcptError: () => ({ code: 451, message: '4.3.0 try later' }) }, ErrorCodes.SMTP_TEMPORARY, 'retry'],
    ['451 after DATA', { dataError: () => ({ code: 451, message: '4.3.0 try later' }) }, ErrorCodes.SMTP_TEMPORARY, 'retry'],
    ['421 on MAIL FROM', { mailFromError: () => ({ code: 421, message: '4.7.0 too many connections' }) }, ErrorCodes.SMTP_TEMPORARY, 'retry'],
    ['550 after DATA', { dataError: () => ({ code: 550, message: '5.7.1 looks like spam' }) }, ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['550 on MAIL FROM', { mailFromError: () => ({ code: 550, message: '5.7.1 sender refused' }) }, ErrorCodes.SMTP_PERMANENT, 'fail'],
    ['550 for every recipient', { rejectRecipients: ['pagos@cliente.example'] }, ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED, 'fail'],
  ];
  it.each(replyCases)('%s → %s (%s)', async (_name, options, code, decision) => {
    const s = await sink(options);
    const err = await sendError(pool(), makeSmtp(s.port));
    expect(err.code).toBe(code);
    expect(classifySendError(err)).toBe(decision);
    expect(err.smtp?.responseCode).toBeGreaterThanOrEqual(400);
    expect(s.messages).toHaveLength(0);
  });

  it('reports recipients refused while others were accepted', async () => {
    const s = await sink({ rejectRecipients: ['nadie@cliente.example'] });
    const info = await pool().send(makeSmtp(s.port), 'ACME', 1, message(['pagos@cliente.example', 'nadie@cliente.example']));
    expect(info.accepted).toEqual(['pagos@cliente.example']);
    expect(info.rejected).toEqual(['nadie@cliente.example']);
    expect(s.messages[0].envelope.to).toEqual(['pagos@cliente.example']);
  });
});

describe('addresses with a non-ASCII local part (SMTPUTF8)', () => {
  const international = ['josé@cliente.mx', '用户@例子.公司'];

  /** A sink that records every RCPT TO it is asked and whether MAIL FROM carried SMTPUTF8. */
  async function recordingSink(options: SmtpSinkOptions = {}, hideSMTPUTF8 = false) {
    const rcpts: string[] = [];
    const smtpUtf8: boolean[] = [];
    const s = await sink({
      ...options,
      rcptError: (address) => {
        rcpts.push(address);
        return undefined;
      },
      serverOptions: {
        hideSMTPUTF8,
        onMailFrom(address, _session, callback) {
          smtpUtf8.push(typeof address.args === 'object' && address.args.SMTPUTF8 === true);
          callback();
        },
      },
    });
    return { s, rcpts, smtpUtf8 };
  }

  it('a server that does not offer SMTPUTF8: SMTP_SMTPUTF8_UNSUPPORTED naming the addresses, permanent, and no RCPT TO at all', async () => {
    const { s, rcpts, smtpUtf8 } = await recordingSink({}, true);
    const err = await sendError(pool(), makeSmtp(s.port), ['pagos@cliente.example', ...international]);
    expect(err.code).toBe(ErrorCodes.SMTP_SMTPUTF8_UNSUPPORTED);
    expect(err.value).toBe(international.join(', '));
    expect(err.message).toContain('josé@cliente.mx');
    expect(classifySendError(err)).toBe('fail');
    expect(rcpts).toEqual([]);
    expect(smtpUtf8).toEqual([]);
    expect(s.messages).toHaveLength(0);
  });

  it('a server that offers SMTPUTF8: the message goes out with SMTPUTF8 on MAIL FROM and the addresses as written', async () => {
    const { s, rcpts, smtpUtf8 } = await recordingSink();
    const info = await pool().send(makeSmtp(s.port), 'ACME', 1, message(international));
    expect(info.accepted).toEqual(international);
    expect(smtpUtf8).toEqual([true]);
    expect(rcpts).toEqual(international);
    expect(s.messages).toHaveLength(1);
    expect(s.messages[0]!.parsed.to).toMatchObject({ value: international.map((address) => ({ address })) });
  });

  it('asks the server after STARTTLS, as the pooled connection sees it', async () => {
    const { s, smtpUtf8 } = await recordingSink({ tls: 'starttls' });
    await pool().send(makeSmtp(s.port, { security: 'STARTTLS', rejectUnauthorized: false }), 'ACME', 1, message(international));
    expect(smtpUtf8).toEqual([true]);
    expect(s.messages[0]!.secure).toBe(true);
  });

  it('the sender counts too (MAIL FROM)', async () => {
    const { s } = await recordingSink({}, true);
    const err = await pool()
      .send(makeSmtp(s.port), 'ACME', 1, { ...message(), from: 'Facturación <facturación@acme.example>' })
      .then(() => undefined, (e: unknown) => e as MailerError);
    expect(err?.code).toBe(ErrorCodes.SMTP_SMTPUTF8_UNSUPPORTED);
    expect(err?.value).toBe('facturación@acme.example');
    expect(s.messages).toHaveLength(0);
  });

  it('an ASCII local part at an internationalised domain needs no SMTPUTF8: sent in punycode to a server without it', async () => {
    const { s, smtpUtf8 } = await recordingSink({}, true);
    await pool().send(makeSmtp(s.port), 'ACME', 1, message(['ana@例子.公司']));
    expect(smtpUtf8).toEqual([false]);
    expect(s.messages).toHaveLength(1);
    expect(s.messages[0]!.raw.toString('latin1')).toMatch(/^To: ana@xn--fsqu00a\.xn--55qx5d\r$/m);
  });

  it('a server that is down while asked: SMTP_CONNECTION, retried', async () => {
    const { port } = await rawServer((socket) => socket.destroy());
    const err = await sendError(pool(), makeSmtp(port), international);
    expect(err.code).toBe(ErrorCodes.SMTP_CONNECTION);
    expect(classifySendError(err)).toBe('retry');
  });

  it('a server that never greets while asked: SMTP_TIMEOUT within TiempoEspera', async () => {
    const { port } = await rawServer(() => undefined);
    const started = Date.now();
    const err = await sendError(pool(300), makeSmtp(port), international);
    expect(err.code).toBe(ErrorCodes.SMTP_TIMEOUT);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('TiempoEspera bounds the whole send', () => {
  it('a server that accepts and never greets: SMTP_TIMEOUT within the bound, and the connection is dropped', async () => {
    const server = await rawServer(() => undefined);
    const started = Date.now();
    const err = await sendError(pool(400), makeSmtp(server.port));
    const elapsed = Date.now() - started;
    expect(err.code).toBe(ErrorCodes.SMTP_TIMEOUT);
    expect(classifySendError(err)).toBe('retry');
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(1_500);
    await eventually(() => server.closed.length === 1);
  });

  it('a server that trickles its reply (no idle timeout fires): SMTP_TIMEOUT at the bound, connection closed', async () => {
    const timers: NodeJS.Timeout[] = [];
    afterThisTest(() => timers.forEach(clearInterval));
    const server = await rawServer((socket) => {
      socket.write('220 trickle ESMTP\r\n');
      socket.on('data', (chunk: Buffer) => {
        const line = chunk.toString('latin1');
        if (/^EHLO/i.test(line)) socket.write('250 trickle\r\n');
        else if (/^MAIL FROM/i.test(line)) {
          socket.write('250');
          // One byte every 100 ms, never ending the line: the socket is never idle.
          timers.push(setInterval(() => socket.writable && socket.write(' '), 100));
        }
      });
    });
    const started = Date.now();
    const err = await sendError(pool(800), makeSmtp(server.port));
    const elapsed = Date.now() - started;
    expect(err.code).toBe(ErrorCodes.SMTP_TIMEOUT);
    expect(elapsed).toBeGreaterThanOrEqual(750);
    expect(elapsed).toBeLessThan(2_000);
    await eventually(() => server.closed.length === 1);
  });

  it('a timed-out send does not break the next one on the same lane', async () => {
    let stall = true;
    const server = await rawServer((socket) => {
      if (stall) return; // first connection: never greets
      socket.write('220 ok\r\n');
      socket.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('latin1').split('\r\n').filter(Boolean)) {
          if (/^EHLO/i.test(line)) socket.write('250 ok\r\n');
          else if (/^DATA/i.test(line)) socket.write('354 go\r\n');
          else if (line === '.') socket.write('250 queued\r\n');
          else if (/^(MAIL|RCPT)/i.test(line)) socket.write('250 ok\r\n');
          else if (/^QUIT/i.test(line)) socket.end('221 bye\r\n');
        }
      });
    });
    const p = pool(400);
    const smtp = makeSmtp(server.port);
    expect((await sendError(p, smtp)).code).toBe(ErrorCodes.SMTP_TIMEOUT);
    stall = false;
    const info = await p.send(smtp, 'ACME', 2, message());
    expect(info.response).toContain('250 queued');
  });
});

describe('Seguridad against the wrong kind of port', () => {
  it('STARTTLS against a port that speaks TLS first (465-style, says nothing to a plain client): SMTP_TLS "tls-port" within seconds, not a retried timeout', async () => {
    const s = await sink({ tls: 'implicit' });
    const started = Date.now();
    // TiempoEspera of a minute: the failure must not wait for it.
    const err = await sendError(pool(60_000), makeSmtp(s.port, { security: 'STARTTLS' }));
    const elapsed = Date.now() - started;
    expect(err.code).toBe(ErrorCodes.SMTP_TLS);
    expect(err.smtp?.diagnosis).toBe('tls-port');
    expect(classifySendError(err)).toBe('fail');
    expect(err.message).toMatch(/^Port \d+ speaks TLS from the first byte \(implicit TLS\) but Seguridad is STARTTLS/);
    expect(elapsed).toBeLessThan(8_000);
    expect(s.messages).toHaveLength(0);
  });

  it('unset Seguridad on such a port (not 465) is the same mismatch; NINGUNA too', async () => {
    const s = await sink({ tls: 'implicit' });
    for (const security of [undefined, 'NINGUNA'] as const) {
      const err = await sendError(pool(60_000), makeSmtp(s.port, { security }));
      expect(err.code).toBe(ErrorCodes.SMTP_TLS);
      expect(err.smtp?.diagnosis).toBe('tls-port');
    }
  });

  it('a plain server that greets late is not mistaken for TLS: the send goes through after the probe', async () => {
    const s = await scopedScriptedSmtp({ greetingDelayMs: PROBE_AFTER_MS + 1_500 });
    const p = pool(30_000);
    await p.send(makeSmtp(s.port, { security: 'NINGUNA' }), 'ACME', 1, message());
    expect(s.messages).toHaveLength(1);
    // The probe was one extra connection, which got its ClientHello refused; the next send probes no more.
    const sessionsAfterFirst = s.totalSessions;
    expect(sessionsAfterFirst).toBe(2);
    await p.send(makeSmtp(s.port, { security: 'NINGUNA' }), 'ACME', 1, message());
    expect(s.messages).toHaveLength(2);
    expect(s.totalSessions).toBe(sessionsAfterFirst);
  });

  it('the probe sends no TLS to a server that greets: only QUIT, so no server sees a client talking before its greeting', async () => {
    const plain = await scopedScriptedSmtp();
    expect(await speaksTlsFirst('127.0.0.1', plain.port)).toBe(false);
    await eventually(() => plain.log.length > 0);
    expect(plain.log.map((entry) => entry.line)).toEqual(['QUIT']);
    const implicit = await sink({ tls: 'implicit' });
    expect(await speaksTlsFirst('127.0.0.1', implicit.port)).toBe(true);
    // Silent and not TLS either (a stalled server): not TLS, within the probe's bound.
    const silent = await rawServer(() => undefined);
    const started = Date.now();
    expect(await speaksTlsFirst('127.0.0.1', silent.port, 2_500)).toBe(false);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('SSL against a plain port: SMTP_TLS "plain-port" at once', async () => {
    const s = await sink();
    const err = await sendError(pool(60_000), makeSmtp(s.port, { security: 'SSL' }));
    expect(err.code).toBe(ErrorCodes.SMTP_TLS);
    expect(err.smtp?.diagnosis).toBe('plain-port');
  });
});

describe('a company certificate authority («ca»)', () => {
  it('trusts the server whose authority is in the file, over STARTTLS and SSL; without it the certificate is refused', async () => {
    for (const tls of ['starttls', 'implicit'] as const) {
      const s = await sink({ tls });
      const security = tls === 'starttls' ? 'STARTTLS' : 'SSL';
      await pool().send(makeSmtp(s.port, { security, ca: CA_FILE }), 'ACME', 1, message());
      expect(s.messages).toHaveLength(1);
      const err = await sendError(pool(), makeSmtp(s.port, { security }));
      expect(err.code).toBe(ErrorCodes.SMTP_TLS);
    }
  });

  it('a «ca» file gone since the configuration was loaded: SMTP_TLS naming the file', async () => {
    const s = await sink({ tls: 'starttls' });
    const err = await sendError(pool(), makeSmtp(s.port, { security: 'STARTTLS', ca: `${CA_FILE}.gone` }));
    expect(err.code).toBe(ErrorCodes.SMTP_TLS);
    expect(err.message).toContain(`${CA_FILE}.gone`);
  });

  it('keeps the public authorities and name verification (the options nodemailer gets)', () => {
    const options = transportOptionsFor(makeSmtp(587, { ca: CA_FILE }), 1, 1000);
    const ca = (options.tls as { ca: string[] }).ca;
    expect(ca.length).toBeGreaterThan(tls.rootCertificates.length);
    expect(ca).toEqual(expect.arrayContaining([...tls.rootCertificates]));
    expect(options.tls).not.toHaveProperty('checkServerIdentity');
    expect(options.tls).toMatchObject({ rejectUnauthorized: true });
  });
});

describe('closing says QUIT', () => {
  it('closeAll ends every pooled connection with QUIT, answered before the socket closes', async () => {
    const s = await scopedScriptedSmtp();
    const p = createTransportPool();
    await Promise.all([1, 2, 3].map(() => p.send(makeSmtp(s.port, { security: 'NINGUNA' }), 'ACME', 2, message())));
    expect(s.totalSessions).toBe(2);
    await p.closeAll();
    await eventually(() => s.openSessions === 0);
    const quits = s.log.filter((entry) => /^QUIT\b/i.test(entry.line)).map((entry) => entry.session);
    expect(quits.sort()).toEqual([1, 2]);
  });

  it('a server that does not answer QUIT does not hold closing up for more than QUIT_WAIT_MS', async () => {
    const s = await scopedScriptedSmtp({ reply: ({ command }) => (command === 'QUIT' ? { action: 'stall' } : undefined) });
    const p = createTransportPool();
    await p.send(makeSmtp(s.port, { security: 'NINGUNA' }), 'ACME', 1, message());
    const started = Date.now();
    await p.closeAll();
    expect(Date.now() - started).toBeLessThan(QUIT_WAIT_MS + 1_000);
    await eventually(() => s.openSessions === 0);
  });
});
