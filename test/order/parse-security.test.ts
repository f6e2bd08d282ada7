import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseOrder } from '../../src/order/parse.js';
import { codes, fixture, orderXml, parseFail, parseOk, parseText } from './helpers.js';

const passwdLines = ((): string[] => {
  try {
    return readFileSync('/etc/passwd', 'utf8').split('\n').filter((l) => l.length > 10);
  } catch {
    return [];
  }
})();

describe('parseOrder: DOCTYPE is refused before parsing', () => {
  it('refuses the billion-laughs bomb quickly, without expanding it', () => {
    const started = Date.now();
    const result = parseOrder(fixture('bad/entity-bomb.XML'), 'bomb.XML');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(!result.ok && codes(result.errors)).toEqual(['ORDER_DOCTYPE@']);
    expect(JSON.stringify(result)).not.toContain('lollol');
  });

  it('refuses an external entity and never shows the file it names', () => {
    expect(passwdLines.length).toBeGreaterThan(0);
    const result = parseOrder(fixture('bad/external-entity.XML'), 'xxe.XML');
    expect(!result.ok && codes(result.errors)).toEqual(['ORDER_DOCTYPE@']);
    const serialized = JSON.stringify(result) + (result.ok ? '' : result.errors.map((e) => `${e.message} ${e.value}`).join(' '));
    for (const line of passwdLines) expect(serialized).not.toContain(line);
    expect(serialized).not.toContain('root:x:0:0');
  });

  it.each([
    ['a plain DOCTYPE', '<!DOCTYPE OrdenEnvio>\n<OrdenEnvio><Para>a@b.mx</Para></OrdenEnvio>'],
    ['lower-case doctype after a comment', '<?xml version="1.0"?><!-- c --><!doctype OrdenEnvio><OrdenEnvio><Para>a@b.mx</Para></OrdenEnvio>'],
    ['a DOCTYPE inside the root', '<OrdenEnvio><!DOCTYPE x [<!ENTITY e "v">]><Para>a@b.mx</Para><Asunto>&e;</Asunto></OrdenEnvio>'],
    ['a stray ENTITY declaration', '<OrdenEnvio><!ENTITY e "v"><Para>a@b.mx</Para></OrdenEnvio>'],
  ])('refuses %s', (_label, text) => {
    expect(codes(parseFail(text))).toEqual(['ORDER_DOCTYPE@']);
  });

  it('allows the text "<!DOCTYPE" inside CDATA, comments and escaped text', () => {
    const order = parseOk(orderXml('<!-- <!DOCTYPE x> --><Asunto>&lt;!DOCTYPE x&gt;</Asunto><Cuerpo><![CDATA[HTML <!DOCTYPE html><p>ok</p>]]></Cuerpo>'));
    expect(order.subject).toBe('<!DOCTYPE x>');
    expect(order.body.kind).toBe('html');
  });
});

describe('parseOrder: header injection', () => {
  const cases: [string, string][] = [
    ['Asunto', '<Asunto>Factura&#13;&#10;Bcc: evil@x.mx</Asunto>'],
    ['Asunto', '<Asunto>Factura\nBcc: evil@x.mx</Asunto>'],
    ['Asunto', '<Asunto>Factura&#13;X</Asunto>'],
    ['Asunto', '<Asunto>Factura\u0001X</Asunto>'],
    ['Asunto', '<Asunto><![CDATA[Factura\r\nBcc: evil@x.mx]]></Asunto>'],
    ['Remitente', '<Remitente>ACME &lt;f@acme.mx&gt;&#10;Bcc: evil@x.mx</Remitente>'],
    ['Para', '<Para>a@b.mx&#13;&#10;Bcc: evil@x.mx</Para>'],
    ['CC', '<CC>a@b.mx\nBcc: evil@x.mx</CC>'],
    ['CCO', '<CCO>a@b.mx&#10;b@c.mx</CCO>'],
    ['ResponderA', '<ResponderA>a@b.mx&#10;X-Evil: 1</ResponderA>'],
    ['CorreoErrores', '<CorreoErrores>s@acme.mx&#13;&#10;Bcc: evil@x.mx</CorreoErrores>'],
    ['Empresa', '<Empresa>ACME&#10;X</Empresa>'],
    ['SMTP/Servidor', '<SMTP><Servidor>smtp.acme.mx&#13;&#10;RCPT TO:&lt;x@y.mx&gt;</Servidor></SMTP>'],
    ['SMTP/Usuario', '<SMTP><Usuario>f@acme.mx&#10;AUTH</Usuario></SMTP>'],
    ['Adjuntos/Archivo/@nombre', '<Adjuntos><Archivo nombre="f.pdf&#13;&#10;Content-Type: text/html">a.pdf</Archivo></Adjuntos>'],
  ];

  it.each(cases)('refuses a line break or control character in %s', (field, inner) => {
    const errors = parseFail(orderXml(inner, { withPara: field !== 'Para' }));
    expect(codes(errors)).toEqual([`ORDER_HEADER_INJECTION@${field}`]);
  });

  it('trims line breaks around a value instead of refusing them, and allows TAB inside', () => {
    const order = parseOk(orderXml('<Asunto>\r\n   Factura\tA-1 &#10;</Asunto><Para>\n  a@b.mx\n</Para>', { withPara: false }));
    expect(order.subject).toBe('Factura\tA-1');
    expect(order.to).toEqual([{ name: '', address: 'a@b.mx' }]);
  });
});

describe('parseOrder: unknown elements', () => {
  it('lists unknown elements by path, warns once, and still reads the order', () => {
    const result = parseText(
      orderXml('<Prioridad>alta</Prioridad><SMTP><Foo>1</Foo><Puerto>25</Puerto></SMTP><Para>a@b.mx<Nota>x</Nota></Para><Adjuntos><Zip>z</Zip></Adjuntos><Extra><Anidado/></Extra>', {
        withPara: false,
      }),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.order.unknownElements).toEqual(['Prioridad', 'SMTP/Foo', 'Para/Nota', 'Adjuntos/Zip', 'Extra']);
    expect(result.order.smtp.port).toBe(25);
    expect(result.order.to).toEqual([{ name: '', address: 'a@b.mx' }]);
    expect(result.warnings.filter((w) => w.includes('unknown elements'))).toEqual(['unknown elements ignored: Prioridad, SMTP/Foo, Para/Nota, Adjuntos/Zip, Extra']);
  });

  it('treats prototype-polluting names as plain unknown elements and attributes', () => {
    const result = parseText(
      orderXml(
        '<__proto__><polluted>yes</polluted></__proto__><constructor>1</constructor><prototype x="1"/><hasOwnProperty/><toString>2</toString>' +
          '<SMTP><__proto__ polluted="yes">x</__proto__><constructor/></SMTP><Adjuntos><Archivo __proto__="x" constructor="y" nombre="n.pdf">a.pdf</Archivo></Adjuntos>',
      ),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.order.unknownElements).toEqual(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'SMTP/__proto__', 'SMTP/constructor']);
    expect(result.order.attachments).toEqual([{ path: 'a.pdf', filename: 'n.pdf' }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  it('500,000 unknown elements give one short warning: the first 20 distinct names and the counts', () => {
    const count = 500_000;
    const inner = Array.from({ length: count }, (_, i) => `<Extra${i % 1000}/>`).join('');
    const result = parseText(orderXml(inner));
    if (!result.ok) return expect.fail(JSON.stringify(result.errors));
    const lines = result.warnings.filter((w) => w.startsWith('unknown elements ignored'));
    expect(lines).toHaveLength(1);
    const names = Array.from({ length: 20 }, (_, i) => `Extra${i}`).join(', ');
    expect(lines[0]).toBe(`unknown elements ignored: ${names}, … (${count} in all, 1000 distinct)`);
    expect(result.warnings.join('; ').length).toBeLessThan(400);
  });

  it('cuts very long unknown names in the warning', () => {
    const long = `X${'y'.repeat(100_000)}`;
    const inner = Array.from({ length: 25 }, (_, i) => `<${long}${i}/>`).join('');
    const result = parseText(orderXml(inner));
    if (!result.ok) return expect.fail(JSON.stringify(result.errors));
    expect(result.warnings.join('; ').length).toBeLessThan(21 * 110 + 100);
    expect(result.warnings.join('; ')).toContain('(25 in all, 25 distinct)');
  });

  it('sums up unknown attributes on known elements in one bounded warning', () => {
    const attributes = Array.from({ length: 50_000 }, (_, i) => ` a${i}="1"`).join('');
    const result = parseText(`<?xml version="1.0" encoding="UTF-8"?><OrdenEnvio${attributes}><Para prioridad="alta">a@b.mx</Para></OrdenEnvio>`);
    if (!result.ok) return expect.fail(JSON.stringify(result.errors));
    const [line, ...others] = result.warnings.filter((w) => w.startsWith('unknown attributes ignored'));
    expect(others).toEqual([]);
    expect(line).toMatch(/^unknown attributes ignored: a0 on <OrdenEnvio>, a1 on <OrdenEnvio>, .*, … \(50001 in all, 50001 distinct\)$/);
    expect(line!.length).toBeLessThan(600);
    const few = parseText(orderXml('<Para prioridad="alta">a@b.mx</Para>', { withPara: false }));
    expect(few.ok && few.warnings).toEqual(['unknown attributes ignored: prioridad on <Para>']);
  });

  it('does not mistake unknown elements for repeated known ones', () => {
    expect(parseOk(orderXml('<Prioridad>1</Prioridad><Prioridad>2</Prioridad>')).unknownElements).toEqual(['Prioridad', 'Prioridad']);
  });
});
