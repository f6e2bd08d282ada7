import { randomBytes } from 'node:crypto';
import net from 'node:net';

import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterEach, describe, expect, it } from 'vitest';

import { startScriptedSmtp, type ScriptedSmtp, type ScriptedSmtpOptions } from './scripted-smtp.js';

let smtp: ScriptedSmtp | undefined;
afterEach(async () => {
  await smtp?.close();
  smtp = undefined;
});

async function start(opts?: ScriptedSmtpOptions): Promise<ScriptedSmtp> {
  smtp = await startScriptedSmtp(opts);
  return smtp;
}

function transport(port: number, extra: Record<string, unknown> = {}) {
  return nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, ...extra });
}

const envelope = { from: 'facturas@acme.example', to: ['pagos@cliente.example'] };
const mail = { from: envelope.from, to: envelope.to, subject: 'Factura', text: 'Hola' };

/** A raw client: writes `chunks` one by one (with pauses, so they tend to arrive apart) and collects reply lines. */
async function rawSession(port: number, chunks: (string | Buffer)[], expectedReplies: number): Promise<string[]> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let received = '';
  const done = new Promise<string[]>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (d) => {
      received += d.toString('utf8');
      const finals = received.split('\r\n').filter((l) => /^\d{3} /.test(l));
      if (finals.length >= expectedReplies) resolve(finals);
    });
  });
  await new Promise((r) => socket.once('connect', r));
  for (const c of chunks) {
    socket.write(c);
    await new Promise((r) => setTimeout(r, 5));
  }
  try {
    return await done;
  } finally {
    socket.destroy();
  }
}

describe('startScriptedSmtp', () => {
  it('records a normal send byte for byte, including a 200 KB attachment', async () => {
    const server = await start();
    const attachment = randomBytes(200 * 1024);
    const raw = await new MailComposer({ ...mail, text: 'Hola\r\n.línea con punto\r\n..dos\r\n.\r\nfin\r\n', attachments: [{ filename: 'a.bin', content: attachment }] })
      .compile()
      .build();
    expect(raw.subarray(-2).toString()).toBe('\r\n'); // so the client adds nothing before the final '.'
    const info = await transport(server.port).sendMail({ envelope, raw });
    expect(info.response).toBe('250 2.0.0 queued as 1');
    expect(server.messages).toHaveLength(1);
    const [message] = server.messages;
    expect(message.raw.equals(raw)).toBe(true);
    expect(message).toMatchObject({ mailFrom: envelope.from, rcptTo: envelope.to, session: 1 });
    const parsed = await simpleParser(message.raw);
    expect(parsed.text).toBe('Hola\n.línea con punto\n..dos\n.\nfin\n');
    expect(parsed.attachments[0].content.equals(attachment)).toBe(true);
    expect(server.log.map((l) => l.line.split(' ')[0])).toEqual(['EHLO', 'MAIL', 'RCPT', 'DATA', '.']); // nodemailer closes without QUIT
    await expect.poll(() => server.openSessions).toBe(0);
    expect(server.totalSessions).toBe(1);
  });

  it('handles commands batched in one chunk, split across chunks, and an end of data split byte by byte', async () => {
    const server = await start();
    const data = 'Subject: x\r\n\r\n..stuffed\r\n.\r\n';
    const replies = await rawSession(
      server.port,
      ['EHLO a\r\nMAIL FROM:<a@x>\r\nRC', 'PT TO:<b@y>\r', '\nDATA\r\n', data.slice(0, -4), ...data.slice(-4).split(''), 'RSET\r\nFOO\r\n'],
      8,
    );
    expect(replies.map((r) => r.slice(0, 3))).toEqual(['220', '250', '250', '250', '354', '250', '250', '502']);
    expect(server.messages.map((m) => m.raw.toString())).toEqual(['Subject: x\r\n\r\n.stuffed\r\n']);
    expect(server.messages[0]).toMatchObject({ mailFrom: 'a@x', rcptTo: ['b@y'] });
  }, 5_000);

  it('accepts AUTH PLAIN and AUTH LOGIN and never logs the credentials', async () => {
    const server = await start();
    for (const method of ['PLAIN', 'LOGIN']) {
      await transport(server.port, { auth: { user: 'usuario', pass: 'secreto' }, authMethod: method }).sendMail(mail);
    }
    expect(server.messages).toHaveLength(2);
    const logged = server.log.map((l) => l.line).join('\n');
    expect(logged).toMatch(/AUTH PLAIN \*\*\*/);
    expect(logged).toMatch(/AUTH LOGIN/);
    for (const secret of ['usuario', 'secreto']) {
      expect(logged).not.toContain(Buffer.from(secret).toString('base64'));
    }
    expect(logged).not.toContain(Buffer.from('\0usuario\0secreto').toString('base64'));
  });

  it('451 on RCPT makes sendMail reject with responseCode 451', async () => {
    const server = await start({ reply: ({ command }) => (command === 'RCPT' ? { code: 451, text: '4.3.0 Try later' } : undefined) });
    await expect(transport(server.port).sendMail(mail)).rejects.toMatchObject({ responseCode: 451 });
    expect(server.messages).toEqual([]);
  });

  it('550 on DOT rejects with 550 and records nothing', async () => {
    const server = await start({ reply: ({ command }) => (command === 'DOT' ? { code: 550, text: '5.7.1 Rejected' } : undefined) });
    await expect(transport(server.port).sendMail(mail)).rejects.toMatchObject({ responseCode: 550 });
    expect(server.messages).toEqual([]);
    expect(server.log.map((l) => l.line)).toContain('.');
  });

  it("'drop' on MAIL rejects with a connection error", async () => {
    const server = await start({ reply: ({ command }) => (command === 'MAIL' ? { action: 'drop' } : undefined) });
    await expect(transport(server.port).sendMail(mail)).rejects.toMatchObject({ code: 'ECONNECTION' });
    expect(server.messages).toEqual([]);
  });

  it('dropMidData rejects and records nothing', async () => {
    const server = await start({ reply: ({ command }) => (command === 'DATA' ? { action: 'dropMidData', afterBytes: 10_000 } : undefined) });
    const attachments = [{ filename: 'a.bin', content: randomBytes(200 * 1024) }];
    const error = await transport(server.port).sendMail({ ...mail, attachments }).catch((e: { code?: string }) => e);
    // which one depends on whether the client was still writing when the socket went away
    expect(['ECONNECTION', 'ESOCKET']).toContain((error as { code?: string }).code);
    expect(server.messages).toEqual([]);
    expect(server.log.map((l) => l.line)).not.toContain('.');
  });

  it("greeting 'never' makes nodemailer time out", async () => {
    const server = await start({ greetingDelayMs: 'never' });
    await expect(transport(server.port, { greetingTimeout: 300 }).sendMail(mail)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(server.totalSessions).toBe(1);
    expect(server.log).toEqual([]);
  });

  it('a greeting delay and a reply delay only slow the session down', async () => {
    const server = await start({ greetingDelayMs: 100, replyDelayMs: 20 });
    const started = Date.now();
    await transport(server.port).sendMail(mail);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100 + 5 * 20);
    expect(server.messages).toHaveLength(1);
  });

  it('counts a pool of 3 simultaneous connections as exactly 3', async () => {
    const server = await start({ replyDelayMs: 50 });
    const pool = transport(server.port, { pool: true, maxConnections: 3 });
    const sends = Array.from({ length: 9 }, (_, i) => pool.sendMail({ ...mail, subject: `m${i}` }));
    await Promise.all(sends);
    pool.close();
    expect(server.messages).toHaveLength(9);
    expect(server.maxOpenSessions).toBe(3);
    expect(new Set(server.messages.map((m) => m.session)).size).toBe(3);
  });

  it('setReply switches behaviour mid-test', async () => {
    const server = await start({ reply: ({ command }) => (command === 'MAIL' ? { code: 421, text: '4.3.2 Down' } : undefined) });
    await expect(transport(server.port).sendMail(mail)).rejects.toMatchObject({ responseCode: 421 });
    server.setReply(({ command, messageIndex }) => (command === 'DOT' ? { code: 250, text: `ok ${messageIndex}` } : undefined));
    const info = await transport(server.port).sendMail(mail);
    expect(info.response).toBe('250 ok 0');
    expect(server.messages).toHaveLength(1);
    expect(server.messages[0].session).toBe(2);
  });

  it("'stall' leaves the client waiting, and close() with open sockets resolves promptly", async () => {
    const server = await start({ reply: ({ command }) => (command === 'MAIL' ? { action: 'stall' } : undefined) });
    const socket = net.connect(server.port, '127.0.0.1');
    const closed = new Promise((r) => socket.on('close', r));
    socket.on('error', () => {});
    socket.resume(); // read the greeting, or 'end' (and so 'close') never comes
    const sending = transport(server.port, { socketTimeout: 60_000 }).sendMail(mail);
    sending.catch(() => {});
    await expect.poll(() => server.log.some((l) => l.line.startsWith('MAIL'))).toBe(true);
    expect(server.openSessions).toBe(2);
    const started = Date.now();
    await server.close();
    smtp = undefined;
    expect(Date.now() - started).toBeLessThan(500);
    await closed;
    await expect(sending).rejects.toMatchObject({ code: 'ECONNECTION' });
  });
});
