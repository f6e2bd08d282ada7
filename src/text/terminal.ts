/**
 * The terminal's log lines in the operator's language. The JSON log file
 * keeps every line as the code logged it (English message, English field and
 * `event` names: scripts filter on them); the readable line on the terminal
 * (or the journal) is rebuilt here from the line's `event` and fields, so a
 * Spanish operator reads Spanish throughout.
 *
 * Guarantees: a line whose event has no sentence here is shown with its own
 * message (the lines already logged in the operator's language: `run`'s
 * start and stop, the order folder, the lock); a failure is described with
 * `describeError`, the sentence of the order's `.error.txt` note, so the
 * terminal and the note say the same thing.
 */
import type { Language } from '../config/types.js';
import type { ErrorCode, SerializedError } from '../errors.js';
import type { OrderStateName } from '../machines/order.js';
import type { EventName } from '../io/log/events.js';
import { describeError, formatLocalTime } from './errors.js';

type Line = Record<string, unknown>;

const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
const orderOf = (line: Line): string => text(line.orderId ?? line.order ?? line.fileName);
const listOf = (v: unknown): string => (Array.isArray(v) ? v.map(text).join(', ') : text(v));
const at = (iso: unknown): string => (typeof iso === 'string' && !Number.isNaN(Date.parse(iso)) ? formatLocalTime(new Date(iso)) : text(iso));

/** A failure's fields as logged (`errorFields` in io/log/transitions.ts, or an `err` object) back as an error to describe. */
function errorOf(fields: Line): SerializedError | undefined {
  const nested = fields.err;
  if (typeof nested === 'object' && nested !== null && typeof (nested as Line).code === 'string') return nested as SerializedError;
  if (typeof fields.errorCode !== 'string') return undefined;
  const smtp = fields.smtpResponse !== undefined || fields.smtpCode !== undefined || fields.smtpDiagnosis !== undefined
    ? { ...(typeof fields.smtpResponse === 'string' && { response: fields.smtpResponse }), ...(typeof fields.smtpCode === 'number' && { responseCode: fields.smtpCode }), ...(typeof fields.smtpDiagnosis === 'string' && { diagnosis: fields.smtpDiagnosis }) }
    : undefined;
  return {
    code: fields.errorCode as ErrorCode,
    message: text(fields.error),
    ...(typeof fields.field === 'string' && { field: fields.field }),
    ...(typeof fields.value === 'string' && { value: fields.value }),
    ...(typeof fields.path === 'string' && { path: fields.path }),
    ...(smtp !== undefined && { smtp }),
  } as SerializedError;
}

/** The reason of a failure in Spanish: the note's sentence, else the raw text. */
function reason(fields: Line): string {
  const error = errorOf(fields);
  if (error !== undefined) return describeError(error, 'es');
  const raw = text(fields.error);
  return raw === '' ? '' : raw;
}

const withReason = (fields: Line): string => {
  const r = reason(fields);
  return r === '' ? '' : ` Motivo: ${r}`;
};

/** Why a notice was not sent when no error says it (notifier.ts's messages without an error). */
function notSentBecause(l: Line): string {
  const msg = text(l.msg);
  if (l.timeoutMs !== undefined || msg.includes('before exit')) return ' antes de terminar';
  if (msg.includes('no SMTP server known')) return ': no se conoce ningún servidor SMTP para enviarlo';
  if (msg.includes('the mailer is stopping')) return ': el programa se está deteniendo';
  return '';
}

const KINDS_ES: Record<string, string> = { link: 'un enlace simbólico', folder: 'una carpeta' };

/** Spanish lines by event (only names the code logs: a typo does not compile); the English message of each is what the code logs. */
const SPANISH: { readonly [E in EventName]?: (line: Line) => string } = {
  'fs.async': (l) =>
    l.reason === 'network'
      ? `${text(l.target)} está en una unidad de red: los accesos a archivos se hacen de forma asíncrona`
      : `un acceso a archivo tardó ${text(l.ms)} ms (${text(l.op)} ${text(l.target)}): desde ahora los accesos a archivos se hacen de forma asíncrona`,
  'claims.taken_over': (l) => `se devolvieron ${text(l.count)} órdenes tomadas por otro equipo que dejó de dar señales`,
  'claims.takeover_failed': (l) => `no se pudieron revisar las órdenes tomadas por otros equipos (${text(l.error)})`,
  'store.warning': (l) => `aviso de la carpeta de trabajo:${withReason(l)}`,
  'watch.error': (l) => `problema al vigilar la carpeta de órdenes; la revisión periódica sigue.${withReason(l)}`,
  'order.not_a_file': (l) =>
    `${text(l.fileName)}: tiene nombre de orden, pero es ${KINDS_ES[text(l.kind)] ?? 'algo que no es un archivo normal'}; se deja como está y nunca se envía (ponga el archivo de la orden mismo en la carpeta de órdenes)`,
  'order.unknown_elements': (l) => {
    const found = Array.isArray(l.elements) ? l.elements.map(text) : [text(l.elements)];
    const spanish = found.map((w) => w.replace(/^unknown elements ignored: /, 'elementos desconocidos: ').replace(/^unknown attributes ignored: /, 'atributos desconocidos: '));
    return `${text(l.fileName)}: se ignoran ${spanish.join('; ')}`;
  },
  'order.held': (l) => `${orderOf(l)}: otro programa tiene abierto el archivo; se queda en la carpeta de órdenes y se intenta en la siguiente pasada (${text(l.error)})`,
  'order.unreadable': (l) => `${orderOf(l)}: aún no se puede leer; se queda en la carpeta de órdenes y se intenta en la siguiente pasada (${text(l.error)})`,
  'order.resumed': (l) => `${orderOf(l)}: se retoma después de ${text(l.attempts)} intentos; siguiente intento: ${at(l.nextTryAt)}`,
  'order.deferred': (l) => `${orderOf(l)}: falló el intento ${text(l.attempts)}; siguiente intento: ${at(l.nextTryAt)}.${withReason(l)}`,
  'order.failed': (l) => {
    const reasons = Array.isArray(l.reasons) ? (l.reasons as Line[]).map(reason).filter((r) => r !== '') : [];
    return `${orderOf(l)}: no se envió (quedó en errores/). ${reasons.join(' ')}`.trim();
  },
  'order.sent': (l) => `${orderOf(l)}: enviada`,
  'order.recipients_rejected': (l) => `${orderOf(l)}: el servidor rechazó a algunos destinatarios`,
  'order.skipped': (l) => `${orderOf(l)}: no se pudo tomar el archivo de la orden; se queda en la carpeta de órdenes y se intenta en la siguiente pasada.${withReason(l)}`,
  'order.claim_lost': (l) =>
    l.errorCode === undefined
      ? `${orderOf(l)}: la tomó otro proscai-mailer`
      : l.from === ('archiving' satisfies OrderStateName)
        ? `${orderOf(l)}: se envió, pero entretanto su archivo salió de la carpeta de órdenes tomadas de este equipo (otro equipo la tomó o se borró); no se archiva desde aquí y otro equipo podría enviarla también (con el mismo Message-ID)`
        : `${orderOf(l)}: se perdió la orden tomada: su archivo salió de la carpeta de órdenes tomadas de este equipo (otro equipo la tomó o se borró); no se envió nada desde aquí`,
  'order.read_blocked': (l) => `${orderOf(l)}: el archivo de la orden no se puede leer ahora; se intentará de nuevo`,
  'order.archive_failed': (l) => `${orderOf(l)}: el archivo de la orden no se pudo mover; se intentará de nuevo`,
  'internal.error': (l) =>
    `${orderOf(l) || 'orden'}: error interno en el paso ${text(l.state)} (${text(l.error)}); la orden queda tomada y se intenta de nuevo en el siguiente inicio`,
  'notify.sent': (l) => `aviso de falla enviado a ${listOf(l.to)}`,
  'notify.failed': (l) => {
    const whom = `${l.to === undefined ? '' : ` a ${listOf(l.to)}`}${(l.orders ?? l.order) === undefined ? '' : ` (órdenes: ${listOf(l.orders ?? l.order)})`}`;
    return `no se envió el aviso de falla${whom}${notSentBecause(l)}.${withReason(l)}`;
  },
  'notify.deferred': (l) =>
    `el aviso de falla a ${listOf(l.to)} no se pudo enviar ahora (servidor de correo no disponible); se intenta de nuevo en ${Math.round(Number(l.retryInMs) / 1000)} s.${withReason(l)}`,
  'notify.dropped': (l) => `aviso de falla a ${listOf(l.to)}: se quitaron ${text(l.count)} fallas de la lista (se guardaron demasiado tiempo); el registro las nombra`,
  'log.lines_lost': (l) => `se perdieron ${text(l.lines)} líneas del registro entre ${at(l.since)} y ${at(l.until)} (${text(l.error)})`,
};

/**
 * The terminal text of one log line: in Spanish, the sentence for its event
 * when there is one; otherwise (and in English) the message it was logged with.
 */
export function terminalMessage(line: Line, lang: Language): string {
  const message = text(line.msg);
  if (lang === 'en' || typeof line.event !== 'string') return message;
  const spanish = SPANISH[line.event as EventName];
  if (spanish === undefined) return message;
  try {
    return spanish(line);
  } catch {
    return message;
  }
}

/** pino's level labels as the terminal shows them. */
const LEVELS: Record<Language, Record<number, string>> = {
  es: { 10: 'RASTREO', 20: 'DETALLE', 30: 'INFO', 40: 'AVISO', 50: 'ERROR', 60: 'FATAL' },
  en: { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' },
};

/** pino-pretty's level label (possibly coloured) with its English word replaced by the word in `lang`. */
export function levelLabel(shown: string, level: number, lang: Language): string {
  const english = LEVELS.en[level];
  const word = LEVELS[lang === 'en' ? 'en' : 'es'][level];
  return english === undefined || word === undefined ? shown : shown.replace(english, word);
}
