import { isUtf8 } from 'node:buffer';
import { describe, it, expect } from 'vitest';
import iconv from 'iconv-lite';
import { decodeOrderBytes, firstInvalidUtf8, MAX_ORDER_BYTES } from '../../src/order/decode.js';
import { MailerError } from '../../src/errors.js';

const DOC = '<OrdenEnvio><Asunto>Facturación – Ñandú «€»</Asunto></OrdenEnvio>';

function decoded(bytes: Buffer): { text: string; encoding: string; warning?: string } {
  const result = decodeOrderBytes(bytes);
  if (result instanceof MailerError) expect.fail(`unexpected ${result.code}: ${result.message}`);
  return result;
}

function refused(bytes: Buffer): MailerError {
  const result = decodeOrderBytes(bytes);
  if (!(result instanceof MailerError)) expect.fail(`expected an error, got text in ${result.encoding}`);
  return result;
}

describe('firstInvalidUtf8', () => {
  it('agrees with the platform\'s strict UTF-8 check on random bytes: the prefix before it is valid, and it is the end only for valid input', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // Bytes biased towards lead and continuation bytes, so that valid and invalid sequences both occur often.
    const pool = [0x41, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    for (let round = 0; round < 5_000; round++) {
      const bytes = Buffer.from(Array.from({ length: 1 + random(8) }, () => pool[random(pool.length)]!));
      const at = firstInvalidUtf8(bytes);
      expect(at === bytes.length, bytes.toString('hex')).toBe(isUtf8(bytes));
      expect(isUtf8(bytes.subarray(0, at)), bytes.toString('hex')).toBe(true);
    }
  });
});

describe('decodeOrderBytes', () => {
  it('reads UTF-8 without a declaration', () => {
    expect(decoded(Buffer.from(DOC, 'utf8'))).toEqual({ text: DOC, encoding: 'utf-8' });
  });

  it('strips a UTF-8 BOM', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`<?xml version="1.0" encoding="utf-8"?>${DOC}`)]);
    const out = decoded(bytes);
    expect(out.encoding).toBe('utf-8');
    expect(out.text.startsWith('<?xml')).toBe(true);
    expect(out.text).toContain('Facturación – Ñandú «€»');
  });

  it.each([
    ['utf-16le', [0xff, 0xfe]],
    ['utf-16be', [0xfe, 0xff]],
  ] as const)('reads %s with its BOM', (encoding, bom) => {
    const text = `<?xml version="1.0" encoding="UTF-16"?>\r\n${DOC}`;
    const bytes = Buffer.concat([Buffer.from(bom), iconv.encode(text, encoding)]);
    expect(decoded(bytes)).toEqual({ text, encoding });
  });

  it('reads UTF-16 LE without a BOM from its leading "<?"', () => {
    const text = `<?xml version="1.0" encoding="UTF-16"?>${DOC}`;
    expect(decoded(iconv.encode(text, 'utf-16le'))).toEqual({ text, encoding: 'utf-16le' });
  });

  it('honours a declared windows-1252', () => {
    const text = `<?xml version="1.0" encoding="windows-1252"?>${DOC}`;
    expect(decoded(iconv.encode(text, 'windows-1252'))).toEqual({ text, encoding: 'windows-1252' });
  });

  it('honours a declared ISO-8859-1, reading C1 bytes as windows-1252 like browsers do', () => {
    const text = `<?xml version='1.0' encoding='ISO-8859-1'?><OrdenEnvio><Asunto>Año piñata</Asunto></OrdenEnvio>`;
    const bytes = Buffer.concat([iconv.encode(text, 'latin1'), Buffer.from([0x96])]);
    const out = decoded(bytes);
    expect(out.text).toContain('Año piñata');
    expect(out.text.endsWith('–')).toBe(true);
    expect(out.encoding).toBe('windows-1252');
  });

  it('honours another encoding iconv-lite knows (iso-8859-15: 0xA4 is €)', () => {
    const bytes = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="ISO-8859-15"?><a>'), Buffer.from([0xa4]), Buffer.from('</a>')]);
    expect(decoded(bytes)).toEqual({ text: '<?xml version="1.0" encoding="ISO-8859-15"?><a>€</a>', encoding: 'iso-8859-15' });
  });

  it('reads undeclared bytes that are not valid UTF-8 as windows-1252, with a warning', () => {
    const bytes = iconv.encode(DOC, 'windows-1252');
    const out = decoded(bytes);
    expect(out.text).toBe(DOC);
    expect(out.encoding).toBe('windows-1252');
    expect(out.warning).toMatch(/not valid UTF-8/);
  });

  it('refuses a file that declares UTF-8 but is not, naming the offset, the byte and the line of the first bad one', () => {
    // Saved as ANSI (windows-1252) under a UTF-8 declaration: "ó" is the lone byte 0xF3.
    const text = `<?xml version="1.0" encoding="UTF-8"?>\r\n${DOC}`;
    const bytes = iconv.encode(text, 'windows-1252');
    const offset = bytes.indexOf(0xf3);
    expect(offset).toBeGreaterThan(40);
    const error = refused(bytes);
    expect(error.code).toBe('ORDER_ENCODING');
    expect(error.value).toBe(`UTF-8, byte ${offset} (0xF3)`);
    expect(error.message).toContain(`the first bad byte is byte ${offset} (0xF3, line 2)`);
    expect(error.message).toMatch(/declares encoding="utf-8"/);
    expect(error.message).toMatch(/save it as UTF-8 or declare the encoding/);
  });

  it.each([
    ['the "utf8" alias in single quotes', `<?xml version='1.0' encoding='utf8'?>`],
    ['a declaration in lower case with spaces', `<?xml version="1.0" encoding = "utf-8" ?>`],
  ])('refuses invalid UTF-8 under %s', (_label, declaration) => {
    const bytes = iconv.encode(`${declaration}${DOC}`, 'windows-1252');
    expect(refused(bytes).value).toBe(`UTF-8, byte ${bytes.indexOf(0xf3)} (0xF3)`);
  });

  it('refuses invalid UTF-8 after a UTF-8 byte-order mark, counting the offset from the start of the file', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), iconv.encode(DOC, 'windows-1252')]);
    const error = refused(bytes);
    expect(error.code).toBe('ORDER_ENCODING');
    expect(error.value).toBe(`UTF-8, byte ${bytes.indexOf(0xf3)} (0xF3)`);
    expect(error.message).toMatch(/byte-order mark/);
  });

  it.each([
    ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
    ['a UTF-16 surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
    ['a lone continuation byte (80)', [0x80]],
    ['a sequence cut short (E2 82)', [0xe2, 0x82]],
  ])('refuses %s in a file that declares UTF-8, at its first byte', (_label, bad) => {
    const head = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><OrdenEnvio><Asunto>Año `);
    const bytes = Buffer.concat([head, Buffer.from(bad), Buffer.from('x</Asunto></OrdenEnvio>')]);
    const hex = `0x${bad[0]!.toString(16).toUpperCase().padStart(2, '0')}`;
    expect(refused(bytes).value).toBe(`UTF-8, byte ${head.length} (${hex})`);
  });

  it('reads a file that declares UTF-8 and is, whatever it holds (a U+FEFF inside the text is kept)', () => {
    const text = `<?xml version="1.0" encoding="UTF-8"?>${DOC.replace('Ñandú', 'Ñandú\uFEFF 𝄞')}`;
    expect(decoded(Buffer.from(text, 'utf8'))).toEqual({ text, encoding: 'utf-8' });
  });

  it('refuses an unknown declared encoding, naming it', () => {
    const error = refused(Buffer.from('<?xml version="1.0" encoding="klingon-8"?><OrdenEnvio/>'));
    expect(error.code).toBe('ORDER_ENCODING');
    expect(error.value).toBe('klingon-8');
  });

  it.each([
    ['0 bytes', Buffer.alloc(0)],
    ['white space only', Buffer.from(' \r\n\t\n')],
    ['a BOM only', Buffer.from([0xef, 0xbb, 0xbf])],
  ])('refuses an empty file (%s)', (_label, bytes) => {
    expect(refused(bytes).code).toBe('ORDER_EMPTY');
  });

  it.each([
    ['NUL bytes', Buffer.from([0x3c, 0x61, 0x00, 0x3e, 0x01, 0x02])],
    ['no "<" at all', Buffer.from('Estimado cliente: adjuntamos su factura.')],
    ['text before the first "<"', Buffer.from('Hola <pagos@cliente.example>')],
    ['random bytes without NULs', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x3c])],
  ])('refuses content that is not XML (%s)', (_label, bytes) => {
    expect(refused(bytes).code).toBe('ORDER_NOT_XML');
  });

  it('refuses files above MAX_ORDER_BYTES and accepts one at the limit', () => {
    expect(MAX_ORDER_BYTES).toBe(10 * 1024 * 1024);
    const atLimit = Buffer.alloc(MAX_ORDER_BYTES, 0x20);
    atLimit.write('<a>', 0);
    atLimit.write('</a>', MAX_ORDER_BYTES - 4);
    expect(decoded(atLimit).encoding).toBe('utf-8');
    const over = Buffer.concat([atLimit, Buffer.from(' ')]);
    const error = refused(over);
    expect(error.code).toBe('ORDER_TOO_LARGE');
    expect(error.value).toBe(String(MAX_ORDER_BYTES + 1));
  });
});
