import { readdirSync } from 'node:fs';

import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';

import { buildConfig } from '../../src/config/load.js';
import { scanCompany } from '../../src/order/company-scan.js';
import { parseOrder } from '../../src/order/parse.js';
import { laneOfParsed } from '../../src/order/resolve.js';
import { FIXTURES, fixture, orderXml } from './helpers.js';

const config = buildConfig({ env: {}, flags: { dir: '/srv/envio_mails' } });
const NAME = '_CFD_MAIL_REQ_T1.XML';
const full = (bytes: Buffer) => laneOfParsed(parseOrder(bytes, NAME), config);
const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** The scan either says nothing or says exactly what the full parse says. */
function agrees(bytes: Buffer): string | undefined {
  const scanned = scanCompany(bytes);
  if (scanned !== undefined) expect(scanned).toBe(full(bytes));
  return scanned;
}

describe('scanCompany', () => {
  it('reads the plain case and agrees with the full parse (trimmed, upper-cased like the lane key)', () => {
    expect(agrees(utf8(orderXml('<Empresa> Acme Norte </Empresa><Asunto>Factura</Asunto>')))).toBe('ACME NORTE');
    expect(agrees(utf8(orderXml('<empresa>acme</empresa>')))).toBe('ACME');
    expect(agrees(utf8(orderXml('<EMPRESA >ACME</EMPRESA >')))).toBe('ACME');
    // Spanish text elsewhere, declared windows-1252 and encoded so: ASCII company still read.
    const cp = iconv.encode('<?xml version="1.0" encoding="windows-1252"?><OrdenEnvio><Asunto>Facturación</Asunto><Empresa>ACME</Empresa><Para>a@b.mx</Para></OrdenEnvio>', 'windows-1252');
    expect(agrees(cp)).toBe('ACME');
    // No declaration and not UTF-8: read as windows-1252 by both.
    expect(agrees(iconv.encode('<OrdenEnvio><Asunto>Año</Asunto><Empresa>ACME</Empresa><Para>a@b.mx</Para></OrdenEnvio>', 'windows-1252'))).toBe('ACME');
    // UTF-8 BOM.
    expect(agrees(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(orderXml('<Empresa>ACME</Empresa>'))]))).toBe('ACME');
  });

  it.each([
    ['UTF-16 with BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(orderXml('<Empresa>ACME</Empresa>'), 'utf-16le')])],
    ['UTF-16 without BOM', iconv.encode(orderXml('<Empresa>ACME</Empresa>'), 'utf-16le')],
    ['a declared encoding that is not ASCII-compatible', utf8('<?xml version="1.0" encoding="UTF-16"?><OrdenEnvio><Empresa>ACME</Empresa></OrdenEnvio>')],
    ['an entity in the value', utf8(orderXml('<Empresa>A&amp;B</Empresa>'))],
    ['a non-ASCII value', utf8(orderXml('<Empresa>Compañía</Empresa>'))],
    ['CDATA in the value', utf8(orderXml('<Empresa><![CDATA[ACME]]></Empresa>'))],
    ['a comment before it', utf8(orderXml('<!-- <Empresa>OTRA</Empresa> --><Empresa>ACME</Empresa>'))],
    ['CDATA before it', utf8(orderXml('<Cuerpo><![CDATA[<Empresa>OTRA</Empresa>]]></Cuerpo><Empresa>ACME</Empresa>'))],
    ['a processing instruction before it', utf8(orderXml('<?proscai x?><Empresa>ACME</Empresa>'))],
    ['nested in another element', utf8(orderXml('<Remitente><Empresa>ACME</Empresa></Remitente>'))],
    ['two of them', utf8(orderXml('<Empresa>ACME</Empresa><Empresa>OTRA</Empresa>'))],
    ['attributes', utf8(orderXml('<Empresa tipo="x">ACME</Empresa>'))],
    ['an empty one', utf8(orderXml('<Empresa>  </Empresa>'))],
    ['a self-closing one', utf8(orderXml('<Empresa/>'))],
    ['none at all', utf8(orderXml('<Asunto>Factura</Asunto>'))],
    ['another root element', utf8('<?xml version="1.0"?><Orden><Empresa>ACME</Empresa></Orden>')],
    ['a file cut short', utf8(orderXml('<Empresa>ACME</Empresa><Asunto>Factura</Asunto>').slice(0, -20))],
    ['a control character in the value', utf8(orderXml('<Empresa>AC\tME</Empresa>'))],
    // The parse refuses these (ORDER_ENCODING), so the lane key is not the one in <Empresa>.
    ['a UTF-8 declaration over ANSI bytes', iconv.encode(orderXml('<Empresa>ACME</Empresa><Asunto>Facturación</Asunto>'), 'windows-1252')],
    ['a UTF-8 byte-order mark over ANSI bytes', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), iconv.encode('<OrdenEnvio><Empresa>ACME</Empresa><Asunto>Año</Asunto></OrdenEnvio>', 'windows-1252')])],
  ])('leaves %s to the full parse', (_why, bytes) => {
    expect(scanCompany(bytes)).toBeUndefined();
  });

  it('never disagrees with the full parse on any fixture order, good or bad', () => {
    const files = [
      ...readdirSync(`${FIXTURES}samples`).filter((f) => f.endsWith('.XML')).map((f) => `samples/${f}`),
      ...readdirSync(`${FIXTURES}bad`).filter((f) => f.endsWith('.XML')).map((f) => `bad/${f}`),
    ];
    expect(files.length).toBeGreaterThanOrEqual(20);
    const answered = files.filter((f) => agrees(fixture(f)) !== undefined);
    // The ERP's own samples are the plain case the scan exists for.
    expect(answered.filter((f) => f.startsWith('samples/')).length).toBe(3);
  });
});
