import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';

import { createSendLogic, createSender, type OrderSender } from '../../src/actors/sender.js';
import { ErrorCodes, MailerError } from '../../src/errors.js';
import { resolveAttachments } from '../../src/io/store/attachments.js';
import { createTransportPool, type TransportPool } from '../../src/io/smtp/pool.js';
import { messageIdFor } from '../../src/order/compose.js';
import type { Order } from '../../src/order/types.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { makeOrder, makeResolved, makeSmtp } from '../io/smtp/send-fixtures.js';

let root: string;
let adj: string;
let orders: string;
const cfdi = Buffer.concat([
  Buffer.from([0xef, 0xbb, 0xbf]),
  Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\r\n<cfdi:Comprobante Serie="A" Folio="1234" Total="1160.00">Ñ</cfdi:Comprobante>\r\n', 'utf8'),
]);
const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(64 * 1024)]);

let sink: SmtpSink;
let pool: TransportPool;
let sender: OrderSender;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'sender-'));
  adj = path.join(root, 'adjuntos');
  orders = path.join(root, 'ordenes');
  await mkdir(path.join(adj, 'C00001'), { recursive: true });
  await mkdir(orders);
  await writeFile(path.join(adj, 'C00001', 'A-1234.xml'), cfdi);
  await writeFile(path.join(adj, 'C00001', 'A-1234.pdf'), pdf);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function setUp(options: Parameters<typeof startSmtpSink>[0] = {}): Promise<void> {
  sink = await startSmtpSink(options);
  pool = createTransportPool();
  sender = createSender({ pool, maxConnectionsFor: () => 2, attachmentsDir: adj, orderDir: orders, pathMap: {} });
}

afterEach(async () => {
  await sender?.close();
  await sink?.close();
});

const invoice = (overrides: Partial<Order> = {}): Order =>
  makeOrder({
    attachments: [{ path: 'C00001\\A-1234.xml' }, { path: 'C00001/A-1234.pdf', filename: 'Factura A-1234.pdf' }],
    ...overrides,
  });

describe('createSender', () => {
  it('sends the order with its attachments byte for byte, named and typed as the spec says', async () => {
    await setUp();
    const resolved = makeResolved(invoice(), makeSmtp(sink.port));
    const result = await sender.sendOrder(resolved);
    expect(result).toMatchObject({ messageId: resolved.messageId, accepted: ['pagos@cliente.example'], rejected: [] });
    expect(result.response).toMatch(/^250/);

    const [received] = await sink.waitForMessages(1);
    const [xml, pdfPart] = received.parsed.attachments;
    expect(xml.filename).toBe('A-1234.xml');
    expect(xml.contentType).toBe('application/xml');
    expect(xml.content.equals(await readFile(path.join(adj, 'C00001', 'A-1234.xml')))).toBe(true);
    expect(xml.content.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(pdfPart.filename).toBe('Factura A-1234.pdf');
    expect(pdfPart.contentType).toBe('application/pdf');
    expect(pdfPart.content.equals(pdf)).toBe(true);
    expect(received.parsed.text?.trim()).toBe('Estimado cliente: adjuntamos su CFDI.');
    expect(received.parsed.from?.value).toEqual([{ name: 'Facturación ACME', address: 'facturas@acme.example' }]);
    expect(received.parsed.headers.get('x-proscai-order')).toBe('0042_20261127093015');
  });

  it('carries the same Message-ID on a repeat of the same order', async () => {
    await setUp();
    const resolved = makeResolved(invoice(), makeSmtp(sink.port));
    await sender.sendOrder(resolved);
    await sender.sendOrder(resolved);
    const messages = await sink.waitForMessages(2);
    const expected = messageIdFor('0042_20261127093015', 'facturas@acme.example');
    expect(messages.map((m) => m.parsed.messageId)).toEqual([expected, expected]);
  });

  it('sends an HTML body as html plus a text alternative, and a Unicode subject intact', async () => {
    await setUp();
    const subject = `Facturación Ñandú & Hijos <S.A. de C.V.> "urgente" 'hoy' — ¿recibió?`;
    const order = invoice({ subject, body: { kind: 'html', html: '<h1>Pedido 77</h1><p>Gracias, Ñoño</p>', text: 'PEDIDO 77\n\nGracias, Ñoño' } });
    await sender.sendOrder(makeResolved(order, makeSmtp(sink.port)));
    const [received] = await sink.waitForMessages(1);
    expect(received.parsed.subject).toBe(subject);
    expect(received.parsed.html).toContain('<h1>Pedido 77</h1><p>Gracias, Ñoño</p>');
    expect(received.parsed.text?.trim()).toBe('PEDIDO 77\n\nGracias, Ñoño');
    expect(received.raw.toString('latin1')).toMatch(/multipart\/alternative/);
  });

  it('delivers to CC and CCO, hides CCO from the headers, and sets Reply-To', async () => {
    await setUp();
    const order = invoice({
      cc: [{ name: '', address: 'cc@cliente.example' }],
      bcc: [{ name: '', address: 'oculto@acme.example' }],
      replyTo: [{ name: 'Cobranza', address: 'cobranza@acme.example' }],
    });
    await sender.sendOrder(makeResolved(order, makeSmtp(sink.port)));
    const [received] = await sink.waitForMessages(1);
    expect(received.envelope.to.sort()).toEqual(['cc@cliente.example', 'oculto@acme.example', 'pagos@cliente.example']);
    expect(received.raw.toString('latin1')).not.toContain('oculto@acme.example');
    expect(received.parsed.replyTo?.value).toEqual([{ name: 'Cobranza', address: 'cobranza@acme.example' }]);
  });

  it('reports a recipient refused with 550 while the others got the message', async () => {
    await setUp({ rejectRecipients: ['nadie@cliente.example'] });
    const order = invoice({ to: [{ name: '', address: 'pagos@cliente.example' }, { name: '', address: 'nadie@cliente.example' }] });
    const result = await sender.sendOrder(makeResolved(order, makeSmtp(sink.port)));
    expect(result.accepted).toEqual(['pagos@cliente.example']);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0].address).toBe('nadie@cliente.example');
    expect(result.rejected[0].response).toMatch(/^550/);
    expect(sink.messages).toHaveLength(1);
  });

  it('fails an order with a bad attachment before any SMTP traffic', async () => {
    await setUp();
    const order = invoice({ attachments: [{ path: 'C00001\\A-1234.xml' }, { path: 'C00001\\falta.pdf' }] });
    const err = await sender.sendOrder(makeResolved(order, makeSmtp(sink.port))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailerError);
    expect((err as MailerError).code).toBe(ErrorCodes.ATTACHMENT_MISSING);
    expect(sink.connectionCount()).toBe(0);
  });

  it('rejects SMTP failures as MailerErrors with our codes', async () => {
    await setUp({ dataError: () => ({ code: 451, message: '4.3.0 busy' }) });
    const err = await sender.sendOrder(makeResolved(invoice(), makeSmtp(sink.port))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailerError);
    expect((err as MailerError).code).toBe(ErrorCodes.SMTP_TEMPORARY);
  });
});

describe('createSender without attachment folders (caller resolves attachments)', () => {
  it('send() takes already resolved attachments; sendOrder() refuses to guess the folders', async () => {
    sink = await startSmtpSink();
    pool = createTransportPool();
    sender = createSender({ pool, maxConnectionsFor: () => 1 });
    const resolved = makeResolved(invoice(), makeSmtp(sink.port));
    const attachments = await resolveAttachments(resolved.order, { attachmentsDir: adj, orderDir: orders, pathMap: {} });
    const result = await sender.send(resolved, attachments);
    expect(result.accepted).toEqual(['pagos@cliente.example']);
    const [received] = await sink.waitForMessages(1);
    expect(received.parsed.attachments.map((a) => a.filename)).toEqual(['A-1234.xml', 'Factura A-1234.pdf']);
    await expect(sender.sendOrder(resolved)).rejects.toMatchObject({ code: ErrorCodes.INTERNAL });
  });
});

describe('createSendLogic', () => {
  it('is actor logic that resolves with the SendResult', async () => {
    await setUp();
    const resolved = makeResolved(invoice(), makeSmtp(sink.port));
    const actor = createActor(createSendLogic(sender), { input: { resolved } }).start();
    const result = await toPromise(actor);
    expect(result.messageId).toBe(resolved.messageId);
    expect(sink.messages).toHaveLength(1);
  });

  it('rejects with the MailerError (what the order machine classifies)', async () => {
    await setUp({ rejectRecipients: ['pagos@cliente.example'] });
    const actor = createActor(createSendLogic(sender), { input: { resolved: makeResolved(invoice(), makeSmtp(sink.port)) } });
    const done = toPromise(actor).catch((e: unknown) => e);
    actor.start();
    const err = await done;
    expect(err).toBeInstanceOf(MailerError);
    expect((err as MailerError).code).toBe(ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED);
  });
});
