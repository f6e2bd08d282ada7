/**
 * The typed form of a send order (OE), as `parseOrder` produces it from the
 * bytes of `_CFD_MAIL_REQ_<id>.XML`. Fields the order leaves out stay
 * `undefined` here; `resolveOrder` fills them from the configuration.
 */
import type { MailerError } from '../errors.js';

export type Security = 'NINGUNA' | 'STARTTLS' | 'SSL';
export type AfterSend = 'CONSERVAR' | 'RECICLAR' | 'ELIMINAR';

export interface Address {
  /** Display name, '' when none. */
  name: string;
  /** The bare address, `local@domain`. */
  address: string;
}

export interface OrderSmtp {
  host?: string;
  port?: number;
  security?: Security;
  user?: string;
  password?: string;
  /** Minutes allowed for this one message, 1 to 10. */
  timeoutMinutes?: number;
}

export interface OrderAttachment {
  /** The path exactly as written in the order (either separator, relative or absolute). */
  path: string;
  /** The `nombre` attribute: the file name the recipient sees. */
  filename?: string;
}

export type OrderBody =
  | { kind: 'text'; text: string }
  /** `html` is the document after the leading word HTML; `text` is derived from it. */
  | { kind: 'html'; html: string; text: string };

export interface Order {
  /** `<id>` of `_CFD_MAIL_REQ_<id>.XML`. */
  id: string;
  /** The order file's name, as found in the folder. */
  fileName: string;
  company?: string;
  smtp: OrderSmtp;
  from?: Address;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  replyTo: Address[];
  subject: string;
  body: OrderBody;
  attachments: OrderAttachment[];
  afterSend?: AfterSend;
  logSuccess?: boolean;
  errorMail: Address[];
  /** Element paths this page does not name (logged once per order). */
  unknownElements: string[];
  /** The encoding the bytes were decoded from (e.g. `utf-8`, `windows-1252`, `utf-16le`). */
  encoding: string;
}

/**
 * What could be read of an order that was refused: enough to route the failure
 * notification (company, error address, SMTP server, sender) when those fields
 * were themselves valid.
 */
export interface PartialOrder {
  id: string;
  fileName: string;
  company?: string;
  smtp?: OrderSmtp;
  from?: Address;
  errorMail?: Address[];
}

export type ParseResult =
  | { ok: true; order: Order; warnings: string[] }
  /** `errors` lists every reason found (at least one); each names the field. */
  | { ok: false; errors: MailerError[]; partial: PartialOrder };

/** `_CFD_MAIL_REQ_<id>.XML`, prefix and extension case-insensitive; id of letters, digits, `_`, `-`, `.`. */
export const ORDER_FILE_PATTERN = /^_CFD_MAIL_REQ_([A-Za-z0-9_.-]+)\.XML$/i;

/** The order id of a file name, or undefined when the name is not an order's. */
export function orderIdOf(fileName: string): string | undefined {
  const match = ORDER_FILE_PATTERN.exec(fileName);
  return match ? match[1] : undefined;
}
