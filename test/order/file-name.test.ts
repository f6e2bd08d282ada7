import { describe, expect, it } from 'vitest';

import { MAX_FILE_NAME_CHARS, safeFileName } from '../../src/order/file-name.js';

describe('safeFileName', () => {
  it.each([
    ['Factura A-1234.pdf', 'Factura A-1234.pdf'],
    ['Facturación Ñandú «2026».pdf', 'Facturación Ñandú «2026».pdf'],
    ['../../evil.exe', 'evil.exe'],
    ['..\\..\\evil.exe', 'evil.exe'],
    ['C:\\Windows\\System32\\x.dll', 'x.dll'],
    ['\\\\servidor\\share\\f.pdf', 'f.pdf'],
    ['/etc/passwd', 'passwd'],
    ['dir/..', undefined],
    ['../', undefined],
    ['...', undefined],
    ['   ', undefined],
    ['', undefined],
    ['.bashrc', 'bashrc'],
    ['..hidden.pdf', 'hidden.pdf'],
    ['factura.pdf. . ', 'factura.pdf'],
    ['a:b|c?d*e<f>g"h.pdf', 'a_b_c_d_e_f_g_h.pdf'],
    ['tab\there.pdf', 'tabhere.pdf'],
    ['c1\u0085control\u009f.pdf', 'c1control.pdf'],
    ['factura\u202Efdp.exe', 'facturafdp.exe'],
    ['\u2066isolated\u2069.pdf', 'isolated.pdf'],
    ['CON', '_CON'],
    ['nul.txt', '_nul.txt'],
    ['COM1.pdf', '_COM1.pdf'],
    ['lpt9', '_lpt9'],
    ['COM¹', '_COM¹'],
    ['CONSOLE.pdf', 'CONSOLE.pdf'],
    ['conin$', '_conin$'],
  ])('%j → %j', (input, expected) => {
    expect(safeFileName(input)).toBe(expected);
  });

  it('is undefined for undefined', () => {
    expect(safeFileName(undefined)).toBeUndefined();
  });

  it('cuts a long name to the limit, keeping a short extension', () => {
    const name = `${'a'.repeat(400)}.pdf`;
    const safe = safeFileName(name)!;
    expect([...safe].length).toBe(MAX_FILE_NAME_CHARS);
    expect(safe.endsWith('a.pdf')).toBe(true);
    const astral = safeFileName(`${'𝄞'.repeat(300)}.xml`)!;
    expect([...astral].length).toBe(MAX_FILE_NAME_CHARS);
    expect(astral.endsWith('𝄞.xml')).toBe(true);
  });

  it('is idempotent', () => {
    for (const input of ['../../evil.exe', ' .x. ', 'CON', 'a:b', `${'b'.repeat(300)}.pdf`, 'x/.. .', 'nul.txt. .']) {
      const once = safeFileName(input);
      expect(safeFileName(once), input).toBe(once);
    }
  });
});
