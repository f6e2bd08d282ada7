/**
 * `proscai-mailer acuse <id>` as a person reads it: the acuse de envío
 * (order/acuse.ts) in Spanish, or English with `--language en`. Every fact of
 * the record is shown; times in local time with their offset from UTC, so
 * that a printed acuse is unambiguous wherever it is read (the JSON keeps UTC).
 */
import type { Language } from '../config/types.js';
import type { AcuseRecord, AcuseTry } from '../order/acuse.js';

const WORDS = {
  es: {
    title: 'Acuse de envío de la orden {id} ({file})',
    company: 'Empresa',
    messageId: 'Message-ID',
    detected: 'Detectada',
    record: 'Archivo del acuse',
    unknownTime: 'no se sabe',
    tryOf: 'Intento {n} de {total}',
    accepted: 'el servidor lo aceptó',
    unknown: 'resultado desconocido: el mailer se detuvo mientras lo entregaba (el servidor pudo haberlo recibido)',
    started: 'Inicio',
    acceptedAt: 'Aceptado',
    server: 'Servidor',
    port: 'puerto',
    tls: 'cifrado con TLS ({protocol})',
    tlsUnknownProtocol: 'cifrado con TLS',
    plain: 'sin cifrar',
    envelopeFrom: 'Remitente del sobre',
    recipients: 'Destinatarios aceptados',
    refused: 'Destinatarios rechazados',
    none: 'ninguno',
    reply: 'Respuesta del servidor',
    message: 'Mensaje',
    digest: '{size} bytes, SHA-256 {sha256}',
    attachments: 'Adjuntos',
    eml: 'Copia del mensaje enviado',
    repeat: 'El servidor aceptó el mensaje {n} veces, siempre con el mismo Message-ID: es el mismo correo, entregado más de una vez.',
    notFound: 'No hay acuse de envío de la orden «{id}» (se buscó en: {places}). Solo las órdenes enviadas tienen acuse; vea «proscai-mailer trace {id}».',
  },
  en: {
    title: 'Proof of sending (acuse) of order {id} ({file})',
    company: 'Company',
    messageId: 'Message-ID',
    detected: 'Detected',
    record: 'Acuse file',
    unknownTime: 'unknown',
    tryOf: 'Try {n} of {total}',
    accepted: 'the server accepted it',
    unknown: 'outcome unknown: the mailer stopped while handing it over (the server may have received it)',
    started: 'Started',
    acceptedAt: 'Accepted',
    server: 'Server',
    port: 'port',
    tls: 'encrypted with TLS ({protocol})',
    tlsUnknownProtocol: 'encrypted with TLS',
    plain: 'not encrypted',
    envelopeFrom: 'Envelope sender',
    recipients: 'Accepted recipients',
    refused: 'Refused recipients',
    none: 'none',
    reply: "Server's reply",
    message: 'Message',
    digest: '{size} bytes, SHA-256 {sha256}',
    attachments: 'Attachments',
    eml: 'Copy of the message as sent',
    repeat: 'The server accepted the message {n} times, always with the same Message-ID: it is the same e-mail, delivered more than once.',
    notFound: 'There is no proof of sending (acuse) of order "{id}" (looked in: {places}). Only sent orders have one; see "proscai-mailer trace {id}".',
  },
} as const;

type Words = (typeof WORDS)[Language];

const fill = (text: string, params: Record<string, unknown>): string => text.replace(/\{(\w+)\}/g, (w, k: string) => (params[k] === undefined ? w : String(params[k])));
const two = (n: number): string => String(n).padStart(2, '0');

/** `2026-12-03 05:30:12 (UTC-06:00)` in local time; the text as it is when it is not a time. */
function localStamp(iso: string | null | undefined, w: Words): string {
  if (iso === null || iso === undefined) return w.unknownTime;
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const offset = -at.getTimezoneOffset();
  const zone = `UTC${offset >= 0 ? '+' : '-'}${two(Math.trunc(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`;
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())} (${zone})`;
}

function tryLines(t: AcuseTry, n: number, total: number, w: Words): string[] {
  const lines = [`${fill(w.tryOf, { n, total })}: ${t.outcome === 'accepted' ? w.accepted : w.unknown}`];
  const add = (label: string, value: string): void => void lines.push(`  ${label}: ${value}`);
  add(w.started, localStamp(t.startedAt, w));
  if (t.acceptedAt !== undefined) add(w.acceptedAt, localStamp(t.acceptedAt, w));
  const security = t.tls === undefined ? '' : `, ${t.tls.used ? (t.tls.protocol ? fill(w.tls, { protocol: t.tls.protocol }) : w.tlsUnknownProtocol) : w.plain}`;
  add(w.server, `${t.server.host} ${w.port} ${t.server.port}${security}`);
  add(w.messageId, t.messageId);
  if (t.envelopeFrom !== undefined) add(w.envelopeFrom, t.envelopeFrom);
  if (t.accepted !== undefined) add(w.recipients, t.accepted.length > 0 ? t.accepted.join(', ') : w.none);
  if (t.refused !== undefined && t.refused.length > 0) add(w.refused, t.refused.map((r) => (r.response ? `${r.address} (${r.response})` : r.address)).join('; '));
  if (t.response !== undefined) add(w.reply, t.response);
  if (t.message !== undefined) add(w.message, fill(w.digest, { ...t.message }));
  if (t.attachments !== undefined && t.attachments.length > 0) {
    lines.push(`  ${w.attachments}:`);
    for (const a of t.attachments) lines.push(`    ${a.name} — ${fill(w.digest, { ...a })}`);
  }
  if (t.eml !== undefined) add(w.eml, t.eml);
  return lines;
}

/** The acuse as text (ends with a newline). `file` is where it was read from. */
export function renderAcuse(record: AcuseRecord, file: string, lang: Language): string {
  const w = WORDS[lang];
  const lines = [
    fill(w.title, { id: record.orderId, file: record.fileName }),
    `${w.company}: ${record.company}`,
    `${w.messageId}: ${record.messageId}`,
    `${w.detected}: ${localStamp(record.detectedAt, w)}`,
    `${w.record}: ${file}`,
  ];
  record.tries.forEach((t, i) => lines.push('', ...tryLines(t, i + 1, record.tries.length, w)));
  const delivered = record.tries.filter((t) => t.outcome === 'accepted').length;
  if (delivered > 1) lines.push('', fill(w.repeat, { n: delivered }));
  return `${lines.join('\n')}\n`;
}

/** The sentence for an order without an acuse (ends with a newline). */
export function acuseNotFound(id: string, places: readonly string[], lang: Language): string {
  return `${fill(WORDS[lang].notFound, { id, places: places.join(', ') })}\n`;
}
