import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { cannotBecomeOrder, incompleteError, looksComplete } from '../../src/order/complete.js';
import { parseOrder } from '../../src/order/parse.js';

const HEAD = '<?xml version="1.0" encoding="windows-1252"?>\r\n<OrdenEnvio>\r\n  <Para>pagos@cliente.mx</Para>\r\n  <Asunto>Facturación año 2026</Asunto>\r\n';
const WHOLE = `${HEAD}</OrdenEnvio>\r\n`;

function utf16(text: string, le: boolean, bom: boolean): Buffer {
  const body = Buffer.from(text, 'utf16le');
  if (!le) body.swap16();
  return bom ? Buffer.concat([Buffer.from(le ? [0xff, 0xfe] : [0xfe, 0xff]), body]) : body;
}

describe('looksComplete', () => {
  it('accepts a closed root element in single-byte and UTF-8 text, whatever trails it', () => {
    expect(looksComplete(iconv.encode(WHOLE, 'windows-1252'))).toBe(true);
    expect(looksComplete(Buffer.from(`\uFEFF${WHOLE}`, 'utf8'))).toBe(true);
    expect(looksComplete(Buffer.from(`${HEAD}</ordenenvio >`))).toBe(true);
    expect(looksComplete(Buffer.from(`${HEAD}</OrdenEnvio>\n\t  \0\0\0`))).toBe(true);
    expect(looksComplete(Buffer.from(`${HEAD}</OrdenEnvio>\r\n\x1a`))).toBe(true);
    expect(looksComplete(Buffer.from(`${HEAD}</oe:OrdenEnvio>`))).toBe(true);
  });

  it('refuses text whose root element is not closed yet', () => {
    expect(looksComplete(Buffer.from(HEAD))).toBe(false);
    expect(looksComplete(Buffer.from(`${HEAD}</OrdenEnvio`))).toBe(false);
    expect(looksComplete(Buffer.from(`${HEAD}</OrdenEnvio><Extra>`))).toBe(false);
    expect(looksComplete(Buffer.alloc(0))).toBe(false);
    expect(looksComplete(Buffer.alloc(4096))).toBe(false); // pre-allocated, nothing written yet
  });

  it('reads UTF-16 little and big endian, with and without BOM', () => {
    for (const le of [true, false]) {
      for (const bom of [true, false]) {
        const text = WHOLE.replace('windows-1252', 'UTF-16');
        expect(looksComplete(utf16(text, le, bom))).toBe(true);
        expect(looksComplete(utf16(`${text}\0\0`, le, bom))).toBe(true);
        expect(looksComplete(utf16(HEAD, le, bom))).toBe(false);
      }
    }
  });

  it('does not take a half-written last UTF-16 character for the closing ">"', () => {
    const whole = utf16(WHOLE.trimEnd(), true, true);
    expect(looksComplete(whole)).toBe(true);
    expect(looksComplete(whole.subarray(0, whole.length - 1))).toBe(false);
  });

  it('finds the end of a large order', () => {
    const big = `${HEAD}<Cuerpo>${'x'.repeat(500_000)}</Cuerpo></OrdenEnvio>`;
    expect(looksComplete(Buffer.from(big))).toBe(true);
    expect(looksComplete(utf16(big, true, true))).toBe(true);
  });
});

describe('cannotBecomeOrder', () => {
  it('is true for what no more writing can make an order: text or binary data, a closed root of another name', () => {
    expect(cannotBecomeOrder(Buffer.from('hola, esto no es una orden'))).toBe(true);
    expect(cannotBecomeOrder(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x10]))).toBe(true); // a ZIP file
    expect(cannotBecomeOrder(Buffer.from('<?xml version="1.0"?>\n<!-- x -->\n<Factura><Total>1</Total></Factura>\r\n'))).toBe(true);
    expect(cannotBecomeOrder(utf16('<Factura><Total>1</Total></Factura>', true, true))).toBe(true);
  });

  it('is false for everything an order being written can look like', () => {
    for (const text of ['', '   \r\n', '\0\0\0\0', '<', '<?xml version="1.0" enc', '<?xml version="1.0"?>\n<!-- generado por', HEAD, `${HEAD}</Para>`]) {
      expect(cannotBecomeOrder(Buffer.from(text)), JSON.stringify(text)).toBe(false);
    }
    expect(cannotBecomeOrder(Buffer.from([0xef]))).toBe(false); // the first byte of a UTF-8 byte-order mark
    expect(cannotBecomeOrder(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);
    expect(cannotBecomeOrder(utf16(HEAD, false, true))).toBe(false);
  });
});

describe('incompleteError', () => {
  const parseErrors = (bytes: Buffer) => {
    const parsed = parseOrder(bytes, '_CFD_MAIL_REQ_1.XML');
    if (parsed.ok) throw new Error('expected the parser to refuse it');
    return parsed.errors;
  };

  it('names a document cut short ORDER_INCOMPLETE, quoting how it ends, instead of the parser\'s "unclosed tag at line 1"', () => {
    const bytes = iconv.encode(HEAD, 'windows-1252');
    expect(parseErrors(bytes)[0]!.code).toBe('ORDER_XML_MALFORMED');
    const err = incompleteError(bytes, parseErrors(bytes));
    expect(err?.code).toBe('ORDER_INCOMPLETE');
    expect(err?.message).toMatch(/^incomplete: the file ends before <\/OrdenEnvio> /);
    expect(err?.value).toBe('<Asunto>Facturación año 2026</Asunto>');
  });

  it('also when the file ends inside a UTF-8 character (the decoder alone would call it an encoding error)', () => {
    const text = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<OrdenEnvio><Asunto>Facturación');
    const bytes = text.subarray(0, text.length - 2); // "…Facturaci" and the first of the two bytes of "ó"
    expect(parseErrors(bytes)[0]!.code).toBe('ORDER_ENCODING');
    expect(incompleteError(bytes, parseErrors(bytes))?.code).toBe('ORDER_INCOMPLETE');
  });

  it('leaves the parser\'s reason alone for whole documents and for files that are not orders at all', () => {
    for (const text of [
      '<OrdenEnvio><Asunto>a < b</Asunto></OrdenEnvio>', // complete, malformed
      '<Factura><Total>1</Total></Factura>', // another root
      'hola, esto no es una orden', // not XML
      '', // empty
    ]) {
      const bytes = Buffer.from(text);
      expect(incompleteError(bytes, parseErrors(bytes)), text).toBeUndefined();
    }
  });
});
