import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { ErrorCodes, MailerError } from '../../src/errors.js';
import { renderNotification } from '../../src/i18n.js';
import { createNotifier, NOTIFICATION_HEADER, type NotifierLogger } from '../../src/io/notifier.js';
import { createTransportPool } from '../../src/io/smtp.js';
import type { FailureReport } from '../../src/ports.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { makeSmtp } from './send-fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function sink(options: Parameters<typeof startSmtpSink>[0] = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(options);
  cleanups.push(() => s.close());
  return s;
}

function recordingLogger() {
  const entries: { level: 'warn' | 'error'; obj: object; msg?: string }[] = [];
  const logger: NotifierLogger = {
    warn: (obj, msg) => entries.push({ level: 'warn', obj, ...(msg !== undefined && { msg }) }),
    error: (obj, msg) => entries.push({ level: 'error', obj, ...(msg !== undefined && { msg }) }),
  };
  return { logger, entries };
}

function notifierFor(deps: Partial<Parameters<typeof createNotifier>[0]> = {}) {
  const pool = createTransportPool({ timeoutMs: 3_000 });
  const { logger, entries } = recordingLogger();
  const notifier = createNotifier({ pool, language: 'es', logger, ...deps });
  cleanups.push(() => notifier.close());
  return { notifier, entries };
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

describe('createNotifier', () => {
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
    expect(received.parsed.subject).toBe(renderNotification([sent], 'es').subject);
    expect(received.parsed.headers.get(NOTIFICATION_HEADER.toLowerCase())).toBe('0107_20261127101612');
    expect(received.parsed.attachments).toHaveLength(0);
    expect(entries).toEqual([]);
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

  it('never throws when the server is down: it logs instead', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { notifier, entries } = notifierFor();
    await expect(notifier.notify(report({ smtp: makeSmtp(port, { password: 'clave-secreta' }) }))).resolves.toBeUndefined();
    expect(entries).toHaveLength(1);
    expect(entries[0].level).toBe('error');
    expect(JSON.stringify(entries[0].obj)).toContain(ErrorCodes.SMTP_CONNECTION);
    expect(JSON.stringify(entries[0].obj)).not.toContain('clave-secreta');
  });

  it('never throws when the server refuses the message', async () => {
    const s = await sink({ rejectRecipients: ['cobranza@acme.example'] });
    const { notifier, entries } = notifierFor();
    await expect(notifier.notify(report({ smtp: makeSmtp(s.port) }))).resolves.toBeUndefined();
    expect(entries.map((e) => e.level)).toEqual(['error']);
    expect(s.messages).toHaveLength(0);
  });

  it('logs a warning and sends nothing when no SMTP server is known', async () => {
    const { notifier, entries } = notifierFor();
    await notifier.notify(report());
    expect(entries).toHaveLength(1);
    expect(entries[0].level).toBe('warn');
  });

  it('does nothing for a report without recipients', async () => {
    const s = await sink();
    const { notifier, entries } = notifierFor({ defaultSmtp: makeSmtp(s.port) });
    await notifier.notify(report({ to: [] }));
    expect(entries).toEqual([]);
    expect(s.connectionCount()).toBe(0);
  });
});
