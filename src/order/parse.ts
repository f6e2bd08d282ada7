/**
 * `parseOrder`: the bytes of `_CFD_MAIL_REQ_<id>.XML` → a typed Order, or every
 * reason it is refused. Pure: no file system, no clock, no configuration;
 * defaults that depend on the configuration are left `undefined` for
 * `resolveOrder` to fill.
 *
 * Stages: decode (decode.ts) → XML tree (xml.ts) → known elements by path
 * (tree.ts) → each field's value (fields.ts, addresses.ts, body.ts). File-level
 * failures stop at their stage; field failures are all collected, so the
 * operator fixes an order in one go.
 *
 * Guarantees: never throws. A refusal carries `partial`: whatever was valid of
 * company, SMTP, sender and error address, so the failure notification can be
 * routed even when, say, `Para` is empty.
 */
import { ErrorCodes, MailerError } from '../errors.js';
import { orderIdOf } from './types.js';
import type { Address, Order, OrderAttachment, OrderSmtp, ParseResult, PartialOrder } from './types.js';
import { decodeOrderBytes } from './decode.js';
import { MAX_ATTACHMENTS, attributeOf, collectTree, nameKey } from './tree.js';
import type { NameTally, OrderTree } from './tree.js';
import { parseAddress, parseAddressList } from './addresses.js';
import { parseBody } from './body.js';
import * as F from './fields.js';
import { clip } from './fields.js';

/** The root element's name, matched case-insensitively. */
export const ROOT_ELEMENT = 'OrdenEnvio';

/** Parses one order; see the module comment. `fileName` is the order file's base name. */
export function parseOrder(bytes: Buffer, fileName: string): ParseResult {
  const partial = partialOf(fileName);
  try {
    return parseChecked(bytes, partial);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return refuse([new MailerError(ErrorCodes.INTERNAL, `Unexpected failure while parsing the order: ${message}`, { cause: error })], partial);
  }
}

/** What is known of an order before reading it: its id (the `<id>` of an order file name; for any other name, the name without its extension) and file name. */
export function partialOf(fileName: string): PartialOrder {
  return { id: orderIdOf(fileName) ?? fileName.replace(/\.[^.]*$/, ''), fileName };
}

function refuse(errors: MailerError[], partial: PartialOrder): ParseResult {
  return { ok: false, errors, partial };
}

function parseChecked(bytes: Buffer, partial: PartialOrder): ParseResult {
  const decoded = decodeOrderBytes(bytes);
  if (decoded instanceof MailerError) return refuse([decoded], partial);
  const read = collectTree(decoded.text);
  if (!read.ok) return refuse([read.error], partial);
  const { tree } = read;
  if (nameKey(tree.rootName) !== nameKey(ROOT_ELEMENT)) {
    const error = new MailerError(ErrorCodes.ORDER_ROOT, `The root element is <${clip(tree.rootName)}>, not <${ROOT_ELEMENT}>`, { value: tree.rootName });
    return refuse([error], partial);
  }
  const fields = readFields(tree);
  Object.assign(partial, fields.partial);
  if (fields.errors.length > 0) return refuse(fields.errors, partial);
  const warnings = [...(decoded.warning ? [decoded.warning] : []), ...tree.warnings, ...firstWarnings(fields.warnings)];
  if (tree.unknownAttributes.count > 0) warnings.push(`unknown attributes ignored: ${summarizeNames(tree.unknownAttributes)}`);
  if (tree.unknown.count > 0) warnings.push(`unknown elements ignored: ${summarizeNames(tree.unknown)}`);
  const order: Order = { id: partial.id, fileName: partial.fileName, ...fields.partial, ...fields.order, unknownElements: tree.unknown.first, encoding: decoded.encoding };
  return { ok: true, order, warnings };
}

/** Names listed in a warning; the rest are counted (an order may hold millions, and the warning is one log line). */
export const MAX_LISTED_NAMES = 20;

/**
 * The names of a tally for a warning: all of them when there are at most
 * MAX_LISTED_NAMES, else the first MAX_LISTED_NAMES distinct ones (each cut
 * to 100 characters) and the counts, so the line stays short however many
 * or however long the names are.
 */
export function summarizeNames(names: NameTally): string {
  if (names.count <= MAX_LISTED_NAMES) return names.first.map((n) => clip(n)).join(', ');
  const listed = names.firstDistinct(MAX_LISTED_NAMES).map((n) => clip(n));
  const more = names.distinct > listed.length || names.distinctOverflow ? ', …' : '';
  const distinct = names.distinctOverflow ? `more than ${names.distinct}` : String(names.distinct);
  return `${listed.join(', ')}${more} (${names.count} in all, ${distinct} distinct)`;
}

/** The first MAX_LISTED_NAMES warnings and, beyond them, one line counting the rest. */
function firstWarnings(warnings: string[]): string[] {
  if (warnings.length <= MAX_LISTED_NAMES) return warnings;
  return [...warnings.slice(0, MAX_LISTED_NAMES), `… and ${warnings.length - MAX_LISTED_NAMES} more warnings like these`];
}

type OrderFields = Omit<Order, 'id' | 'fileName' | 'company' | 'smtp' | 'from' | 'errorMail' | 'unknownElements' | 'encoding'>;
type PartialFields = Required<Pick<PartialOrder, 'smtp' | 'errorMail'>> & Pick<PartialOrder, 'company' | 'from'>;

/** Reads every field, collecting all errors (tree errors first, then in element order of the spec table). */
function readFields(tree: OrderTree): { order: OrderFields; partial: PartialFields; errors: MailerError[]; warnings: string[] } {
  const errors = [...tree.errors];
  const warnings: string[] = [];
  const take = <T>(result: F.FieldResult<T>): T | undefined => {
    if (result instanceof MailerError) {
      errors.push(result);
      return undefined;
    }
    return result;
  };
  const text = (path: string): string | undefined => tree.single.get(path)?.text.trim();
  const list = (path: string): Address[] => {
    const value = text(path);
    if (!value) return [];
    const parsed = parseAddressList(value, path);
    errors.push(...parsed.errors);
    return parsed.addresses;
  };

  const company = take(F.readHeaderText(text('Empresa'), 'Empresa'));
  const smtp = readSmtp(text, take);
  const fromText = text('Remitente');
  const from = fromText ? take(parseAddress(fromText, 'Remitente')) : undefined;
  const to = list('Para');
  if (to.length === 0 && !errors.some((e) => e.field === 'Para')) {
    errors.push(new MailerError(ErrorCodes.ORDER_NO_RECIPIENT, 'The order has no recipient in Para (sin destinatario)', { field: 'Para', value: text('Para') ?? '' }));
  }
  const cc = list('CC');
  const bcc = list('CCO');
  const replyTo = list('ResponderA');
  const subject = take(F.readSubject(text('Asunto'))) ?? '';
  const body = parseBody(tree.single.get('Cuerpo')?.text ?? '');
  const attachments = readAttachments(tree, errors, warnings);
  const afterSend = take(F.readKeyword(text('DespuesDeEnviar'), 'DespuesDeEnviar', F.AFTER_SEND_KEYWORDS));
  const logSuccess = take(F.readBoolean(text('RegistrarEnvios'), 'RegistrarEnvios'));
  const errorMail = list('CorreoErrores');

  return {
    order: {
      to, cc, bcc, replyTo, subject, body, attachments,
      ...(afterSend !== undefined && { afterSend }),
      ...(logSuccess !== undefined && { logSuccess }),
    },
    partial: { ...(company !== undefined && { company }), smtp, ...(from !== undefined && { from }), errorMail },
    errors,
    warnings,
  };
}

function readSmtp(text: (path: string) => string | undefined, take: <T>(r: F.FieldResult<T>) => T | undefined): OrderSmtp {
  const smtp: OrderSmtp = {
    host: take(F.readHost(text('SMTP/Servidor'))),
    port: take(F.readInteger(text('SMTP/Puerto'), 'SMTP/Puerto', 1, 65535)),
    security: take(F.readKeyword(text('SMTP/Seguridad'), 'SMTP/Seguridad', F.SECURITY_KEYWORDS)),
    user: take(F.readHeaderText(text('SMTP/Usuario'), 'SMTP/Usuario')),
    password: F.readPassword(text('SMTP/Contrasena')),
    timeoutMinutes: take(F.readInteger(text('SMTP/TiempoEspera'), 'SMTP/TiempoEspera', 1, 10)),
  };
  // Only the keys the order sets, so "absent" stays distinguishable from "set".
  return Object.fromEntries(Object.entries(smtp).filter(([, v]) => v !== undefined)) as OrderSmtp;
}

function readAttachments(tree: OrderTree, errors: MailerError[], warnings: string[]): OrderAttachment[] {
  const attachments: OrderAttachment[] = [];
  if (tree.attachments.length > MAX_ATTACHMENTS) {
    errors.push(
      new MailerError(ErrorCodes.ORDER_FIELD_INVALID, `Adjuntos: more than ${MAX_ATTACHMENTS} files`, {
        field: 'Adjuntos/Archivo',
        value: `> ${MAX_ATTACHMENTS}`,
      }),
    );
    return attachments;
  }
  for (const element of tree.attachments) {
    const read = F.readAttachment(element.text.trim(), attributeOf(element, 'nombre'));
    errors.push(...read.errors);
    if (read.warning !== undefined) warnings.push(read.warning);
    if (read.attachment) attachments.push(read.attachment);
  }
  return attachments;
}
