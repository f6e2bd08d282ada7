import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { ErrorCodes } from '../../src/errors.js';
import { findProfile, messageIdFor, resolveOrder, resolvePartial } from '../../src/order/resolve.js';
import type { Order } from '../../src/order/types.js';

function config(file: Record<string, unknown> = {}, env: Record<string, string> = {}): Config {
  return buildConfig({ file: { dir: '/srv/envio', ...file }, env, flags: {}, cwd: '/' });
}

function order(over: Partial<Order> = {}): Order {
  return {
    id: '0042_20261127093015',
    fileName: '_CFD_MAIL_REQ_0042_20261127093015.XML',
    smtp: {},
    to: [{ name: '', address: 'pagos@cliente.mx' }],
    cc: [],
    bcc: [],
    replyTo: [],
    subject: 'Factura',
    body: { kind: 'text', text: 'hola' },
    attachments: [],
    errorMail: [],
    unknownElements: [],
    encoding: 'utf-8',
    ...over,
  };
}

const acmeProfile = {
  smtp: { host: 'smtp.acme.mx', port: 2525, security: 'NINGUNA', user: 'facturas@acme.mx', password: 'profile-pw', timeoutMinutes: 5, rejectUnauthorized: false },
  from: 'Facturación ACME <facturas@acme.mx>',
  errorMail: 'sistemas@acme.mx; otro@acme.mx',
};

function ok(result: ReturnType<typeof resolveOrder>) {
  if (!result.ok) throw new Error(`expected ok, got ${result.errors.map((e) => e.message).join('; ')}`);
  return result.resolved;
}

describe('resolveOrder: an order that says everything', () => {
  it('keeps the order\'s values and applies nothing else', () => {
    const o = order({
      company: 'acme',
      smtp: { host: 'mail.orden.mx', port: 25, security: 'STARTTLS', user: 'u@orden.mx', password: 'order-pw', timeoutMinutes: 1 },
      from: { name: 'Orden', address: 'yo@orden.mx' },
      afterSend: 'ELIMINAR',
      logSuccess: true,
      errorMail: [{ name: '', address: 'err@orden.mx' }],
    });
    const r = ok(resolveOrder(o, config({ companies: { ACME: acmeProfile }, afterSend: 'RECICLAR' })));
    expect(r).toEqual({
      order: o,
      company: 'ACME',
      smtp: { host: 'mail.orden.mx', port: 25, security: 'STARTTLS', user: 'u@orden.mx', password: 'order-pw', timeoutMinutes: 1, rejectUnauthorized: false },
      from: { name: 'Orden', address: 'yo@orden.mx' },
      afterSend: 'ELIMINAR',
      logSuccess: true,
      errorMail: [{ name: '', address: 'err@orden.mx' }],
      messageId: '<proscai.0042_20261127093015@orden.mx>',
    });
  });
});

describe('resolveOrder: company profile fills the gaps', () => {
  it('matches Empresa ignoring case and spaces', () => {
    const c = config({ companies: { Acme: acmeProfile } });
    expect(findProfile(c, ' ACME ')).toBe(c.companies.Acme);
    expect(findProfile(c, 'other')).toBeUndefined();
    expect(findProfile(c, undefined)).toBeUndefined();
  });

  it('takes host, port, security, credentials, timeout, sender and error address from the profile', () => {
    const r = ok(resolveOrder(order({ company: 'acme' }), config({ companies: { ACME: acmeProfile }, errorMail: 'top@x.mx' })));
    expect(r.smtp).toEqual({
      host: 'smtp.acme.mx',
      port: 2525,
      security: 'NINGUNA',
      user: 'facturas@acme.mx',
      password: 'profile-pw',
      timeoutMinutes: 5,
      rejectUnauthorized: false,
    });
    expect(r.from).toEqual({ name: 'Facturación ACME', address: 'facturas@acme.mx' });
    expect(r.errorMail).toEqual([
      { name: '', address: 'sistemas@acme.mx' },
      { name: '', address: 'otro@acme.mx' },
    ]);
    expect(r.company).toBe('ACME');
    expect(r.afterSend).toBe('CONSERVAR');
    expect(r.logSuccess).toBe(false);
  });

  it('field by field: the order\'s port wins, the rest comes from the profile', () => {
    const r = ok(resolveOrder(order({ company: 'ACME', smtp: { port: 587 } }), config({ companies: { ACME: acmeProfile } })));
    expect(r.smtp).toMatchObject({ host: 'smtp.acme.mx', port: 587, security: 'NINGUNA', user: 'facturas@acme.mx' });
  });

  it('user and password come together from one source', () => {
    const r = ok(resolveOrder(order({ company: 'ACME', smtp: { user: 'otro@acme.mx' } }), config({ companies: { ACME: acmeProfile } })));
    expect(r.smtp.user).toBe('otro@acme.mx');
    expect(r.smtp.password).toBeUndefined();
  });

  it('the profile\'s password never goes to a host the order names', () => {
    const r = ok(resolveOrder(order({ company: 'ACME', smtp: { host: 'evil.example' } }), config({ companies: { ACME: acmeProfile } })));
    expect(r.smtp.host).toBe('evil.example');
    expect(r.smtp.user).toBeUndefined();
    expect(r.smtp.password).toBeUndefined();
    const same = ok(resolveOrder(order({ company: 'ACME', smtp: { host: 'SMTP.ACME.MX' } }), config({ companies: { ACME: acmeProfile } })));
    expect(same.smtp.password).toBe('profile-pw');
  });
});

describe('resolveOrder: top level and defaults', () => {
  it('uses config.smtp, config.from and config.errorMail last', () => {
    const c = config({ smtp: { host: 'relay.local', user: 'relay', password: 'relay-pw' }, from: 'Robot <robot@acme.mx>', errorMail: 'ops@acme.mx', logSuccess: true, afterSend: 'RECICLAR' });
    const r = ok(resolveOrder(order(), c));
    expect(r.smtp).toEqual({ host: 'relay.local', port: 587, security: undefined, user: 'relay', password: 'relay-pw', timeoutMinutes: 2, rejectUnauthorized: true });
    expect(r.from).toEqual({ name: 'Robot', address: 'robot@acme.mx' });
    expect(r.errorMail).toEqual([{ name: '', address: 'ops@acme.mx' }]);
    expect(r.afterSend).toBe('RECICLAR');
    expect(r.logSuccess).toBe(true);
    expect(r.company).toBe('RELAY');
  });

  it('port 465 when SSL; SSL when port 465; 587 and opportunistic otherwise', () => {
    const c = config();
    const base = { from: { name: '', address: 'a@b.mx' } };
    expect(ok(resolveOrder(order({ ...base, smtp: { host: 'h', security: 'SSL' } }), c)).smtp).toMatchObject({ port: 465, security: 'SSL' });
    expect(ok(resolveOrder(order({ ...base, smtp: { host: 'h', port: 465 } }), c)).smtp).toMatchObject({ port: 465, security: 'SSL' });
    expect(ok(resolveOrder(order({ ...base, smtp: { host: 'h' } }), c)).smtp).toMatchObject({ port: 587, security: undefined });
    expect(ok(resolveOrder(order({ ...base, smtp: { host: 'h', security: 'STARTTLS' } }), c)).smtp).toMatchObject({ port: 587, security: 'STARTTLS' });
    expect(ok(resolveOrder(order({ ...base, smtp: { host: 'h', port: 465, security: 'NINGUNA' } }), c)).smtp).toMatchObject({ port: 465, security: 'NINGUNA' });
  });

  it('lane key: Empresa, else the SMTP user, else the sender; trimmed and upper-cased', () => {
    const from = { name: '', address: 'Ventas@Acme.example' };
    expect(ok(resolveOrder(order({ company: ' Distribuidora del Norte ', from, smtp: { host: 'h' } }), config())).company).toBe('DISTRIBUIDORA DEL NORTE');
    expect(ok(resolveOrder(order({ from, smtp: { host: 'h', user: 'u@x.mx' } }), config())).company).toBe('U@X.MX');
    expect(ok(resolveOrder(order({ from, smtp: { host: 'h' } }), config())).company).toBe('VENTAS@ACME.EXAMPLE');
  });
});

describe('resolveOrder: what nobody gives', () => {
  it('reports both a missing server and a missing sender', () => {
    const r = resolveOrder(order(), config());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.code, e.field])).toEqual([
      [ErrorCodes.ORDER_FIELD_MISSING, 'SMTP/Servidor'],
      [ErrorCodes.ORDER_FIELD_MISSING, 'Remitente'],
    ]);
  });

  it('a profile for another company does not help', () => {
    const r = resolveOrder(order({ company: 'OTRA' }), config({ companies: { ACME: acmeProfile } }));
    expect(r.ok).toBe(false);
  });
});

describe('messageIdFor (one implementation, in compose.ts, re-exported by resolve.ts)', () => {
  it('is the same function', async () => {
    const compose = await import('../../src/order/compose.js');
    expect(messageIdFor).toBe(compose.messageIdFor);
  });
  it('is stable and derived from the id and the sender\'s domain', () => {
    expect(messageIdFor('0042_2026', 'facturas@DNorte.example')).toBe('<proscai.0042_2026@dnorte.example>');
    expect(messageIdFor('0042_2026', 'facturas@dnorte.example')).toBe(messageIdFor('0042_2026', 'otro@dnorte.example'));
  });
  it('never carries spaces, brackets or line breaks', () => {
    expect(messageIdFor('a b<c>\r\n', 'x@[bad domain]')).toBe('<proscai.a_b_c___@proscai-mailer.invalid>');
    expect(messageIdFor('7', 'ventas@Año.mx')).toBe('<proscai.7@xn--ao-zja.mx>');
    expect(messageIdFor('', 'nodomain')).toBe('<proscai.order@proscai-mailer.invalid>');
  });
});

describe('resolvePartial', () => {
  const c = config({ companies: { ACME: acmeProfile }, errorMail: 'top@x.mx', from: 'robot@x.mx' });

  it('routes by what the partial order gives first', () => {
    const r = resolvePartial(
      { id: '1', fileName: 'f', company: 'acme', errorMail: [{ name: '', address: 'own@x.mx' }], from: { name: '', address: 'me@x.mx' } },
      c,
    );
    expect(r.company).toBe('ACME');
    expect(r.errorMail).toEqual([{ name: '', address: 'own@x.mx' }]);
    expect(r.from).toEqual({ name: '', address: 'me@x.mx' });
    expect(r.smtp).toMatchObject({ host: 'smtp.acme.mx', password: 'profile-pw' });
  });

  it('falls back to the profile, then to the top level', () => {
    expect(resolvePartial({ id: '1', fileName: 'f', company: 'ACME' }, c).errorMail).toEqual([
      { name: '', address: 'sistemas@acme.mx' },
      { name: '', address: 'otro@acme.mx' },
    ]);
    const none = resolvePartial({ id: '1', fileName: 'f' }, c);
    expect(none).toEqual({ company: 'ROBOT@X.MX', errorMail: [{ name: '', address: 'top@x.mx' }], from: { name: '', address: 'robot@x.mx' } });
    expect(resolvePartial({ id: '1', fileName: 'f' }, config()).errorMail).toEqual([]);
  });

  it('uses the order\'s own SMTP block when it could be read', () => {
    const r = resolvePartial({ id: '1', fileName: 'f', smtp: { host: '127.0.0.1', port: 2525, security: 'NINGUNA' } }, config());
    expect(r.smtp).toEqual({ host: '127.0.0.1', port: 2525, security: 'NINGUNA', timeoutMinutes: 2, rejectUnauthorized: true });
    expect(r.from).toBeUndefined();
    expect(r.company).toBe('');
  });
});
