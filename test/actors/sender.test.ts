import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createSender } from '../../src/actors/sender.js';
import { ErrorCodes, MailerError } from '../../src/errors.js';
import { resolveAttachments } from '../../src/io/store/attachments.js';
import { createTransportPool } from '../../src/io/smtp/pool.js';
import type { TransportPool } from '../../src/io/smtp/transport-pool.js';
import { messageIdFor } from '../../src/order/compose.js';
import type { Order } from '../../src/order/types.js';
import type { ResolvedOrder, Sender, SendResult } from '../../src/ports.js';
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
let sender: Sender;

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
  sender = createSender({ pool, maxConnectionsFor: () => 2 });
}

/** What the order's `sendOrder` actor does (actors/order-actors.ts): every attachment resolved and checked, then the send. */
async function sendOrder(resolved: ResolvedOrder): Promise<SendResult> {
  const attachments = await resolveAttachments(resolved.order, { attachmentsDir: adj, orderDir: orders, pathMap: {} });
  return sender.send(resolved, attachments);
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
    const result = await sendOrder(resolved);
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
    await sendOrder(resolved);
    await sendOrder(resolved);
    const messages = await sink.waitForMessages(2);
    const expected = messageIdFor('0042_20261127093015', 'facturas@acme.example');
    expect(messages.map((m) => m.parsed.messageId)).toEqual([expected, expected]);
  });

  it('sends an HTML body as html plus a text alternative, and a Unicode subject intact', async () => {
    await setUp();
    const subject = `Facturación Ñandú & Hijos <S.A. de C.V.> "urgente" 'hoy' — ¿recibió?`;
    const order = invoice({ subject, body: { kind: 'html', html: '<h1>Pedido 77</h1><p>Gracias, Ñoño</p>', text: 'PEDIDO 77\n\nGracias, Ñoño' } });
    await sendOrder(makeResolved(order, makeSmtp(sink.port)));
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
    await sendOrder(makeResolved(order, makeSmtp(sink.port)));
    const [received] = await sink.waitForMessages(1);
    expect(received.envelope.to.sort()).toEqual(['cc@cliente.example', 'oculto@acme.example', 'pagos@cliente.example']);
    expect(received.raw.toString('latin1')).not.toContain('oculto@acme.example');
    expect(received.parsed.replyTo?.value).toEqual([{ name: 'Cobranza', address: 'cobranza@acme.example' }]);
  });

  it('reports a recipient refused with 550 while the others got the message', async () => {
    await setUp({ rejectRecipients: ['nadie@cliente.example'] });
    const order = invoice({ to: [{ name: '', address: 'pagos@cliente.example' }, { name: '', address: 'nadie@cliente.example' }] });
    const result = await sendOrder(makeResolved(order, makeSmtp(sink.port)));
    expect(result.accepted).toEqual(['pagos@cliente.example']);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0].address).toBe('nadie@cliente.example');
    expect(result.rejected[0].response).toMatch(/^550/);
    expect(sink.messages).toHaveLength(1);
  });

  it('fails an order with a bad attachment before any SMTP traffic', async () => {
    await setUp();
    const order = invoice({ attachments: [{ path: 'C00001\\A-1234.xml' }, { path: 'C00001\\falta.pdf' }] });
    const err = await sendOrder(makeResolved(order, makeSmtp(sink.port))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailerError);
    expect((err as MailerError).code).toBe(ErrorCodes.ATTACHMENT_MISSING);
    expect(sink.connectionCount()).toBe(0);
  });

  it('rejects SMTP failures as MailerErrors with our codes', async () => {
    await setUp({ dataError: () => ({ code: 451, message: '4.3.0 busy' }) });
    const err = await sendOrder(makeResolved(invoice(), makeSmtp(sink.port))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailerError);
    expect((err as MailerError).code).toBe(ErrorCodes.SMTP_TEMPORARY);
  });

  it('rejects with the MailerError the order machine classifies when every recipient is refused', async () => {
    await setUp({ rejectRecipients: ['pagos@cliente.example'] });
    const err = await sendOrder(makeResolved(invoice(), makeSmtp(sink.port))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailerError);
    expect((err as MailerError).code).toBe(ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED);
  });
});
