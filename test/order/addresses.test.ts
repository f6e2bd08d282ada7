import { describe, it, expect } from 'vitest';
import { isValidAddress, parseAddress, parseAddressList } from '../../src/order/addresses.js';
import { MailerError } from '../../src/errors.js';

describe('parseAddressList', () => {
  it('splits on commas and semicolons, mixed', () => {
    const { addresses, errors } = parseAddressList('a@x.mx, b@y.mx;c@z.com.mx ;  d@w.example', 'Para');
    expect(errors).toEqual([]);
    expect(addresses.map((a) => a.address)).toEqual(['a@x.mx', 'b@y.mx', 'c@z.com.mx', 'd@w.example']);
    expect(addresses.every((a) => a.name === '')).toBe(true);
  });

  it('ignores empty items and trailing separators', () => {
    const { addresses, errors } = parseAddressList(' ;a@x.mx;;b@y.mx; , ;', 'CC');
    expect(errors).toEqual([]);
    expect(addresses.map((a) => a.address)).toEqual(['a@x.mx', 'b@y.mx']);
  });

  it('keeps separators inside quoted display names', () => {
    const { addresses, errors } = parseAddressList('"López, Juan" <j@x.mx>; "Pagos; Norte" <p@n.mx>, Ana Ruiz <ana@r.mx>', 'Para');
    expect(errors).toEqual([]);
    expect(addresses).toEqual([
      { name: 'López, Juan', address: 'j@x.mx' },
      { name: 'Pagos; Norte', address: 'p@n.mx' },
      { name: 'Ana Ruiz', address: 'ana@r.mx' },
    ]);
  });

  it('unescapes quoted names', () => {
    const { addresses } = parseAddressList('"Juan \\"JJ\\" Pérez" <j@x.mx>', 'Para');
    expect(addresses).toEqual([{ name: 'Juan "JJ" Pérez', address: 'j@x.mx' }]);
  });

  it('joins an unquoted "Apellido, Nombre <addr>" split by its comma', () => {
    const { addresses, errors } = parseAddressList('López, Juan <j@x.mx>, b@y.mx', 'Para');
    expect(errors).toEqual([]);
    expect(addresses).toEqual([
      { name: 'López, Juan', address: 'j@x.mx' },
      { name: '', address: 'b@y.mx' },
    ]);
  });

  it('reports every invalid item, naming the field and the item, and keeps the valid ones', () => {
    const { addresses, errors } = parseAddressList('ok@x.mx; juan perez@x.mx; sin-arroba.mx; a@b; <roto@x.mx', 'CCO');
    expect(addresses).toEqual([{ name: '', address: 'ok@x.mx' }]);
    expect(errors.map((e) => [e.code, e.field, e.value])).toEqual([
      ['ORDER_ADDRESS_INVALID', 'CCO', 'juan perez@x.mx'],
      ['ORDER_ADDRESS_INVALID', 'CCO', 'sin-arroba.mx'],
      ['ORDER_ADDRESS_INVALID', 'CCO', 'a@b'],
      ['ORDER_ADDRESS_INVALID', 'CCO', '<roto@x.mx'],
    ]);
  });

  it('refuses a whole list that contains a line break, as header injection', () => {
    const { addresses, errors } = parseAddressList('a@x.mx\r\nBcc: evil@x.mx', 'Para');
    expect(addresses).toEqual([]);
    expect(errors.map((e) => [e.code, e.field])).toEqual([['ORDER_HEADER_INJECTION', 'Para']]);
  });

  it('returns nothing for empty text', () => {
    expect(parseAddressList('  ', 'CC')).toEqual({ addresses: [], errors: [] });
  });
});

describe('parseAddress', () => {
  it('reads a bare address and a display-name form', () => {
    expect(parseAddress('facturas@acme.mx', 'Remitente')).toEqual({ name: '', address: 'facturas@acme.mx' });
    expect(parseAddress(' Facturación ACME <facturas@acme.mx> ', 'Remitente')).toEqual({ name: 'Facturación ACME', address: 'facturas@acme.mx' });
  });

  it('accepts an unquoted comma in a single mailbox', () => {
    expect(parseAddress('ACME, S.A. de C.V. <facturas@acme.mx>', 'Remitente')).toEqual({ name: 'ACME, S.A. de C.V.', address: 'facturas@acme.mx' });
  });

  it.each(['facturas', 'facturas@', '@acme.mx', 'fac turas@acme.mx', 'a <b@c.mx> <d@e.mx>', '"sin cierre <a@b.mx>', 'a@b.mx, c@d.mx'])(
    'refuses %j',
    (text) => {
      const result = parseAddress(text, 'Remitente');
      expect(result).toBeInstanceOf(MailerError);
      expect((result as MailerError).code).toBe('ORDER_ADDRESS_INVALID');
      expect((result as MailerError).field).toBe('Remitente');
    },
  );

  it('refuses control characters as header injection', () => {
    const result = parseAddress('ACME <a@b.mx>\nBcc: x@y.mx', 'Remitente') as MailerError;
    expect(result.code).toBe('ORDER_HEADER_INJECTION');
    expect(result.field).toBe('Remitente');
  });
});

describe('isValidAddress', () => {
  it.each(['a@b.mx', 'first.last+tag@sub.example.com', "o'brien@x.ie", 'josé@correos.mx', 'x@xn--80ak6aa92e.com', 'a_b-c@d-e.f1.mx'])('accepts %s', (a) => {
    expect(isValidAddress(a)).toBe(true);
  });

  it.each(['', 'a', 'a@', '@b.mx', 'a@b', 'a b@c.mx', 'a@b c.mx', 'a..b@c.mx', '.a@c.mx', 'a.@c.mx', 'a@-b.mx', 'a@b-.mx', 'a@b..mx', 'a@b.mx.', 'a@1.2.3.4', 'a@[1.2.3.4]', 'a@b@c.mx', `${'x'.repeat(65)}@c.mx`])(
    'refuses %j',
    (a) => {
      expect(isValidAddress(a)).toBe(false);
    },
  );
});
