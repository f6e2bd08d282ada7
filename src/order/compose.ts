/**
 * Builds the nodemailer message for a resolved order (spec §2, The body and
 * Attachments; §3 "the repeat carries the same Message-ID"). Pure: no I/O
 * happens here; an attachment is sent from the bytes read when it was checked,
 * or (a large one) streamed by nodemailer from its path at send time.
 *
 * Guarantees:
 * - attachment bytes reach the recipient unchanged: every attachment is sent
 *   base64-encoded from its file, with no `encoding`/charset conversion, so a
 *   CFDI XML keeps its BOM and a PDF its binary bytes;
 * - the name the recipient sees is a bare, safe file name (file-name.ts),
 *   whatever `nombre` or the path said;
 * - an HTML body is sent as multipart/alternative: `html` plus the plain-text
 *   alternative the parser derived from it;
 * - the Message-ID is `resolved.messageId`, stable for an order id;
 * - a company with a DKIM key (`resolved.dkim`) gets nodemailer's own signer
 *   (its per-message `dkim` option): the signature covers the message as it
 *   leaves, attachments included.
 */
import { domainToASCII } from 'node:url';

import type { SendMailOptions } from 'nodemailer';

import type { Address } from './types.js';
import { safeFileName } from './file-name.js';
import type { ResolvedAttachment, ResolvedOrder } from '../ports.js';

/** Header that names the order a message came from (for tracing in the server's logs). */
export const ORDER_HEADER = 'X-Proscai-Order';

export interface ComposeOptions {
  /** Date header; nodemailer sets the current time when absent. */
  date?: Date;
}

/** The nodemailer message for a resolved order and its checked attachments. */
export function composeMessage(
  resolved: ResolvedOrder,
  attachments: readonly ResolvedAttachment[],
  options: ComposeOptions = {},
): SendMailOptions {
  const { order } = resolved;
  const message: SendMailOptions = {
    from: toNodemailer(resolved.from),
    to: order.to.map(toNodemailer),
    subject: order.subject,
    messageId: resolved.messageId,
    headers: { [ORDER_HEADER]: order.id },
    attachments: attachments.map((a) => ({
      // `false`: no name at all rather than one nodemailer would take from the path.
      filename: safeFileName(a.filename) ?? false,
      ...(a.content !== undefined ? { content: a.content } : { path: a.path }),
      contentType: a.contentType,
      contentTransferEncoding: 'base64',
      contentDisposition: 'attachment',
    })),
    // The only external content is our own attachment files; never fetch URLs.
    disableUrlAccess: true,
  };
  if (order.cc.length > 0) message.cc = order.cc.map(toNodemailer);
  if (order.bcc.length > 0) message.bcc = order.bcc.map(toNodemailer);
  if (order.replyTo.length > 0) message.replyTo = order.replyTo.map(toNodemailer);
  if (order.body.kind === 'html') {
    message.html = order.body.html;
    message.text = order.body.text;
  } else {
    message.text = order.body.text;
  }
  if (options.date !== undefined) message.date = options.date;
  if (resolved.dkim !== undefined) message.dkim = { ...resolved.dkim };
  return message;
}

/**
 * The Message-ID of an order's e-mail: `<proscai.<id>@<sender domain>>`.
 * Depends only on its arguments, so a repeat after a crash carries the same
 * one and receiving servers can recognise it. Characters outside the
 * dot-atom set are replaced by `_` (order ids never contain them anyway);
 * an internationalised domain is written in punycode.
 */
export function messageIdFor(orderId: string, fromAddress: string): string {
  const local = orderId.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+|\.+$/g, '') || 'order';
  return `<proscai.${local}@${domainOf(fromAddress)}>`;
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  const raw = at >= 0 ? address.slice(at + 1).trim().replace(/>$/, '') : '';
  const ascii = raw === '' ? '' : domainToASCII(raw.toLowerCase());
  const safe = ascii.replace(/[^a-z0-9.-]/g, '').replace(/^\.+|\.+$/g, '');
  return safe || 'proscai-mailer.invalid';
}

/**
 * The addresses of `message` (sender, recipients, reply-to) whose local part
 * is not ASCII, in order and without repeats. Such an address can only be
 * sent with the server's SMTPUTF8 extension (RFC 6531): unlike a domain,
 * which nodemailer writes in its ASCII (punycode) form, a local part has no
 * ASCII form, and nodemailer would otherwise send it raw in MAIL FROM,
 * RCPT TO and the headers.
 */
export function addressesNeedingSmtpUtf8(message: Pick<SendMailOptions, 'from' | 'to' | 'cc' | 'bcc' | 'replyTo'>): string[] {
  const found = new Set<string>();
  const items = [message.from, message.to, message.cc, message.bcc, message.replyTo].flat(2) as unknown[];
  for (const item of items) {
    const address = bareAddress(item);
    const at = address.lastIndexOf('@');
    if (/[^\x00-\x7F]/.test(at >= 0 ? address.slice(0, at) : address)) found.add(address);
  }
  return [...found];
}

/** `a@b`, `Name <a@b>` or `{ address: 'a@b' }` → `a@b`; anything else → ''. */
function bareAddress(item: unknown): string {
  if (typeof item === 'string') return (/<([^<>]*)>\s*$/.exec(item)?.[1] ?? item).trim();
  const address = typeof item === 'object' && item !== null ? (item as { address?: unknown }).address : undefined;
  return typeof address === 'string' ? address.trim() : '';
}

function toNodemailer(address: Address): string | { name: string; address: string } {
  return address.name === '' ? address.address : { name: address.name, address: address.address };
}
