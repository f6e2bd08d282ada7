/** Small builders shared by the order tests. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseOrder } from '../../src/order/parse.js';
import type { Order, ParseResult } from '../../src/order/types.js';
import type { MailerError } from '../../src/errors.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/orders/', import.meta.url));

export function fixture(relative: string): Buffer {
  return readFileSync(FIXTURES + relative);
}

/** A UTF-8 order whose root holds `inner`, with a valid Para unless `inner` has its own. */
export function orderXml(inner: string, { withPara = !/<para/i.test(inner) } = {}): string {
  const para = withPara ? '<Para>pagos@cliente.example</Para>' : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<OrdenEnvio>${para}${inner}</OrdenEnvio>\n`;
}

export function parseText(text: string, fileName = '_CFD_MAIL_REQ_T1.XML'): ParseResult {
  return parseOrder(Buffer.from(text, 'utf8'), fileName);
}

/** Parses and asserts success, returning the order. */
export function parseOk(text: string | Buffer, fileName = '_CFD_MAIL_REQ_T1.XML'): Order {
  const result = typeof text === 'string' ? parseText(text, fileName) : parseOrder(text, fileName);
  if (!result.ok) expect.fail(`expected ok, got ${JSON.stringify(result.errors.map((e) => e.toJSON()))}`);
  return result.order;
}

/** Parses and asserts refusal, returning the errors. */
export function parseFail(text: string | Buffer, fileName = '_CFD_MAIL_REQ_T1.XML'): MailerError[] {
  const result = typeof text === 'string' ? parseText(text, fileName) : parseOrder(text, fileName);
  if (result.ok) expect.fail(`expected a refusal, got ${JSON.stringify(result.order)}`);
  return result.errors;
}

/** `code@field` of each error, for compact exact assertions. */
export function codes(errors: MailerError[]): string[] {
  return errors.map((e) => `${e.code}@${e.field ?? ''}`);
}
