import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { addressesNeedingSmtpUtf8, composeMessage, messageIdFor, ORDER_HEADER } from '../../src/order/compose.js';
import type { ResolvedAttachment } from '../../src/ports.js';
import { makeOrder, makeResolved, makeSmtp } from '../io/smtp/send-fixtures.js';

let dir: string;
let xml: ResolvedAttachment;
const xmlBytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<?xml version="1.0" encoding="UTF-8"?><cfdi:Comprobante Total="1160.00"/>\r\n')]);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'compose-'));
  const file = path.join(dir, 'A-1234.xml');
  await writeFile(file, xmlBytes);
  xml = { source: 'C00001\\A-1234.xml', path: file, filename: 'A-1234.xml', contentType: 'application/xml', size: xmlBytes.length };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds the MIME message exactly as nodemailer would send it, and parses it back. */
async function roundTrip(options: ReturnType<typeof composeMessage>) {
  const raw = await new MailComposer(options).compile().build();
  return { raw, parsed: await simpleParser(raw) };
}

describe('composeMessage', () => {
  it('maps every address field, the subject, the Message-ID and the order header', () => {
    const order = makeOrder({
      to: [{ name: 'Pagos', address: 'pagos@cliente.example' }, { name: '', address: 'compras@cliente.example' }],
      cc: [{ name: '', address: 'cc@cliente.example' }],
      bcc: [{ name: 'Archivo', address: 'archivo@acme.example' }],
      replyTo: [{ name: '', address: 'cobranza@acme.example' }],
    });
    const resolved = makeResolved(order, makeSmtp(25));
    const message = composeMessage(resolved, [xml], { date: new Date('2026-11-27T09:30:15Z') });
    expect(message).toMatchObject({
      from: { name: 'Facturación ACME', address: 'facturas@acme.example' },
      to: [{ name: 'Pagos', address: 'pagos@cliente.example' }, 'compras@cliente.example'],
      cc: ['cc@cliente.example'],
      bcc: [{ name: 'Archivo', address: 'archivo@acme.example' }],
      replyTo: ['cobranza@acme.example'],
      subject: 'Factura A-1234',
      text: 'Estimado cliente: adjuntamos su CFDI.',
      messageId: '<proscai.0042_20261127093015@acme.example>',
      headers: { [ORDER_HEADER]: '0042_20261127093015' },
      date: new Date('2026-11-27T09:30:15Z'),
      attachments: [{ filename: 'A-1234.xml', path: xml.path, contentType: 'application/xml', contentTransferEncoding: 'base64' }],
    });
    expect(message.html).toBeUndefined();
    expect(message.attachments?.[0]).not.toHaveProperty('encoding');
  });

  it('leaves empty CC, CCO and ResponderA out', () => {
    const message = composeMessage(makeResolved(makeOrder(), makeSmtp(25)), []);
    expect(message).not.toHaveProperty('cc');
    expect(message).not.toHaveProperty('bcc');
    expect(message).not.toHaveProperty('replyTo');
    expect(message.attachments).toEqual([]);
  });

  it('sends an HTML body as html plus its text alternative', async () => {
    const order = makeOrder({ body: { kind: 'html', html: '<p>Hola <b>Ñandú</b></p>', text: 'Hola ÑANDÚ' } });
    const message = composeMessage(makeResolved(order, makeSmtp(25)), []);
    expect(message.html).toBe('<p>Hola <b>Ñandú</b></p>');
    expect(message.text).toBe('Hola ÑANDÚ');
    const { parsed } = await roundTrip(message);
    expect(parsed.html).toContain('<p>Hola <b>Ñandú</b></p>');
    expect(parsed.text?.trim()).toBe('Hola ÑANDÚ');
  });

  it('keeps attachment bytes unchanged (BOM included) and sends them base64', async () => {
    const { raw, parsed } = await roundTrip(composeMessage(makeResolved(makeOrder(), makeSmtp(25)), [xml]));
    expect(raw.toString('latin1')).toMatch(/Content-Type: application\/xml[\s\S]*?Content-Transfer-Encoding: base64/);
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0].content.equals(xmlBytes)).toBe(true);
    expect(parsed.messageId).toBe('<proscai.0042_20261127093015@acme.example>');
  });

  it('sends the bytes read at check time when it has them (and then never touches the path)', async () => {
    const checked = { ...xml, path: '/no/such/file.xml', content: xmlBytes };
    const message = composeMessage(makeResolved(makeOrder(), makeSmtp(25)), [checked]);
    expect(message.attachments?.[0]).toMatchObject({ filename: 'A-1234.xml', content: xmlBytes, contentTransferEncoding: 'base64' });
    expect(message.attachments?.[0]).not.toHaveProperty('path');
    const { parsed } = await roundTrip(message);
    expect(parsed.attachments[0].content.equals(xmlBytes)).toBe(true);
  });

  it('gives the recipient only a safe bare file name, whatever the attachment was named', async () => {
    const named = (filename: string): ResolvedAttachment => ({ ...xml, content: xmlBytes, filename });
    const message = composeMessage(makeResolved(makeOrder(), makeSmtp(25)), [named('../../evil.exe'), named('C:\\x\\CON.xml'), named('..')]);
    expect(message.attachments?.map((a) => a.filename)).toEqual(['evil.exe', '_CON.xml', false]);
    const { parsed } = await roundTrip(message);
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['evil.exe', '_CON.xml', undefined]);
    expect(parsed.attachments.every((a) => a.content.equals(xmlBytes))).toBe(true);
  });

  it('round-trips a Unicode subject with markup characters', async () => {
    const subject = `Facturación — Ñandú & Hijos <S.A.> "ya" 'pagada' ✓`;
    const { parsed } = await roundTrip(composeMessage(makeResolved(makeOrder({ subject }), makeSmtp(25)), []));
    expect(parsed.subject).toBe(subject);
  });
});

describe('addressesNeedingSmtpUtf8', () => {
  it('lists the addresses with a non-ASCII local part, from every address field, once each', () => {
    const order = makeOrder({
      to: [{ name: 'José', address: 'josé@cliente.mx' }, { name: '', address: 'ana@例子.公司' }, { name: '', address: '用户@例子.公司' }],
      cc: [{ name: '', address: 'josé@cliente.mx' }],
      bcc: [{ name: '', address: 'archivo@acme.example' }],
      replyTo: [{ name: '', address: 'señor@acme.example' }],
    });
    const message = composeMessage(makeResolved(order, makeSmtp(25)), []);
    expect(addressesNeedingSmtpUtf8(message)).toEqual(['josé@cliente.mx', '用户@例子.公司', 'señor@acme.example']);
  });

  it('is empty when every local part is ASCII (an internationalised domain alone is sent in punycode)', () => {
    const order = makeOrder({ to: [{ name: 'Compañía', address: 'ana@compañía.mx' }] });
    expect(addressesNeedingSmtpUtf8(composeMessage(makeResolved(order, makeSmtp(25)), []))).toEqual([]);
  });

  it('reads the sender and nodemailer\'s other address forms too', () => {
    expect(addressesNeedingSmtpUtf8({ from: 'Ñoño <ñoño@acme.mx>', to: [['a@b.mx', { name: 'x', address: 'çà@b.mx' }]] })).toEqual(['ñoño@acme.mx', 'çà@b.mx']);
  });
});

describe('messageIdFor', () => {
  it('is stable for an order id and takes the sender domain', () => {
    expect(messageIdFor('0042_20261127093015', 'facturas@ACME.mx')).toBe('<proscai.0042_20261127093015@acme.mx>');
    expect(messageIdFor('0042_20261127093015', 'facturas@ACME.mx')).toBe(messageIdFor('0042_20261127093015', 'facturas@acme.mx'));
    expect(messageIdFor('a.b-c_d', 'x@y.example')).not.toBe(messageIdFor('a.b-c_e', 'x@y.example'));
  });

  it('sanitises odd ids and domains', () => {
    expect(messageIdFor('a b<c>@d', 'x@y.example')).toBe('<proscai.a_b_c__d@y.example>');
    expect(messageIdFor('.7.', 'x@y.example')).toBe('<proscai.7@y.example>');
    expect(messageIdFor('7', 'x@ñandú.mx')).toBe('<proscai.7@xn--and-6ma2c.mx>');
    expect(messageIdFor('7', 'sin-dominio')).toBe('<proscai.7@proscai-mailer.invalid>');
  });
});
