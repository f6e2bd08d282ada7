import { describe, it, expect } from 'vitest';
import { codes, orderXml, parseFail, parseOk, parseText } from './helpers.js';

describe('parseOrder: defaults', () => {
  const expectDefaults = (order: ReturnType<typeof parseOk>): void => {
    expect(order.company).toBeUndefined();
    expect(order.smtp).toEqual({});
    expect(order.from).toBeUndefined();
    expect(order.cc).toEqual([]);
    expect(order.bcc).toEqual([]);
    expect(order.replyTo).toEqual([]);
    expect(order.subject).toBe('');
    expect(order.body).toEqual({ kind: 'text', text: '' });
    expect(order.attachments).toEqual([]);
    expect(order.afterSend).toBeUndefined();
    expect(order.logSuccess).toBeUndefined();
    expect(order.errorMail).toEqual([]);
    expect(order.unknownElements).toEqual([]);
  };

  it('leaves every optional field unset when only Para is given (Remitente and Servidor are not required here)', () => {
    const order = parseOk(orderXml(''));
    expect(order.to).toEqual([{ name: '', address: 'pagos@cliente.example' }]);
    expect(order.encoding).toBe('utf-8');
    expectDefaults(order);
  });

  it('treats empty elements as absent', () => {
    const order = parseOk(
      orderXml(
        '<Empresa/><SMTP><Servidor></Servidor><Puerto> </Puerto><Seguridad/><Usuario/><Contrasena/><TiempoEspera/></SMTP>' +
          '<Remitente/><CC></CC><CCO> </CCO><ResponderA/><Asunto/><Cuerpo/><Adjuntos/><DespuesDeEnviar/><RegistrarEnvios/><CorreoErrores/>',
      ),
    );
    expectDefaults(order);
  });
});

describe('parseOrder: SMTP block', () => {
  it('reads every SMTP field', () => {
    const order = parseOk(
      orderXml('<SMTP><Servidor>smtp.acme.mx</Servidor><Puerto>587</Puerto><Seguridad>starttls</Seguridad><Usuario>f@acme.mx</Usuario><Contrasena> p a s s </Contrasena><TiempoEspera>10</TiempoEspera></SMTP>'),
    );
    expect(order.smtp).toEqual({ host: 'smtp.acme.mx', port: 587, security: 'STARTTLS', user: 'f@acme.mx', password: 'p a s s', timeoutMinutes: 10 });
  });

  it.each(['NINGUNA', 'ninguna', 'StartTLS', 'ssl'])('accepts Seguridad %s', (value) => {
    expect(parseOk(orderXml(`<SMTP><Seguridad>${value}</Seguridad></SMTP>`)).smtp.security).toBe(value.toUpperCase());
  });

  it.each(['1', '65535', '00025'])('accepts Puerto %s', (value) => {
    expect(parseOk(orderXml(`<SMTP><Puerto>${value}</Puerto></SMTP>`)).smtp.port).toBe(Number(value));
  });

  it.each([
    ['Puerto', '0'],
    ['Puerto', '65536'],
    ['Puerto', 'abc'],
    ['Puerto', '58 7'],
    ['Puerto', '-1'],
    ['Puerto', '587.0'],
    ['TiempoEspera', '0'],
    ['TiempoEspera', '11'],
    ['TiempoEspera', '2.5'],
    ['Seguridad', 'TLS'],
    ['Seguridad', 'NONE'],
    ['Servidor', 'smtp acme.mx'],
    ['Servidor', 'smtp://acme.mx'],
  ])('refuses SMTP/%s %j, naming it', (element, value) => {
    const errors = parseFail(orderXml(`<SMTP><${element}>${value}</${element}></SMTP>`));
    expect(codes(errors)).toEqual([`ORDER_FIELD_INVALID@SMTP/${element}`]);
    expect(errors[0].value).toBe(value);
  });

  it('treats Contrasena and Contraseña together as a repeated element', () => {
    expect(codes(parseFail(orderXml('<SMTP><Contrasena>a</Contrasena><Contraseña>b</Contraseña></SMTP>')))).toEqual(['ORDER_FIELD_INVALID@SMTP/Contrasena']);
  });
});

describe('parseOrder: keywords and booleans, any case', () => {
  it.each([
    ['SI', true], ['si', true], ['Sí', true], ['SÍ', true], ['sí', true], ['Si\u0301', true], ['true', true], ['TRUE', true], ['1', true],
    ['NO', false], ['no', false], ['No', false], ['false', false], ['False', false], ['0', false],
  ] as const)('RegistrarEnvios %j is %s', (value, expected) => {
    expect(parseOk(orderXml(`<RegistrarEnvios>${value}</RegistrarEnvios>`)).logSuccess).toBe(expected);
  });

  it.each(['tal vez', 'S', 'yes', '2'])('refuses RegistrarEnvios %j', (value) => {
    expect(codes(parseFail(orderXml(`<RegistrarEnvios>${value}</RegistrarEnvios>`)))).toEqual(['ORDER_FIELD_INVALID@RegistrarEnvios']);
  });

  it.each([
    ['conservar', 'CONSERVAR'],
    ['Reciclar', 'RECICLAR'],
    ['ELIMINAR', 'ELIMINAR'],
  ])('DespuesDeEnviar %s is %s', (value, expected) => {
    expect(parseOk(orderXml(`<DespuesDeEnviar>${value}</DespuesDeEnviar>`)).afterSend).toBe(expected);
  });

  it('refuses an unknown DespuesDeEnviar', () => {
    expect(codes(parseFail(orderXml('<DespuesDeEnviar>BORRAR</DespuesDeEnviar>')))).toEqual(['ORDER_FIELD_INVALID@DespuesDeEnviar']);
  });
});

describe('parseOrder: addresses', () => {
  it('reads lists in Para, CC, CCO, ResponderA and CorreoErrores', () => {
    const order = parseOk(
      orderXml(
        '<Para>"López, Juan" &lt;j@x.mx&gt;; b@y.mx,</Para><CC>c1@x.mx, c2@x.mx</CC><CCO>Auditoría &lt;aud@acme.mx&gt;</CCO>' +
          '<ResponderA>cobranza@acme.mx</ResponderA><CorreoErrores>s1@acme.mx;s2@acme.mx</CorreoErrores>',
      ),
    );
    expect(order.to).toEqual([{ name: 'López, Juan', address: 'j@x.mx' }, { name: '', address: 'b@y.mx' }]);
    expect(order.cc.map((a) => a.address)).toEqual(['c1@x.mx', 'c2@x.mx']);
    expect(order.bcc).toEqual([{ name: 'Auditoría', address: 'aud@acme.mx' }]);
    expect(order.replyTo).toEqual([{ name: '', address: 'cobranza@acme.mx' }]);
    expect(order.errorMail.map((a) => a.address)).toEqual(['s1@acme.mx', 's2@acme.mx']);
  });

  it.each(['', '<Para/>', '<Para>  </Para>', '<Para> ; , ;</Para>'])('refuses %j as sin destinatario', (para) => {
    const errors = parseFail(orderXml(`${para}<CC>c@x.mx</CC>`, { withPara: false }));
    expect(codes(errors)).toEqual(['ORDER_NO_RECIPIENT@Para']);
  });

  it('reports invalid addresses in each list, not "no recipient"', () => {
    const errors = parseFail(orderXml('<Para>no es correo</Para><CC>a@b</CC><Remitente>facturas</Remitente><CorreoErrores>x@</CorreoErrores>', { withPara: false }));
    expect(codes(errors)).toEqual(['ORDER_ADDRESS_INVALID@Remitente', 'ORDER_ADDRESS_INVALID@Para', 'ORDER_ADDRESS_INVALID@CC', 'ORDER_ADDRESS_INVALID@CorreoErrores']);
    expect(errors.map((e) => e.value)).toEqual(['facturas', 'no es correo', 'a@b', 'x@']);
  });
});

describe('parseOrder: subject and attachments', () => {
  it('accepts any Unicode in the subject up to 1000 characters', () => {
    const prefix = `Año ñ & < > " ' 😀 `;
    const subject = prefix + 'x'.repeat(1000 - [...prefix].length);
    expect([...subject].length).toBe(1000);
    const escaped = subject.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    expect(parseOk(orderXml(`<Asunto>${escaped}</Asunto>`)).subject).toBe(subject);
  });

  it('refuses a subject over 1000 characters, with a shortened value', () => {
    const errors = parseFail(orderXml(`<Asunto>${'y'.repeat(1001)}</Asunto>`));
    expect(codes(errors)).toEqual(['ORDER_FIELD_INVALID@Asunto']);
    expect(errors[0].value!.length).toBeLessThan(300);
  });

  it('keeps attachments in order, with and without nombre', () => {
    const files = Array.from({ length: 12 }, (_, i) => `<Archivo${i % 3 === 0 ? ` nombre=" Archivo ${i}.pdf "` : ''}>C1\\f${i}.pdf</Archivo>`);
    const order = parseOk(orderXml(`<Adjuntos>\n  ${files.join('\n  ')}\n</Adjuntos>`));
    expect(order.attachments).toEqual(Array.from({ length: 12 }, (_, i) => ({ path: `C1\\f${i}.pdf`, ...(i % 3 === 0 && { filename: `Archivo ${i}.pdf` }) })));
  });

  it('keeps only a safe bare file name of nombre, and says so in a warning', () => {
    const result = parseText(
      orderXml(
        '<Adjuntos>' +
          '<Archivo nombre="../../evil.exe">a.pdf</Archivo>' +
          '<Archivo nombre="..\\..\\Windows\\System32\\x.dll">b.pdf</Archivo>' +
          '<Archivo nombre="Factura A-1234.pdf">c.pdf</Archivo>' +
          '<Archivo nombre="../">d.pdf</Archivo>' +
          '</Adjuntos>',
      ),
    );
    if (!result.ok) return expect.fail(JSON.stringify(result.errors));
    expect(result.order.attachments).toEqual([
      { path: 'a.pdf', filename: 'evil.exe' },
      { path: 'b.pdf', filename: 'x.dll' },
      { path: 'c.pdf', filename: 'Factura A-1234.pdf' },
      { path: 'd.pdf' }, // nothing usable left: the file's own name is used
    ]);
    expect(result.warnings).toEqual([
      'Adjuntos/Archivo/@nombre "../../evil.exe" is sent as "evil.exe"',
      'Adjuntos/Archivo/@nombre "..\\..\\Windows\\System32\\x.dll" is sent as "x.dll"',
      'Adjuntos/Archivo/@nombre "../" has no usable file name: the file\'s own name is used',
    ]);
  });

  it('counts the changed nombre warnings beyond the first 20 in one line', () => {
    // As many as an order may list (MAX_ATTACHMENTS).
    const files = Array.from({ length: 200 }, (_, i) => `<Archivo nombre="../f${i}.pdf">f${i}.pdf</Archivo>`).join('');
    const result = parseText(orderXml(`<Adjuntos>${files}</Adjuntos>`));
    if (!result.ok) return expect.fail(JSON.stringify(result.errors));
    expect(result.order.attachments[199]).toEqual({ path: 'f199.pdf', filename: 'f199.pdf' });
    expect(result.warnings).toHaveLength(21);
    expect(result.warnings[20]).toBe('… and 180 more warnings like these');
  });

  it('ignores an empty nombre and refuses an empty path', () => {
    expect(parseOk(orderXml('<Adjuntos><Archivo nombre="">a.pdf</Archivo></Adjuntos>')).attachments).toEqual([{ path: 'a.pdf' }]);
    expect(codes(parseFail(orderXml('<Adjuntos><Archivo nombre="x.pdf"> </Archivo><Archivo/></Adjuntos>')))).toEqual([
      'ORDER_FIELD_INVALID@Adjuntos/Archivo',
      'ORDER_FIELD_INVALID@Adjuntos/Archivo',
    ]);
  });
});

describe('parseOrder: repeated elements and error collection', () => {
  it.each(['Para', 'Asunto', 'Empresa', 'Cuerpo'])('refuses <%s> given twice, once, and uses neither copy', (name) => {
    const result = parseText(orderXml(`<${name}>a@b.mx</${name}><${name}>c@d.mx</${name}><${name}>e@f.mx</${name}>`, { withPara: name !== 'Para' }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(codes(result.errors)).toEqual([`ORDER_FIELD_INVALID@${name}`]);
    expect(result.errors[0].value).toBe('repetido');
    expect(result.partial.company).toBeUndefined();
  });

  it('refuses a repeated SMTP block and reads neither copy', () => {
    const result = parseText(orderXml('<SMTP><Servidor>a.mx</Servidor><Puerto>25</Puerto></SMTP><SMTP><Puerto>26</Puerto><Puerto>27</Puerto></SMTP>'));
    expect(!result.ok && codes(result.errors)).toEqual(['ORDER_FIELD_INVALID@SMTP']);
    expect(!result.ok && result.partial.smtp).toEqual({});
  });

  it('refuses a repeated Adjuntos block', () => {
    const errors = parseFail(orderXml('<Adjuntos><Archivo>a.pdf</Archivo></Adjuntos><Adjuntos><Archivo>b.pdf</Archivo></Adjuntos>'));
    expect(codes(errors)).toEqual(['ORDER_FIELD_INVALID@Adjuntos']);
  });

  it('reports every invalid field at once and keeps the valid routing fields in partial', () => {
    const result = parseText(
      orderXml(
        '<Empresa>ACME</Empresa><SMTP><Servidor>smtp.acme.mx</Servidor><Puerto>99999</Puerto><TiempoEspera>30</TiempoEspera></SMTP>' +
          '<Remitente>ACME &lt;f@acme.mx&gt;</Remitente><Para>mal</Para><DespuesDeEnviar>GUARDAR</DespuesDeEnviar>' +
          '<RegistrarEnvios>quizá</RegistrarEnvios><CorreoErrores>s@acme.mx</CorreoErrores>',
        { withPara: false },
      ),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(codes(result.errors)).toEqual([
      'ORDER_FIELD_INVALID@SMTP/Puerto',
      'ORDER_FIELD_INVALID@SMTP/TiempoEspera',
      'ORDER_ADDRESS_INVALID@Para',
      'ORDER_FIELD_INVALID@DespuesDeEnviar',
      'ORDER_FIELD_INVALID@RegistrarEnvios',
    ]);
    expect(result.partial).toMatchObject({
      company: 'ACME',
      smtp: { host: 'smtp.acme.mx' },
      from: { name: 'ACME', address: 'f@acme.mx' },
      errorMail: [{ name: '', address: 's@acme.mx' }],
    });
    expect(result.partial.smtp).not.toHaveProperty('port');
  });
});
