import { describe, expect, it } from 'vitest';
import { ErrorCodes, MailerError, type ErrorCode, type SerializedError } from '../../src/errors.js';
import { describeError, formatLocalTime, renderErrorNote, renderNotification } from '../../src/text/errors.js';
import type { FailureReport } from '../../src/ports.js';

const noRecipient = new MailerError(ErrorCodes.ORDER_NO_RECIPIENT, 'no recipient', { field: 'Para' });
const missing = new MailerError(ErrorCodes.ATTACHMENT_MISSING, 'attachment not found', { field: 'Adjuntos/Archivo', value: 'C00017\\F-20931.pdf' });
const rejected = new MailerError(ErrorCodes.SMTP_PERMANENT, 'refused', { smtp: { responseCode: 550, response: '550 5.1.1 User unknown', command: 'RCPT TO' } });

describe('describeError', () => {
  it('says the spec examples word for word', () => {
    expect(describeError(noRecipient, 'es')).toBe('El campo «Para» no tiene ningún destinatario (sin destinatario).');
    expect(describeError(missing, 'es')).toBe('El adjunto «C00017\\F-20931.pdf» (campo Adjuntos/Archivo) no existe.');
    expect(describeError(rejected, 'es')).toBe('El servidor SMTP rechazó el mensaje de forma permanente: 550 5.1.1 User unknown.');
    expect(describeError(rejected, 'en')).toBe('The SMTP server refused the message permanently: 550 5.1.1 User unknown.');
  });

  it('has its own sentence for every code, in both languages, naming field and value', () => {
    const codes = Object.values(ErrorCodes) as ErrorCode[];
    const seen = { es: new Set<string>(), en: new Set<string>() };
    for (const code of codes) {
      const e = new MailerError(code, 'english log message', { field: 'Campo/X', value: 'valor-raro' });
      for (const lang of ['es', 'en'] as const) {
        const text = describeError(e, lang);
        expect(text, `${code} ${lang}`).toContain('Campo/X');
        expect(text, `${code} ${lang}`).toContain('valor-raro');
        expect(text.endsWith('.'), `${code} ${lang}`).toBe(true);
        expect(text).not.toContain(code);
        seen[lang].add(text);
      }
    }
    // distinct wording per code (a fallback would repeat itself)
    expect(seen.es.size).toBe(codes.length);
    expect(seen.en.size).toBe(codes.length);
  });

  it('accepts serialized errors and quotes the server\'s reply or the low-level code', () => {
    const serialized = new MailerError(ErrorCodes.SMTP_AUTH, 'auth', { smtp: { responseCode: 535, response: '535 5.7.8 Authentication failed.' } }).toJSON();
    expect(describeError(serialized, 'es')).toBe('El servidor SMTP rechazó el usuario o la contraseña: 535 5.7.8 Authentication failed.');
    const refused = new MailerError(ErrorCodes.SMTP_CONNECTION, 'connect ECONNREFUSED', { smtp: { errno: 'ECONNREFUSED' } });
    expect(describeError(refused, 'en')).toBe('Could not connect to the SMTP server: ECONNREFUSED.');
    const bare = new MailerError(ErrorCodes.SMTP_TEMPORARY, 'x', { smtp: { responseCode: 451 } });
    expect(describeError(bare, 'es')).toBe('El servidor SMTP rechazó el mensaje de forma temporal: 451.');
  });

  it('shortens huge values to one line', () => {
    const e = { code: ErrorCodes.ORDER_FIELD_INVALID, message: 'm', field: 'Asunto', value: 'x'.repeat(5000) + '\r\nBcc: y' };
    const text = describeError(e, 'es');
    expect(text.length).toBeLessThan(400);
    expect(text).not.toMatch(/[\r\n]/);
  });
});

describe('renderErrorNote', () => {
  const at = new Date(2026, 10, 27, 9, 30, 15);

  it('names the file, id, time, tries, every reason and what to do', () => {
    const note = renderErrorNote(
      { fileName: '_CFD_MAIL_REQ_0107_1.XML', orderId: '0107_1', errors: [noRecipient, missing], at, attempts: 3 },
      'es',
    );
    expect(note).toBe(
      [
        'proscai-mailer: esta orden de envío no se envió.',
        '',
        'Archivo: _CFD_MAIL_REQ_0107_1.XML',
        'Orden: 0107_1',
        `Fecha: ${formatLocalTime(at)}`,
        'Intentos: 3',
        '',
        'Motivos:',
        '- El campo «Para» no tiene ningún destinatario (sin destinatario).',
        '- El adjunto «C00017\\F-20931.pdf» (campo Adjuntos/Archivo) no existe.',
        '',
        'Qué hacer:',
        '- Corrija la orden y vuelva a enviarla: corrija el archivo que quedó en errores/ y use «proscai-mailer retry 0107_1», que lo mueve a la carpeta de órdenes, o muévalo usted (no lo copie): una copia que se quede en errores/ se enviaría otra vez con «proscai-mailer retry --failed». Si el ERP genera la orden de nuevo, borre la que quedó en errores/ por la misma razón.',
        '- Verifique que el archivo adjunto exista en la ruta donde se buscó, se pueda leer y esté dentro de la carpeta de adjuntos; después use «proscai-mailer retry 0107_1», que mueve la orden de errores/ a la carpeta de órdenes, o muévala usted (no la copie): una copia que se quede en errores/ se enviaría otra vez con «proscai-mailer retry --failed».',
        '',
      ].join('\n'),
    );
    expect(formatLocalTime(at)).toMatch(/^2026-11-27 09:30:15 \(UTC[+-]\d\d:\d\d\)$/);
  });

  it('names the absolute path looked at for a missing, unreadable or outside attachment, in both languages', () => {
    const at = process.platform === 'win32' ? 'C:\\envio\\adjuntos\\C00017\\F-20931.pdf' : '/srv/envio/adjuntos/C00017/F-20931.pdf';
    const opts = { field: 'Adjuntos/Archivo', value: 'C00017\\F-20931.pdf', path: at };
    const gone = new MailerError(ErrorCodes.ATTACHMENT_MISSING, 'x', opts);
    expect(describeError(gone, 'es')).toBe(`El adjunto «C00017\\F-20931.pdf» (campo Adjuntos/Archivo) no existe: se buscó en ${at}.`);
    expect(describeError(gone, 'en')).toBe(`The attachment "C00017\\F-20931.pdf" (field Adjuntos/Archivo) does not exist: looked for at ${at}.`);
    expect(describeError(new MailerError(ErrorCodes.ATTACHMENT_UNREADABLE, 'x', opts), 'es')).toBe(`El adjunto «C00017\\F-20931.pdf» (campo Adjuntos/Archivo) no se pudo leer: ${at}.`);
    expect(describeError(new MailerError(ErrorCodes.ATTACHMENT_OUTSIDE, 'x', opts), 'en')).toBe(
      `The attachment "C00017\\F-20931.pdf" (field Adjuntos/Archivo) leads to ${at}, outside the attachment and order folders; nothing was sent.`,
    );
    // Saved with the order's state or sent from a worker thread, the path stays.
    expect(describeError(MailerError.fromJSON(JSON.parse(JSON.stringify(gone.toJSON())) as SerializedError), 'es')).toContain(`se buscó en ${at}`);
  });

  it('in English, one reason, no tries', () => {
    const note = renderErrorNote({ fileName: 'f.XML', orderId: '9', errors: [new MailerError(ErrorCodes.SMTP_AUTH, 'x')], at }, 'en');
    expect(note).toContain('Reason:\n- The SMTP server refused the user name or password.');
    expect(note).toContain('What to do:\n- Check the SMTP user name and password');
    expect(note).toContain('"proscai-mailer retry 9"');
    expect(note).not.toContain('Tries');
    const order = renderErrorNote({ fileName: 'f.XML', orderId: '9', errors: [noRecipient], at }, 'en');
    expect(order).toContain('or move it yourself (do not copy it): a copy left in errores/ would be sent again by "proscai-mailer retry --failed"');
    expect(order).not.toMatch(/\bcopy the\b/);
  });
});

describe('renderNotification', () => {
  const report = (over: Partial<FailureReport> = {}): FailureReport => ({
    orderId: '0107_1',
    fileName: '_CFD_MAIL_REQ_0107_1.XML',
    company: 'ACME',
    error: noRecipient,
    reason: describeError(noRecipient, 'es'),
    to: [{ name: '', address: 'cobranza@acme.example' }],
    smtp: { host: '127.0.0.1', port: 2525, security: 'NINGUNA', user: 'u', password: 'never-print-me', timeoutMinutes: 2, rejectUnauthorized: true },
    ...over,
  });

  it('one failure: singular subject, the order, its company, reason and next step', () => {
    const { subject, text } = renderNotification([report()], 'es');
    expect(subject).toBe('proscai-mailer: 1 orden de envío falló');
    expect(text).toContain('1. _CFD_MAIL_REQ_0107_1.XML');
    expect(text).toContain('Empresa: ACME');
    expect(text).toContain('Motivo: El campo «Para» no tiene ningún destinatario (sin destinatario).');
    expect(text).toContain('Qué hacer: Corrija la orden');
    expect(text).not.toContain('never-print-me');
  });

  it('several failures: plural subject; partial deliveries list the refused recipients', () => {
    const partial = report({
      orderId: '2',
      fileName: '_CFD_MAIL_REQ_2.XML',
      company: undefined,
      error: rejected,
      reason: describeError(rejected, 'es'),
      rejectedRecipients: [{ address: 'nadie@cliente.mx', response: '550 5.1.1 User unknown' }],
    });
    const { subject, text } = renderNotification([report(), partial, report({ fileName: 'c.XML' })], 'es');
    expect(subject).toBe('proscai-mailer: 3 órdenes de envío fallaron');
    expect(text).toContain('2. _CFD_MAIL_REQ_2.XML');
    expect(text).toContain('Destinatarios rechazados:\n   - nadie@cliente.mx (550 5.1.1 User unknown)');
    expect(text).toContain('El mensaje llegó a los demás destinatarios');
    expect(text).toContain('3. c.XML');
    expect(text).not.toContain('never-print-me');
  });

  it('in English', () => {
    expect(renderNotification([report()], 'en').subject).toBe('proscai-mailer: 1 send order failed');
    const many = renderNotification([report(), report()], 'en');
    expect(many.subject).toBe('proscai-mailer: 2 send orders failed');
    expect(many.text).toContain('Company: ACME');
  });

  it('counts and mentions the failures dropped from a long-held notification', () => {
    const es = renderNotification([report(), report({ fileName: 'b.XML' })], 'es', { omitted: 40 });
    expect(es.subject).toBe('proscai-mailer: 42 órdenes de envío fallaron');
    expect(es.text).toContain('Además, 40 fallas anteriores no se detallan');
    expect(es.text).toContain('2. b.XML');
    const en = renderNotification([report()], 'en', { omitted: 1 });
    expect(en.subject).toBe('proscai-mailer: 2 send orders failed');
    expect(en.text).toContain('this send order:');
    expect(en.text).toContain('Besides these, 1 earlier failure is not listed');
    expect(renderNotification([report()], 'es').text).not.toContain('Además');
  });
});
