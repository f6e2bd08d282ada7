import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ErrorCodes, MailerError } from '../../../src/errors.js';
import { renderNotification } from '../../../src/text/errors.js';
import { createNotifier, type NotifierDeps, type NotifierLogger } from '../../../src/io/smtp/notifier.js';
import { NOTIFICATION_HEADER } from '../../../src/io/smtp/notice.js';
import { noticeStatePath, readNoticeProblem } from '../../../src/io/host/notice-state.js';
import { createTransportPool } from '../../../src/io/smtp/pool.js';
import type { FailureReport } from '../../../src/ports.js';
import { afterThisTest, scopedSink as sink } from '../../helpers/scoped.js';
import { makeSmtp } from './send-fixtures.js';
import { closedPort } from '../../helpers/ports.js';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds (the sink records a message before the client hears its 250). */
async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

type Entry = { level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg?: string };

function recordingLogger() {
  const entries: Entry[] = [];
  const log = (level: Entry['level']) => (obj: object, msg?: string) =>
    void entries.push({ level, obj: obj as Record<string, unknown>, ...(msg !== undefined && { msg }) });
  const logger: NotifierLogger = { info: log('info'), warn: log('warn'), error: log('error') };
  return { logger, entries };
}

/** A notifier with a short period (300 ms unless given): tests run in seconds. */
function notifierFor(deps: Partial<NotifierDeps> = {}, poolTimeoutMs = 3_000) {
  const pool = createTransportPool({ timeoutMs: poolTimeoutMs });
  const { logger, entries } = recordingLogger();
  const notifier = createNotifier({ pool, language: 'es', logger, notifyEveryMs: 300, ...deps });
  afterThisTest(() => notifier.close());
  const events = (event: string) => entries.filter((e) => e.obj.event === event);
  return { notifier, entries, events };
}


/**
 * A TCP front for the mail server that counts every connection accepted. While
 * `upstream` is undefined the server is "down" the way a mail server in
 * maintenance or overloaded is: it greets with 421 and closes; otherwise it
 * relays to that port. (A connection accepted and dropped without a word would
 * cost two connections per try: the transport pool requeues a message once
 * when its connection closes, see src/io/smtp/pool.ts maxRequeues.)
 */
async function frontServer() {
  let accepted = 0;
  let upstream: number | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (upstream === undefined) return void socket.end('421 4.3.2 Service not available, closing transmission channel\r\n');
    const back = net.connect(upstream, '127.0.0.1');
    sockets.add(back);
    back.on('error', () => socket.destroy());
    back.on('close', () => socket.destroy());
    socket.on('close', () => back.destroy());
    socket.pipe(back).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterThisTest(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    up: (port: number) => void (upstream = port),
  };
}

const report = (overrides: Partial<FailureReport> = {}): FailureReport => ({
  orderId: '0107_20261127101612',
  fileName: '_CFD_MAIL_REQ_0107_20261127101612.XML',
  company: 'ACME',
  error: new MailerError(ErrorCodes.ORDER_NO_RECIPIENT, 'no recipient', { field: 'Para' }),
  reason: 'El campo «Para» no tiene ningún destinatario (sin destinatario).',
  to: [{ name: 'Cobranza', address: 'cobranza@acme.example' }],
  ...overrides,
});

/** The i-th of a series of reports, each with its own order id and file name. */
const nth = (i: number, overrides: Partial<FailureReport> = {}): FailureReport =>
  report({ orderId: `0107_${1000 + i}`, fileName: `_CFD_MAIL_REQ_0107_${1000 + i}.XML`, ...overrides });

describe('createNotifier: one message', () => {
  it('sends one message to the error address with the reason in the body', async () => {
    const s = await sink();
    const { notifier, entries } = notifierFor();
    const sent = report({ smtp: makeSmtp(s.port), from: { name: 'Facturas', address: 'facturas@acme.example' } });
    await notifier.notify(sent);
    const [received] = await s.waitForMessages(1);
    expect(s.messages).toHaveLength(1);
    expect(received.envelope).toEqual({ from: 'facturas@acme.example', to: ['cobranza@acme.example'] });
    expect(received.parsed.text).toContain('El campo «Para» no tiene ningún destinatario (sin destinatario).');
    expect(received.parsed.text).toContain('_CFD_MAIL_REQ_0107_20261127101612.XML');
    expect(received.parsed.text).toContain('Qué hacer: Corrija la orden');
    expect(received.parsed.subject).toBe(renderNotification([sent], 'es').subject);
    expect(received.parsed.headers.get(NOTIFICATION_HEADER.toLowerCase())).toBe('0107_20261127101612');
    expect(received.parsed.attachments).toHaveLength(0);
    await until(() => entries.length > 0);
    await sleep(50);
    expect(entries.map((e) => e.obj.event)).toEqual(['notify.sent']);
  });

  it('falls back to the default server and sender', async () => {
    const s = await sink();
    const { notifier } = notifierFor({ defaultSmtp: makeSmtp(s.port), defaultFrom: { name: '', address: 'mailer@acme.example' } });
    await notifier.notify(report());
    const [received] = await s.waitForMessages(1);
    expect(received.envelope.from).toBe('mailer@acme.example');
  });

  it('uses proscai-mailer@<host> when no sender is known', async () => {
    const s = await sink();
    const { notifier } = notifierFor({ defaultSmtp: makeSmtp(s.port) });
    await notifier.notify(report());
    const [received] = await s.waitForMessages(1);
    expect(received.envelope.from).toMatch(/^proscai-mailer@/);
  });

  it('writes in English with language "en"', async () => {
    const s = await sink();
    const { notifier } = notifierFor({ language: 'en', defaultSmtp: makeSmtp(s.port) });
    await notifier.notify(report());
    const [received] = await s.waitForMessages(1);
    expect(received.parsed.subject).toBe('proscai-mailer: 1 send order failed');
    expect(received.parsed.text).toContain('What to do: Fix the order');
  });

  it('logs a warning and sends nothing when no SMTP server is known', async () => {
    const { notifier, entries } = notifierFor();
    await notifier.notify(report());
    await notifier.close();
    expect(entries).toHaveLength(1);
    expect(entries[0].level).toBe('warn');
  });

  it('does nothing for a report without recipients', async () => {
    const s = await sink();
    const { notifier, entries } = notifierFor({ defaultSmtp: makeSmtp(s.port) });
    await notifier.notify(report({ to: [] }));
    await notifier.close();
    expect(entries).toEqual([]);
    expect(s.connectionCount()).toBe(0);
  });
});

describe('createNotifier: gathering', () => {
  it('ten failures within the window for one address give exactly ONE message listing all ten', async () => {
    const s = await sink();
    const { notifier } = notifierFor({ defaultSmtp: makeSmtp(s.port), notifyEveryMs: 400 });
    for (let i = 0; i < 10; i++) {
      await notifier.notify(nth(i));
      await sleep(10);
    }
    const [received] = await s.waitForMessages(1);
    await sleep(1_000); // more than two periods: nothing else comes
    expect(s.messages).toHaveLength(1);
    for (let i = 0; i < 10; i++) expect(received.parsed.text).toContain(`_CFD_MAIL_REQ_0107_${1000 + i}.XML`);
    expect(received.parsed.subject).toBe('proscai-mailer: 10 órdenes de envío fallaron');
    expect(received.parsed.headers.get(NOTIFICATION_HEADER.toLowerCase())).toBe(
      Array.from({ length: 10 }, (_, i) => `0107_${1000 + i}`).join(', '),
    );
  });

  it('failures for two different addresses give two messages, each with its own orders', async () => {
    const s = await sink();
    const { notifier } = notifierFor({ defaultSmtp: makeSmtp(s.port) });
    const a = [{ name: '', address: 'a@acme.example' }];
    const b = [{ name: '', address: 'b@acme.example' }];
    await notifier.notify(nth(1, { to: a }));
    await notifier.notify(nth(2, { to: b }));
    await notifier.notify(nth(3, { to: a }));
    await s.waitForMessages(2);
    await sleep(700);
    expect(s.messages).toHaveLength(2);
    const to = (address: string) => s.messages.find((m) => m.envelope.to[0] === address)!.parsed.text ?? '';
    expect(to('a@acme.example')).toContain('_CFD_MAIL_REQ_0107_1001.XML');
    expect(to('a@acme.example')).toContain('_CFD_MAIL_REQ_0107_1003.XML');
    expect(to('a@acme.example')).not.toContain('_CFD_MAIL_REQ_0107_1002.XML');
    expect(to('b@acme.example')).toContain('_CFD_MAIL_REQ_0107_1002.XML');
  });

  it('a report for two addresses reaches each of them', async () => {
    const s = await sink();
    const { notifier } = notifierFor({ defaultSmtp: makeSmtp(s.port) });
    await notifier.notify(report({ to: [{ name: '', address: 'a@acme.example' }, { name: '', address: 'B@acme.example' }] }));
    await s.waitForMessages(2);
    expect(s.messages.map((m) => m.envelope.to).sort()).toEqual([['B@acme.example'], ['a@acme.example']]);
  });

  it('sends to one address at most once per period', async () => {
    const s = await sink();
    const { notifier } = notifierFor({ defaultSmtp: makeSmtp(s.port), notifyEveryMs: 800, gatherMs: 50 });
    const started = Date.now();
    await notifier.notify(nth(1));
    await s.waitForMessages(1);
    const first = Date.now();
    expect(first - started).toBeLessThan(700); // the gathering window, not the period
    await notifier.notify(nth(2));
    await notifier.notify(nth(3));
    await s.waitForMessages(2);
    expect(Date.now() - first).toBeGreaterThanOrEqual(700);
    expect(s.messages[1].parsed.text).toContain('_CFD_MAIL_REQ_0107_1002.XML');
    expect(s.messages[1].parsed.text).toContain('_CFD_MAIL_REQ_0107_1003.XML');
  });
});

describe('createNotifier: mail server down', () => {
  it('ten reports cost one connection per period, and all ten go in one message once it is back', async () => {
    const front = await frontServer();
    const { notifier, events } = notifierFor({ defaultSmtp: makeSmtp(front.port), notifyEveryMs: 300 });
    const started = Date.now();
    for (let i = 0; i < 10; i++) await notifier.notify(nth(i));
    await sleep(1_400);
    const periods = Math.floor((Date.now() - started) / 300);
    expect(front.accepted()).toBeGreaterThanOrEqual(2);
    expect(front.accepted()).toBeLessThanOrEqual(periods);
    await until(() => events('notify.deferred').length === front.accepted()); // every try was a deferral
    expect(JSON.stringify(events('notify.deferred')[0].obj)).toContain(ErrorCodes.SMTP_TEMPORARY);

    const s = await sink();
    front.up(s.port);
    const [received] = await s.waitForMessages(1);
    await sleep(700);
    expect(s.messages).toHaveLength(1);
    for (let i = 0; i < 10; i++) expect(received.parsed.text).toContain(`_CFD_MAIL_REQ_0107_${1000 + i}.XML`);
    await until(() => events('notify.sent').length > 0);
    expect(events('notify.sent')).toHaveLength(1);
  });

  it('a refused connection (nothing listening) is tried once per period too', async () => {
    const port = await closedPort();
    const { notifier, events } = notifierFor({ defaultSmtp: makeSmtp(port), notifyEveryMs: 300 });
    const started = Date.now();
    for (let i = 0; i < 10; i++) await notifier.notify(nth(i));
    await sleep(1_400);
    const tries = events('notify.deferred');
    expect(tries.length).toBeGreaterThanOrEqual(2);
    expect(tries.length).toBeLessThanOrEqual(Math.floor((Date.now() - started) / 300));
    for (const t of tries) expect(t.obj.orders).toHaveLength(10);
    expect(JSON.stringify(tries[0].obj)).toContain(ErrorCodes.SMTP_CONNECTION);
  });

  it('one try per period for the whole server, whatever the number of recipients', async () => {
    const front = await frontServer();
    const { notifier } = notifierFor({ defaultSmtp: makeSmtp(front.port), notifyEveryMs: 300 });
    const started = Date.now();
    for (let i = 0; i < 6; i++) await notifier.notify(nth(i, { to: [{ name: '', address: `r${i}@acme.example` }] }));
    await sleep(1_400);
    expect(front.accepted()).toBeGreaterThanOrEqual(2);
    expect(front.accepted()).toBeLessThanOrEqual(Math.floor((Date.now() - started) / 300));
  });

  it('failures that are connection failures against the server itself wait a period before the first try', async () => {
    const front = await frontServer();
    const s = await sink();
    front.up(s.port);
    const smtp = makeSmtp(front.port);
    const { notifier } = notifierFor({ notifyEveryMs: 1_000, gatherMs: 50 });
    const down = new MailerError(ErrorCodes.SMTP_CONNECTION, 'connect ECONNREFUSED', { smtp: { errno: 'ECONNREFUSED' } });
    await notifier.notify(nth(1, { smtp, error: down }));
    await sleep(600);
    expect(front.accepted()).toBe(0);
    await s.waitForMessages(1);
    expect(front.accepted()).toBe(1);
  });

  it('keeps at most maxPending reports and says how many were left out', async () => {
    const front = await frontServer();
    const { notifier, events } = notifierFor({ defaultSmtp: makeSmtp(front.port), notifyEveryMs: 300, maxPending: 3 });
    for (let i = 0; i < 5; i++) await notifier.notify(nth(i));
    expect(events('notify.dropped').map((e) => e.obj.count)).toEqual([1, 1]);
    const s = await sink();
    front.up(s.port);
    const [received] = await s.waitForMessages(1);
    expect(received.parsed.subject).toBe('proscai-mailer: 5 órdenes de envío fallaron');
    expect(received.parsed.text).toContain('Además, 2 fallas anteriores no se detallan');
    expect(received.parsed.text).not.toContain('_CFD_MAIL_REQ_0107_1001.XML');
    expect(received.parsed.text).toContain('_CFD_MAIL_REQ_0107_1004.XML');
  });

  it('drops reports kept longer than maxAgeMs, with a log line', async () => {
    const front = await frontServer();
    const { notifier, events } = notifierFor({ defaultSmtp: makeSmtp(front.port), notifyEveryMs: 200, maxAgeMs: 300 });
    await notifier.notify(nth(1));
    await sleep(900);
    expect(events('notify.dropped')).toHaveLength(1);
    expect(events('notify.dropped')[0].obj.orders).toEqual(['0107_1001']);
    const tries = front.accepted();
    await sleep(500);
    expect(front.accepted()).toBe(tries); // nothing left to send: no more tries
  });

  it('a message refused for good is logged and not tried again', async () => {
    const s = await sink({ rejectRecipients: ['cobranza@acme.example'] });
    const { notifier, events } = notifierFor({ defaultSmtp: makeSmtp(s.port, { password: 'clave-secreta' }) });
    await expect(notifier.notify(report())).resolves.toBeUndefined();
    await sleep(1_000);
    expect(events('notify.failed')).toHaveLength(1);
    expect(JSON.stringify(events('notify.failed')[0].obj)).toContain(ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED);
    expect(s.connectionCount()).toBe(1);
    expect(s.messages).toHaveLength(0);
  });

  it('never throws and never logs the password when the server is unreachable', async () => {
    const port = await closedPort();
    const { notifier, entries } = notifierFor();
    await expect(notifier.notify(report({ smtp: makeSmtp(port, { password: 'clave-secreta' }) }))).resolves.toBeUndefined();
    await sleep(450);
    await notifier.close();
    expect(entries.map((e) => `${e.level} ${String(e.obj.event)}`)).toEqual(['error notify.deferred', 'error notify.failed']);
    expect(JSON.stringify(entries)).toContain(ErrorCodes.SMTP_CONNECTION);
    expect(JSON.stringify(entries)).not.toContain('clave-secreta');
  });
});

describe('createNotifier: notification route', () => {
  it('sends every notice through the route, with its sender, whatever the report names', async () => {
    const route = await sink();
    const own = await sink();
    const { notifier } = notifierFor({ route: { smtp: makeSmtp(route.port), from: { name: 'Avisos', address: 'avisos@proscai.example' } } });
    await notifier.notify(report({ smtp: makeSmtp(own.port), from: { name: 'Facturas', address: 'facturas@acme.example' } }));
    await notifier.notify(nth(1, { to: [{ name: '', address: 'otra@acme.example' }] }));
    const received = await route.waitForMessages(2);
    expect(received.map((m) => m.envelope.from)).toEqual(['avisos@proscai.example', 'avisos@proscai.example']);
    expect(received.map((m) => m.envelope.to[0]).sort()).toEqual(['cobranza@acme.example', 'otra@acme.example']);
    expect(own.connectionCount()).toBe(0);
  });

  it('keeps a state file while notices fail and removes it once one gets through', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'proscai-notify-state-'));
    afterThisTest(() => rm(dir, { recursive: true, force: true }));
    const statePath = noticeStatePath(dir);
    const front = await frontServer();
    const { notifier, events } = notifierFor({ route: { smtp: makeSmtp(front.port), from: { name: '', address: 'avisos@proscai.example' } }, statePath });
    await notifier.notify(report());
    await until(() => events('notify.deferred').length > 0);
    await until(() => existsSync(statePath));
    const problem = await readNoticeProblem(statePath);
    expect(problem).toMatchObject({ server: `127.0.0.1:${front.port}`, error: { smtpCode: 421 } });
    expect(events('notify.deferred')[0].level).toBe('error');
    const s = await sink();
    front.up(s.port);
    await s.waitForMessages(1);
    await until(() => !existsSync(statePath));
    expect(await readNoticeProblem(statePath)).toBeUndefined();
  });
});

describe('createNotifier: close()', () => {
  it('sends what is pending at once, without waiting for the window or the period', async () => {
    const s = await sink();
    const { notifier } = notifierFor({ defaultSmtp: makeSmtp(s.port), notifyEveryMs: 60_000 });
    for (let i = 0; i < 3; i++) await notifier.notify(nth(i));
    const started = Date.now();
    await notifier.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(s.messages).toHaveLength(1);
    for (let i = 0; i < 3; i++) expect(s.messages[0].parsed.text).toContain(`_CFD_MAIL_REQ_0107_${1000 + i}.XML`);
  });

  it('gives a down server one last try, then logs what was not sent', async () => {
    const front = await frontServer();
    const { notifier, events } = notifierFor({ defaultSmtp: makeSmtp(front.port), notifyEveryMs: 60_000 });
    await notifier.notify(nth(1, { to: [{ name: '', address: 'a@acme.example' }] }));
    await notifier.notify(nth(2, { to: [{ name: '', address: 'b@acme.example' }] }));
    await notifier.close();
    expect(front.accepted()).toBe(1);
    expect(events('notify.failed').map((e) => e.obj.orders)).toEqual([['0107_1001'], ['0107_1002']]);
  });

  it('is bounded in time when the server stalls', async () => {
    const sockets: net.Socket[] = [];
    const stall = net.createServer((socket) => void sockets.push(socket)); // never greets
    await new Promise<void>((resolve) => stall.listen(0, '127.0.0.1', resolve));
    afterThisTest(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => stall.close(() => resolve()));
    });
    const port = (stall.address() as net.AddressInfo).port;
    const { notifier, events } = notifierFor({ defaultSmtp: makeSmtp(port), notifyEveryMs: 60_000, closeTimeoutMs: 500 }, 30_000);
    await notifier.notify(nth(1));
    const started = Date.now();
    await notifier.close();
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(events('notify.failed').map((e) => e.obj.orders)).toEqual([['0107_1001']]);
  });

  it('a report after close() is logged, not sent', async () => {
    const s = await sink();
    const { notifier, events } = notifierFor({ defaultSmtp: makeSmtp(s.port) });
    await notifier.close();
    await notifier.notify(nth(1));
    await sleep(400);
    expect(s.connectionCount()).toBe(0);
    expect(events('notify.failed')).toHaveLength(1);
  });
});
