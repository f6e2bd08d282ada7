import { describe, it, expect } from 'vitest';
import iconv from 'iconv-lite';
import { describeError } from '../../src/text/errors.js';
import { parseOrder } from '../../src/order/parse.js';
import { codes, fixture, orderXml, parseFail, parseOk, parseText } from './helpers.js';

const SAMPLE_0042 = '_CFD_MAIL_REQ_0042_20261127093015.XML';
const SAMPLE_HTML = '_CFD_MAIL_REQ_0107_20261127101500.XML';
const SAMPLE_NO_RECIPIENT = '_CFD_MAIL_REQ_0107_20261127101612.XML';

describe('parseOrder: the sample orders', () => {
  it('reads the windows-1252, CRLF invoice order', () => {
    const bytes = fixture(`samples/${SAMPLE_0042}`);
    expect(bytes.includes(Buffer.from('\r\n'))).toBe(true);
    const order = parseOk(bytes, SAMPLE_0042);
    expect(order.id).toBe('0042_20261127093015');
    expect(order.fileName).toBe(SAMPLE_0042);
    expect(order.encoding).toBe('windows-1252');
    expect(order.company).toBe('DISTRIBUIDORA DEL NORTE');
    expect(order.smtp).toEqual({ host: '127.0.0.1', port: 2525, security: 'NINGUNA', timeoutMinutes: 2 });
    expect(order.from).toEqual({ name: 'Facturación Distribuidora del Norte', address: 'facturas@dnorte.example' });
    expect(order.to).toEqual([{ name: '', address: 'cuentasxpagar@ferreteria-lopez.example' }]);
    // Byte 0x97 is the em dash in windows-1252.
    expect(order.subject).toBe('CFDI Factura F-20931 \u2014 Ferretería López & Hijos');
    expect(order.body).toEqual({
      kind: 'text',
      text:
        'Estimado cliente:\n\nLe enviamos su Comprobante Fiscal Digital por Internet (XML y PDF) de la factura F-20931.\n\n' +
        'Atentamente,\nDistribuidora del Norte, S.A. de C.V.',
    });
    expect(order.attachments).toEqual([{ path: 'C00017\\F-20931.xml' }, { path: 'C00017\\F-20931.pdf', filename: 'Factura F-20931.pdf' }]);
    expect(order.afterSend).toBe('CONSERVAR');
    expect(order.logSuccess).toBe(true);
    expect(order.errorMail).toEqual([{ name: '', address: 'sistemas@dnorte.example' }]);
    expect(order.unknownElements).toEqual([]);
  });

  it('reads the HTML sales-order confirmation', () => {
    const order = parseOk(fixture(`samples/${SAMPLE_HTML}`), SAMPLE_HTML);
    expect(order.encoding).toBe('utf-8');
    expect(order.to.map((a) => a.address)).toEqual(['compras@cliente.example', 'almacen@cliente.example']);
    expect(order.cc).toEqual([{ name: '', address: 'vendedor7@acme.example' }]);
    expect(order.body).toEqual({
      kind: 'html',
      html: '<html><body><p>Hola,</p><p>Confirmamos su <b>pedido P-5521</b>. Adjuntamos el PDF.</p></body></html>',
      text: 'Hola,\n\nConfirmamos su pedido P-5521. Adjuntamos el PDF.',
    });
    expect(order.attachments).toEqual([{ path: 'pedidos/P-5521.pdf' }]);
    expect(order.afterSend).toBe('RECICLAR');
    expect(order.logSuccess).toBeUndefined();
    expect(order.errorMail).toEqual([]);
  });

  it('refuses the order without recipient with exactly ORDER_NO_RECIPIENT, keeping what routes the notice', () => {
    const result = parseOrder(fixture(`samples/${SAMPLE_NO_RECIPIENT}`), SAMPLE_NO_RECIPIENT);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(codes(result.errors)).toEqual(['ORDER_NO_RECIPIENT@Para']);
    expect(result.partial).toEqual({
      id: '0107_20261127101612',
      fileName: SAMPLE_NO_RECIPIENT,
      company: 'ACME',
      smtp: { host: '127.0.0.1', port: 2525, security: 'NINGUNA' },
      from: { name: '', address: 'cobranza@acme.example' },
      errorMail: [{ name: '', address: 'cobranza@acme.example' }],
    });
  });
});

describe('parseOrder: encodings', () => {
  const inner = '<Remitente>Facturación Ñandú &lt;f@acme.mx&gt;</Remitente><Asunto>Año – «piñata» €</Asunto>';
  const expectDecoded = (order: ReturnType<typeof parseOk>): void => {
    expect(order.from).toEqual({ name: 'Facturación Ñandú', address: 'f@acme.mx' });
    expect(order.subject).toBe('Año – «piñata» €');
  };

  it('reads UTF-8 with a BOM', () => {
    const order = parseOk(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(orderXml(inner))]));
    expectDecoded(order);
    expect(order.encoding).toBe('utf-8');
  });

  it.each([
    ['utf-16le', [0xff, 0xfe]],
    ['utf-16be', [0xfe, 0xff]],
  ] as const)('reads %s with a BOM', (encoding, bom) => {
    const text = orderXml(inner).replace('encoding="UTF-8"', 'encoding="UTF-16"');
    const order = parseOk(Buffer.concat([Buffer.from(bom), iconv.encode(text, encoding)]));
    expectDecoded(order);
    expect(order.encoding).toBe(encoding);
  });

  it('reads a declared ISO-8859-1 file', () => {
    const text = orderXml('<Remitente>Facturación Ñandú &lt;f@acme.mx&gt;</Remitente><Asunto>Año «piñata»</Asunto>').replace('UTF-8', 'ISO-8859-1');
    const order = parseOk(iconv.encode(text, 'latin1'));
    expect(order.from?.name).toBe('Facturación Ñandú');
    expect(order.subject).toBe('Año «piñata»');
  });

  it('reads undeclared windows-1252 bytes, with a warning', () => {
    const text = orderXml(inner).replace(/^<\?xml[^>]*>\n/, '');
    const result = parseOrder(iconv.encode(text, 'windows-1252'), '_CFD_MAIL_REQ_1.XML');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expectDecoded(result.order);
    expect(result.order.encoding).toBe('windows-1252');
    expect(result.warnings.join('\n')).toMatch(/not valid UTF-8/);
  });
});

describe('parseOrder: XML reading', () => {
  it('matches element and attribute names case-insensitively', () => {
    const order = parseOk(
      '<ordenenvio><EMPRESA>ACME</EMPRESA><smtp><SERVIDOR>smtp.acme.mx</SERVIDOR><puerto>465</puerto><SeGuRiDaD>ssl</SeGuRiDaD>' +
        '<CONTRASEÑA>s3creto</CONTRASEÑA></smtp><PARA>a@b.mx</PARA><asunto>Hola</asunto>' +
        '<ADJUNTOS><ARCHIVO NOMBRE="F.pdf">x\\F.pdf</ARCHIVO><archivo Nombre="G.xml">x/G.xml</archivo></ADJUNTOS>' +
        '<despuesdeenviar>eliminar</despuesdeenviar><REGISTRARENVIOS>sí</REGISTRARENVIOS><correoERRORES>s@acme.mx</correoERRORES></ordenenvio>',
    );
    expect(order.company).toBe('ACME');
    expect(order.smtp).toEqual({ host: 'smtp.acme.mx', port: 465, security: 'SSL', password: 's3creto' });
    expect(order.to).toEqual([{ name: '', address: 'a@b.mx' }]);
    expect(order.attachments).toEqual([
      { path: 'x\\F.pdf', filename: 'F.pdf' },
      { path: 'x/G.xml', filename: 'G.xml' },
    ]);
    expect(order.afterSend).toBe('ELIMINAR');
    expect(order.logSuccess).toBe(true);
    expect(order.errorMail).toEqual([{ name: '', address: 's@acme.mx' }]);
    expect(order.unknownElements).toEqual([]);
  });

  it('decodes the XML entities, numeric references and CDATA, and keeps CDATA literal', () => {
    const order = parseOk(
      orderXml(
        '<Asunto>&amp; &lt; &gt; &quot; &apos; &#241; &#xF1; &#x1F600; <![CDATA[<crudo> &amp;]]> fin</Asunto>' +
          '<Cuerpo>Hola <![CDATA[<b>&lt;</b>]]>&#10;adiós &amp; gracias</Cuerpo>' +
          '<Adjuntos><Archivo nombre="A &amp; B &#241;.pdf">a&amp;b.pdf</Archivo></Adjuntos>',
      ),
    );
    expect(order.subject).toBe('& < > " \' ñ ñ 😀 <crudo> &amp; fin');
    expect(order.body).toEqual({ kind: 'text', text: 'Hola <b>&lt;</b>\nadiós & gracias' });
    expect(order.attachments).toEqual([{ path: 'a&b.pdf', filename: 'A & B ñ.pdf' }]);
  });

  it('takes a CDATA body that starts with HTML as an HTML body', () => {
    const order = parseOk(orderXml('<Cuerpo>\n  <![CDATA[html <!DOCTYPE html><p>Hola &amp; adiós</p>]]>\n</Cuerpo>'));
    expect(order.body).toEqual({ kind: 'html', html: '<!DOCTYPE html><p>Hola &amp; adiós</p>', text: 'Hola & adiós' });
  });

  it('keeps numbers, booleans and leading zeros as text where the field is text', () => {
    const order = parseOk(orderXml('<Empresa>0042</Empresa><SMTP><Usuario>00123</Usuario><Contrasena>true</Contrasena><Puerto>0587</Puerto></SMTP><Asunto>1e3</Asunto>'));
    expect(order.company).toBe('0042');
    expect(order.smtp).toEqual({ user: '00123', password: 'true', port: 587 });
    expect(order.subject).toBe('1e3');
  });

  it('refuses an entity XML does not define, naming the element', () => {
    expect(codes(parseFail(orderXml('<Asunto>a&nbsp;b</Asunto>')))).toEqual(['ORDER_XML_MALFORMED@Asunto']);
    expect(codes(parseFail(orderXml('<Asunto>a&#0;b</Asunto>')))).toEqual(['ORDER_XML_MALFORMED@Asunto']);
    const [error] = parseFail(orderXml('<Asunto>a&nbsp;b</Asunto>'));
    expect(error!.xml).toEqual({ kind: 'referenceUndefined', name: '&nbsp;' });
    expect(describeError(error!, 'es')).toBe('El XML de la orden está mal formado en el campo «Asunto»: &nbsp; no es una referencia que XML defina (escriba el carácter mismo; «&» se escribe «&amp;»).');
    expect(describeError(error!, 'en')).toBe('The order\'s XML is malformed in the field "Asunto": &nbsp; is not a reference XML defines (write the character itself; "&" is written "&amp;").');
  });

  it('refuses malformed XML with its line and column', () => {
    const errors = parseFail('<?xml version="1.0"?>\n<OrdenEnvio>\n  <Para>a@b.mx</Paraa>\n</OrdenEnvio>');
    expect(codes(errors)).toEqual(['ORDER_XML_MALFORMED@']);
    expect(errors[0].message).toMatch(/line 3, column \d+/);
    expect(errors[0].xml).toMatchObject({ kind: 'endTagMismatch', line: 3, expected: 'Para', name: 'Paraa' });
    expect(describeError(errors[0], 'es')).toBe('El XML de la orden está mal formado en la línea 3, columna 15: se esperaba </Para> (abierto en la línea 3, columna 3) y se encontró </Paraa>.');
  });

  it('refuses another root element, naming it', () => {
    const errors = parseFail('<Pedido><Para>a@b.mx</Para></Pedido>');
    expect(codes(errors)).toEqual(['ORDER_ROOT@']);
    expect(errors[0].value).toBe('Pedido');
  });

  it('refuses two root elements', () => {
    expect(codes(parseFail('<OrdenEnvio><Para>a@b.mx</Para></OrdenEnvio><OrdenEnvio/>'))).toEqual(['ORDER_XML_MALFORMED@']);
  });

  it('turns an unexpected failure into INTERNAL instead of throwing', () => {
    const result = parseOrder(undefined as unknown as Buffer, '_CFD_MAIL_REQ_X.XML');
    expect(!result.ok && codes(result.errors)).toEqual(['INTERNAL@']);
    expect(!result.ok && result.partial).toEqual({ id: 'X', fileName: '_CFD_MAIL_REQ_X.XML' });
  });

  it('refuses absurd nesting without throwing', () => {
    const deep = '<x>'.repeat(500) + '</x>'.repeat(500);
    const result = parseText(orderXml(`<Prioridad>${deep}</Prioridad>`));
    expect(result.ok).toBe(false);
  });
});

describe('parseOrder: the id', () => {
  it('takes the id from an order file name, any case', () => {
    expect(parseOk(orderXml(''), '_cfd_mail_req_77.xml').id).toBe('77');
  });

  it('uses the name without its extension for another name', () => {
    const result = parseText(orderXml(''), 'pedido-raro.txt');
    expect(result.ok && result.order.id).toBe('pedido-raro');
    const failed = parseOrder(Buffer.alloc(0), 'otro.XML');
    expect(!failed.ok && failed.partial).toEqual({ id: 'otro', fileName: 'otro.XML' });
  });
});
