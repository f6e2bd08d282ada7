/**
 * Builders for the send-path tests (attachments, compose, smtp, notifier):
 * a valid Order / ResolvedOrder with every field filled, overridable.
 */
import { messageIdFor } from '../../../src/order/compose.js';
import type { Order } from '../../../src/order/types.js';
import type { ResolvedOrder, ResolvedSmtp } from '../../../src/ports.js';

export function makeOrder(overrides: Partial<Order> = {}): Order {
  const id = overrides.id ?? '0042_20261127093015';
  return {
    id,
    fileName: `_CFD_MAIL_REQ_${id}.XML`,
    company: 'ACME',
    smtp: {},
    to: [{ name: 'Pagos', address: 'pagos@cliente.example' }],
    cc: [],
    bcc: [],
    replyTo: [],
    subject: 'Factura A-1234',
    body: { kind: 'text', text: 'Estimado cliente: adjuntamos su CFDI.' },
    attachments: [],
    errorMail: [],
    unknownElements: [],
    encoding: 'utf-8',
    ...overrides,
  };
}

export function makeSmtp(port: number, overrides: Partial<ResolvedSmtp> = {}): ResolvedSmtp {
  return {
    host: '127.0.0.1',
    port,
    security: 'NINGUNA',
    timeoutMinutes: 2,
    rejectUnauthorized: true,
    ...overrides,
  };
}

export function makeResolved(order: Order, smtp: ResolvedSmtp, overrides: Partial<ResolvedOrder> = {}): ResolvedOrder {
  const from = overrides.from ?? { name: 'Facturación ACME', address: 'facturas@acme.example' };
  return {
    order,
    company: 'ACME',
    smtp,
    from,
    afterSend: 'CONSERVAR',
    logSuccess: false,
    errorMail: [],
    messageId: messageIdFor(order.id, from.address),
    ...overrides,
  };
}
