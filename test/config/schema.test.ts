import { describe, expect, it } from 'vitest';
import { validateFile } from '../../src/config/schema.js';
import { addressOf, addressesOf } from '../../src/order/addresses.js';

describe('addressesOf (addresses written outside an order)', () => {
  it('reads `,` and `;` separated lists with display names', () => {
    expect(addressesOf('Facturación ACME <facturas@acme.mx>; pagos@cliente.mx, "Pérez, Juan" <jp@x.mx>')).toEqual([
      { name: 'Facturación ACME', address: 'facturas@acme.mx' },
      { name: '', address: 'pagos@cliente.mx' },
      { name: 'Pérez, Juan', address: 'jp@x.mx' },
    ]);
  });
  it('refuses invalid entries, groups and line breaks', () => {
    for (const bad of ['', ' ; ', 'nadie', 'a@', '@b.mx', 'a@b.mx, x', 'grupo: a@b.mx;', 'a@b.mx\r\nBcc: c@d.mx', 'a b@c.mx']) {
      expect(addressesOf(bad), bad).toBeUndefined();
    }
  });
  it('addressOf wants exactly one', () => {
    expect(addressOf('Ventas <ventas@acme.example>')).toEqual({ name: 'Ventas', address: 'ventas@acme.example' });
    expect(addressOf('a@b.mx, c@d.mx')).toBeUndefined();
  });
});

describe('validateFile', () => {
  it('accepts the spec example as is', () => {
    const example = {
      dir: '/srv/envio_mails',
      attachments: '/srv/envio_mails',
      errorMail: 'sistemas@acme.mx',
      poll: 300,
      retry: [60, 120, 300, 600, 1800, 3600, 3600, 3600],
      afterSend: 'CONSERVAR',
      recycleDir: null,
      logSuccess: false,
      logDir: null,
      pathMap: { 'C:\\Trabajo\\proscai\\Envio_Mails\\': '/srv/envio_mails/' },
      companies: {
        ACME: {
          smtp: { host: 'smtp.acme.mx', port: 587, security: 'STARTTLS', user: 'facturas@acme.mx', passwordEnv: 'ACME_SMTP_PASSWORD', timeoutMinutes: 2 },
          from: 'Facturación ACME <facturas@acme.mx>',
          errorMail: 'sistemas@acme.mx',
          maxConnections: 2,
          perMinute: 30,
        },
      },
    };
    expect(validateFile(example)).toEqual(example);
  });
  it('accepts the mailer settings beyond the example', () => {
    const extra = {
      smtp: { host: 'relay', rejectUnauthorized: false },
      from: 'x@y.mx',
      maxConnections: 5,
      perMinute: null,
      language: 'EN',
      workDir: '/w',
      staleClaimSeconds: 60,
      notifyEverySeconds: 0,
      incompleteSettleSeconds: 300,
      logKeepDays: 90,
      logMaxBytes: 10_485_760,
      fsMode: 'ASYNC',
      keepEml: true,
    };
    expect(validateFile(extra)).toEqual({ ...extra, language: 'en', fsMode: 'async' });
  });
  it('refuses an incompleteSettleSeconds below one second or above an hour, naming the key', () => {
    for (const bad of [0, -5, 1.5, 3601, '60']) expect(() => validateFile({ incompleteSettleSeconds: bad }), String(bad)).toThrow(/^incompleteSettleSeconds: must be a whole number of seconds from 1 to 3600/);
    expect(validateFile({ incompleteSettleSeconds: 1 })).toEqual({ incompleteSettleSeconds: 1 });
  });
  it('refuses an fsMode that is not auto, sync or async, naming the key', () => {
    expect(() => validateFile({ fsMode: 'fast' })).toThrow(/fsMode/);
  });
});
