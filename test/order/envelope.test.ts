/**
 * The HTML envelope (order/envelope.ts) and the company settings a resolved
 * order carries (order/resolve.ts): the envelope for HTML bodies only, the
 * DKIM key as nodemailer's per-message `dkim` option (order/compose.ts).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { buildConfig } from '../../src/config/load.js';
import { composeMessage } from '../../src/order/compose.js';
import { ENVELOPE_MARKER, envelopeContent, markerCount, placeInEnvelope, withEnvelope } from '../../src/order/envelope.js';
import { resolveOrder } from '../../src/order/resolve.js';
import { makeOrder, makeResolved, makeSmtp } from '../io/smtp/send-fixtures.js';

const FRAME = `<html><body><div class="marco">${ENVELOPE_MARKER}</div><p>Aviso de privacidad</p></body></html>`;

describe('the envelope marker', () => {
  it('is {{CUERPO}}, found whatever its case and inner spaces', () => {
    expect(ENVELOPE_MARKER).toBe('{{CUERPO}}');
    expect(markerCount('<p>{{ cuerpo }}</p>')).toBe(1);
    expect(markerCount('<p>{{Cuerpo}}</p>')).toBe(1);
    expect(markerCount('<p>{CUERPO}</p><p>CUERPO</p>')).toBe(0);
    expect(markerCount('{{CUERPO}} y {{CUERPO}}')).toBe(2);
  });
});

describe('placeInEnvelope', () => {
  it('puts a fragment at the marker, with "$" and marker-like text as written', () => {
    const body = '<p>Total: $1,160.00 — $& $1 {{CUERPO}} ñandú</p>';
    expect(placeInEnvelope(FRAME, body)).toBe(`<html><body><div class="marco">${body}</div><p>Aviso de privacidad</p></body></html>`);
  });

  it('takes a whole document\'s styles and body content, so the result is one document', () => {
    const doc = '<!DOCTYPE html><html><head><title>x</title><style>.t{color:red}</style></head><body class="b"><p class="t">Factura</p></body></html>';
    expect(envelopeContent(doc)).toBe('<style>.t{color:red}</style>\n<p class="t">Factura</p>');
    const out = placeInEnvelope(FRAME, doc);
    expect(out.match(/<html>/g)).toHaveLength(1);
    expect(out).toContain('<div class="marco"><style>.t{color:red}</style>\n<p class="t">Factura</p></div>');
  });

  it('withEnvelope frames an HTML body, keeps its own text alternative, and leaves plain text alone', () => {
    const html = makeResolved(makeOrder({ body: { kind: 'html', html: '<b>Pedido</b>', text: 'PEDIDO' } }), makeSmtp(25));
    const framed = withEnvelope(html, FRAME);
    expect(framed.order.body).toEqual({ kind: 'html', html: FRAME.replace(ENVELOPE_MARKER, '<b>Pedido</b>'), text: 'PEDIDO' });
    const text = makeResolved(makeOrder(), makeSmtp(25));
    expect(withEnvelope(text, FRAME)).toBe(text);
  });
});

describe('resolveOrder: the company\'s DKIM key and envelope', () => {
  const config = buildConfig({
    file: {
      companies: {
        acme: { smtp: { host: '127.0.0.1' }, htmlEnvelope: 'sobre.html', dkim: { domain: 'acme.example', selector: 's1', privateKeyEnv: 'K' } },
        OTRA: { smtp: { host: '127.0.0.1' } },
      },
      from: 'facturas@acme.example',
    },
    fileName: path.resolve('/etc/proscai/mailer.json'),
    env: { K: 'PEM-TEXT' },
    flags: { dir: '/srv/envio' },
  });

  it('signs the company\'s orders (matched ignoring case) and envelopes their HTML bodies', () => {
    const r = resolveOrder(makeOrder({ company: 'ACME', body: { kind: 'html', html: '<p>x</p>', text: 'x' } }), config);
    if (!r.ok) throw new Error('expected ok');
    expect(r.resolved.dkim).toEqual({ domainName: 'acme.example', keySelector: 's1', privateKey: 'PEM-TEXT' });
    expect(r.resolved.envelope).toEqual({ file: path.resolve('/etc/proscai/sobre.html'), key: 'companies.acme.htmlEnvelope' });
    expect(composeMessage(r.resolved, []).dkim).toEqual({ domainName: 'acme.example', keySelector: 's1', privateKey: 'PEM-TEXT' });
  });

  it('gives a plain-text order no envelope, and another company neither key nor envelope', () => {
    const text = resolveOrder(makeOrder({ company: 'Acme' }), config);
    if (!text.ok) throw new Error('expected ok');
    expect(text.resolved.envelope).toBeUndefined();
    expect(text.resolved.dkim).toBeDefined();
    const other = resolveOrder(makeOrder({ company: 'OTRA', body: { kind: 'html', html: '<p>x</p>', text: 'x' } }), config);
    if (!other.ok) throw new Error('expected ok');
    expect(other.resolved.dkim).toBeUndefined();
    expect(other.resolved.envelope).toBeUndefined();
    expect(composeMessage(other.resolved, []).dkim).toBeUndefined();
  });
});
