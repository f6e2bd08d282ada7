/**
 * `proscai-mailer check <file|id>`: validates one order exactly as the mailer
 * would (parse, resolve against the configuration, check every attachment)
 * and shows what would be sent, WITHOUT sending anything or touching the
 * order folder: no SMTP connection, no claim, no log line.
 *
 * Guarantees:
 * - every reason an order would fail for is listed at once: all parse errors;
 *   when it parses, every missing setting AND every bad attachment (each
 *   attachment is checked on its own, not only the first bad one);
 * - the SMTP password and the DKIM key are never printed, in text or JSON
 *   (the signature is shown by its `d=` and `s=`);
 * - a company's HTML envelope is read as at send time, so a missing one is
 *   listed among the problems;
 * - an order named by its id (or a bare file name that is not a file here) is
 *   looked for where the mailer keeps orders (`locateOrder`: order folder,
 *   claimed, deferred, `errores/`, `enviados/`); the report says where it was
 *   found, and that nothing was found when so.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config, Language } from '../config/types.js';
import { isMailerError, type MailerError } from '../errors.js';
import { describeError, formatLocalTime } from '../text/errors.js';
import { resolveAttachments } from '../io/store/attachments.js';
import { readFileBytes } from '../io/store/inspect.js';
import { readEnvelope } from '../io/host/envelope.js';
import { incompleteError } from '../order/complete.js';
import { parseOrder } from '../order/parse.js';
import { resolveOrder } from '../order/resolve.js';
import type { Address, Order, Security } from '../order/types.js';
import type { ResolvedAttachment } from '../ports.js';
import { locateOrder, type FoundOrder, type OrderPlace } from './retry.js';

export interface CheckProblem {
  code: string;
  field?: string;
  value?: string;
  /** The absolute path looked at (an attachment). */
  path?: string;
  /** The reason in plain words, in the operator's language. */
  text: string;
}

/** What would be sent (no password anywhere). */
export interface CheckedOrder {
  company: string;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string[];
  subject: string;
  body: 'text' | 'html';
  /** `security` null: STARTTLS when the server offers it (the spec's default). */
  smtp: { host: string; port: number; security: Security | null; user?: string };
  attachments: ResolvedAttachment[];
  afterSend: string;
  logSuccess: boolean;
  errorMail: string[];
  messageId: string;
  /** The DKIM signature the message would carry (`d=`, `s=`; never the key), or null when the company signs nothing. */
  dkim: { domain: string; selector: string } | null;
  /** The company's HTML envelope the body would be placed in (checked: it exists and has its marker). */
  envelope?: string;
}

export interface CheckReport {
  file: string;
  orderId: string;
  ok: boolean;
  problems: CheckProblem[];
  warnings: string[];
  /** Present when the order is valid. */
  order?: CheckedOrder;
  /** When the order was named by its id: where the file checked was found, and its other copies (say, one in `errores/` and one in `enviados/`). */
  found?: FoundOrder & { others: FoundOrder[] };
}

/** `check` named an order that is nowhere the mailer keeps orders. */
export interface CheckNotFound {
  query: string;
  dir: string;
  notFound: true;
}

/** The order folder `check` uses when none is configured: the file's own, or the one above `errores/`/`enviados/`. */
export function orderDirOf(file: string): string {
  const folder = path.dirname(path.resolve(file));
  return /^(errores|enviados)$/i.test(path.basename(folder)) ? path.dirname(folder) : folder;
}

const addressText = (a: Address): string => (a.name ? `${a.name} <${a.address}>` : a.address);

function problemOf(error: MailerError, lang: Language): CheckProblem {
  return {
    code: error.code,
    ...(error.field !== undefined && { field: error.field }),
    ...(error.value !== undefined && { value: error.value }),
    ...(error.path !== undefined && { path: error.path }),
    text: describeError(error, lang),
  };
}

/** Each attachment checked on its own, so every bad one is reported. */
async function checkAttachments(order: Order, config: Config): Promise<{ ok: ResolvedAttachment[]; errors: MailerError[] }> {
  const opts = { attachmentsDir: config.attachments, orderDir: config.dir, pathMap: config.pathMap };
  const ok: ResolvedAttachment[] = [];
  const errors: MailerError[] = [];
  for (const attachment of order.attachments) {
    try {
      ok.push(...(await resolveAttachments({ ...order, attachments: [attachment] }, opts)));
    } catch (error) {
      if (!isMailerError(error)) throw error;
      errors.push(error as MailerError);
    }
  }
  return { ok, errors };
}

/** Parses, resolves and checks the attachments of the order in `file`; sends nothing. */
export async function checkOrder(config: Config, file: string): Promise<CheckReport> {
  const fileName = path.basename(file);
  const lang = config.language;
  let bytes: Buffer;
  try {
    bytes = await readFileBytes(file);
  } catch (error) {
    if (!isMailerError(error)) throw error;
    return { file, orderId: fileName, ok: false, problems: [problemOf(error as MailerError, lang)], warnings: [] };
  }
  const parsed = parseOrder(bytes, fileName);
  if (!parsed.ok) {
    // As the mailer says it (actors/order-actors.ts): a document cut short is incomplete, not malformed.
    const incomplete = incompleteError(bytes, parsed.errors);
    const errors = incomplete ? [incomplete] : parsed.errors;
    return { file, orderId: parsed.partial.id, ok: false, problems: errors.map((e) => problemOf(e, lang)), warnings: [] };
  }
  const order = parsed.order;
  const resolved = resolveOrder(order, config);
  const attachments = await checkAttachments(order, config);
  const envelope = resolved.ok ? resolved.resolved.envelope : undefined;
  const envelopeErrors = envelope === undefined ? [] : await readEnvelope(envelope.file, envelope.key).then(() => [], (error: unknown) => {
    if (!isMailerError(error)) throw error;
    return [error as MailerError];
  });
  const errors = [...(resolved.ok ? [] : resolved.errors), ...attachments.errors, ...envelopeErrors];
  const base = { file, orderId: order.id, warnings: parsed.warnings };
  if (!resolved.ok || errors.length > 0) return { ...base, ok: false, problems: errors.map((e) => problemOf(e, lang)) };
  const r = resolved.resolved;
  return {
    ...base,
    ok: true,
    problems: [],
    order: {
      company: r.company,
      from: addressText(r.from),
      to: order.to.map(addressText),
      cc: order.cc.map(addressText),
      bcc: order.bcc.map(addressText),
      replyTo: order.replyTo.map(addressText),
      subject: order.subject,
      body: order.body.kind,
      smtp: { host: r.smtp.host, port: r.smtp.port, security: r.smtp.security ?? null, ...(r.smtp.user !== undefined && { user: r.smtp.user }) },
      attachments: attachments.ok,
      afterSend: r.afterSend,
      logSuccess: r.logSuccess,
      errorMail: r.errorMail.map(addressText),
      messageId: r.messageId,
      dkim: r.dkim === undefined ? null : { domain: r.dkim.domainName, selector: r.dkim.keySelector },
      ...(r.envelope !== undefined && { envelope: r.envelope.file }),
    },
  };
}

/** Whether `ref` names a file to check as it is: one that exists, or a path (it has a folder in it; a missing one is reported as unreadable). */
export async function isFileRef(ref: string): Promise<boolean> {
  if (/[\\/]/.test(ref)) return true;
  return fs.stat(ref).then(
    (info) => info.isFile(),
    () => false,
  );
}

/**
 * `check <ref>`: a file is checked as it is; an order id or a bare file name
 * is looked for (`locateOrder`) and the first copy found is checked, in the
 * order folder, claimed, deferred, `errores/`, `enviados/` order.
 */
export async function checkRef(config: Config, ref: string): Promise<CheckReport | CheckNotFound> {
  if (await isFileRef(ref)) return checkOrder(config, ref);
  const [first, ...others] = await locateOrder(config, ref);
  if (first === undefined) return { query: ref, dir: config.dir, notFound: true };
  return { ...(await checkOrder(config, first.path)), found: { ...first, others } };
}

const PLACES: Record<Language, Record<OrderPlace, string>> = {
  es: {
    inbox: 'en la carpeta de órdenes, esperando su envío',
    claimed: 'tomada por proscai-mailer en este equipo (en curso)',
    deferred: 'tomada por proscai-mailer en este equipo, en espera de reintento (próximo intento {next})',
    failed: 'en errores/ (falló; su nota .error.txt dice por qué)',
    sent: 'en enviados/ (ya se envió)',
  },
  en: {
    inbox: 'in the order folder, waiting to be sent',
    claimed: 'taken by proscai-mailer on this machine (in progress)',
    deferred: 'taken by proscai-mailer on this machine, waiting for a retry (next try {next})',
    failed: 'in errores/ (it failed; its .error.txt note says why)',
    sent: 'in enviados/ (already sent)',
  },
};

/** `en errores/ (…): C:\envio\errores\_CFD_MAIL_REQ_0100.XML`. */
function placeText(found: FoundOrder, lang: Language): string {
  const next = found.nextTryAt === undefined ? '?' : formatLocalTime(new Date(found.nextTryAt));
  return `${PLACES[lang][found.place].replace('{next}', next)}: ${found.path}`;
}

/** The answer when nothing was found. */
export function formatNotFound(result: CheckNotFound, lang: Language): string {
  return `${TEXT[lang].notFound.replace('{id}', result.query).replace('{dir}', result.dir)}\n`;
}

const TEXT = {
  es: {
    found: 'La orden «{id}» se encontró {where}',
    others: 'Otra copia', notFound: 'No se encontró ninguna orden «{id}»: se buscó en la carpeta de órdenes {dir}, en las tomadas por este equipo (en curso o en espera de reintento), en errores/ y en enviados/. Revise el id, o indique la ruta del archivo.',
    valid: 'La orden {file} es válida; esto es lo que se enviaría (no se envió nada):',
    invalid: 'La orden {file} NO se puede enviar:',
    company: 'Empresa', from: 'Remitente', to: 'Para', cc: 'CC', bcc: 'CCO', replyTo: 'Responder a', subject: 'Asunto',
    body: 'Cuerpo', text: 'texto', html: 'HTML', server: 'Servidor SMTP', security: 'Seguridad', user: 'Usuario',
    attachments: 'Adjuntos', none: '(ninguno)', afterSend: 'Después de enviar', logSuccess: 'Registrar envíos',
    errorMail: 'Avisar fallas a', messageId: 'Message-ID', yes: 'sí', no: 'no', bytes: 'bytes', starttls: 'STARTTLS si el servidor lo ofrece',
    warnings: 'Advertencias', dkim: 'Firma DKIM', signed: 'sí, d={domain} s={selector}', unsigned: 'no (la empresa no tiene «dkim» en la configuración)',
    envelope: 'Sobre HTML',
  },
  en: {
    found: 'The order "{id}" was found {where}',
    others: 'Another copy', notFound: 'No order "{id}" was found: looked in the order folder {dir}, among the ones this machine took (in progress or waiting for a retry), in errores/ and in enviados/. Check the id, or give the file\'s path.',
    valid: 'The order {file} is valid; this is what would be sent (nothing was sent):',
    invalid: 'The order {file} can NOT be sent:',
    company: 'Company', from: 'From', to: 'To', cc: 'CC', bcc: 'BCC', replyTo: 'Reply-To', subject: 'Subject',
    body: 'Body', text: 'text', html: 'HTML', server: 'SMTP server', security: 'Security', user: 'User',
    attachments: 'Attachments', none: '(none)', afterSend: 'After sending', logSuccess: 'Log successes',
    errorMail: 'Failures reported to', messageId: 'Message-ID', yes: 'yes', no: 'no', bytes: 'bytes', starttls: 'STARTTLS when the server offers it',
    warnings: 'Warnings', dkim: 'DKIM signature', signed: 'yes, d={domain} s={selector}', unsigned: 'no (the company has no "dkim" in the configuration)',
    envelope: 'HTML envelope',
  },
} as const;

/** The report as text: the message that would be sent, or every problem. */
export function formatCheck(report: CheckReport, lang: Language): string {
  const tx = TEXT[lang];
  const name = path.basename(report.file);
  const found = report.found;
  const where = found === undefined ? [] : [
    tx.found.replace('{id}', report.orderId).replace('{where}', placeText(found, lang)),
    ...found.others.map((o) => `${tx.others}: ${placeText(o, lang)}`),
  ];
  if (!report.ok || report.order === undefined) {
    return `${[...where, tx.invalid.replace('{file}', name), ...report.problems.map((p) => `  - ${p.text}`)].join('\n')}\n`;
  }
  const o = report.order;
  const list = (items: string[]): string => (items.length > 0 ? items.join(', ') : tx.none);
  const field = (label: string, value: string): string => `  ${`${label}:`.padEnd(20)} ${value}`;
  const lines = [
    ...where,
    tx.valid.replace('{file}', name),
    field(tx.company, o.company || '?'),
    field(tx.from, o.from),
    field(tx.to, list(o.to)),
    ...(o.cc.length > 0 ? [field(tx.cc, list(o.cc))] : []),
    ...(o.bcc.length > 0 ? [field(tx.bcc, list(o.bcc))] : []),
    ...(o.replyTo.length > 0 ? [field(tx.replyTo, list(o.replyTo))] : []),
    field(tx.subject, o.subject),
    field(tx.body, o.body === 'html' ? tx.html : tx.text),
    ...(o.envelope !== undefined ? [field(tx.envelope, o.envelope)] : []),
    field(tx.server, `${o.smtp.host}:${o.smtp.port}`),
    field(tx.security, o.smtp.security ?? tx.starttls),
    ...(o.smtp.user !== undefined ? [field(tx.user, o.smtp.user)] : []),
    field(tx.attachments, o.attachments.length === 0 ? tx.none : ''),
    ...o.attachments.map((a) => `    - ${a.filename} (${a.contentType}, ${a.size} ${tx.bytes}): ${a.path}`),
    field(tx.afterSend, o.afterSend),
    field(tx.logSuccess, o.logSuccess ? tx.yes : tx.no),
    field(tx.errorMail, list(o.errorMail)),
    field(tx.messageId, o.messageId),
    field(tx.dkim, o.dkim === null ? tx.unsigned : tx.signed.replace('{domain}', o.dkim.domain).replace('{selector}', o.dkim.selector)),
    ...(report.warnings.length > 0 ? [field(tx.warnings, report.warnings.join('; '))] : []),
  ];
  return `${lines.map((l) => l.trimEnd()).join('\n')}\n`;
}
