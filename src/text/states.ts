/**
 * What each state of the order machine (machines/order.ts) means to the
 * operator, in both languages: the words `proscai-mailer trace` uses for the
 * `to` of each `order.transition` log line.
 *
 * Guarantees: the table is typed by the machine's state names, so a state
 * added to the machine without a phrase, or a phrase left for a state it no
 * longer has, does not compile; a name the machine lacks (a log written by
 * another version) is shown as it is.
 */
import type { Language } from '../config/types.js';
import { orderStateOf, type OrderStateName } from '../machines/order.js';

type Phrase = Readonly<Record<Language, string>>;

/**
 * The phrase of each state; `{attempts}` and `{next}` (the next try, local
 * time) are filled from the log line.
 */
export const STATE_PHRASES: Readonly<Record<OrderStateName, Phrase>> = {
  detected: { es: 'detectada en la carpeta de órdenes', en: 'found in the order folder' },
  claiming: { es: 'tomando el archivo de la carpeta de órdenes', en: 'taking the file from the order folder' },
  resuming: { es: 'retomada al iniciar proscai-mailer (ya estaba tomada)', en: 'picked up again when proscai-mailer started (it was already taken)' },
  restoring: { es: 'revisando su estado guardado', en: 'checking its saved state' },
  awaitingTurn: { es: 'esperando turno: estaba en curso cuando proscai-mailer se detuvo', en: 'waiting its turn: it was in progress when proscai-mailer stopped' },
  markingInFlight: { es: 'marcada como en curso', en: 'marked as in progress' },
  quarantining: { es: 'apartada: proscai-mailer se detuvo más de una vez mientras la procesaba', en: 'set aside: proscai-mailer stopped more than once while handling it' },
  loading: { es: 'leyendo la orden', en: 'reading the order' },
  loadBlocked: { es: 'no se puede leer por ahora (archivo ocupado o carpeta no disponible); se volverá a intentar', en: 'cannot be read right now (file busy or folder unavailable); will try again' },
  parsed: { es: 'orden leída y válida', en: 'order read and valid' },
  sending: { es: 'enviando (intento {attempts})', en: 'sending (try {attempts})' },
  retryOrGiveUp: { es: 'el envío falló; se decide si se reintenta', en: 'the send failed; deciding whether to try again' },
  deferring: { es: 'guardando el reintento', en: 'saving the retry' },
  deferred: { es: 'en espera; reintento programado para el {next}', en: 'waiting; retry scheduled for {next}' },
  waiting: { es: 'llegó la hora del reintento; esperando lugar para enviar', en: 'retry due; waiting for a free slot to send' },
  sent: { es: 'aceptada por el servidor SMTP', en: 'accepted by the SMTP server' },
  archiving: { es: 'archivando la orden enviada', en: 'archiving the sent order' },
  savingSent: { es: 'enviada, pero no se pudo archivar; se guarda que ya se envió', en: 'sent, but it could not be archived; recording that it was sent' },
  archiveBlocked: { es: 'enviada; se volverá a intentar archivarla (no se envía otra vez)', en: 'sent; archiving it will be tried again (it is not sent again)' },
  failed: { es: 'falla definitiva', en: 'permanent failure' },
  archivingFailed: { es: 'moviéndola a errores/ con su nota .error.txt', en: 'moving it to errores/ with its .error.txt note' },
  archiveFailedBlocked: { es: 'no se pudo mover a errores/; se volverá a intentar', en: 'could not be moved to errores/; will try again' },
  notifying: { es: 'enviando el aviso por correo', en: 'sending the e-mail notice' },
  lost: { es: 'la tomó otro proscai-mailer', en: 'another proscai-mailer took it' },
  skipped: { es: 'no se pudo tomar el archivo; sigue en la carpeta de órdenes', en: 'the file could not be taken; it stays in the order folder' },
  done: { es: 'terminado', en: 'finished' },
};

/** `deferred` without a known next try. */
const DEFERRED_UNTIMED: Phrase = { es: 'en espera de reintento', en: 'waiting for a retry' };

/** The phrase of the state named `state` in `lang`, placeholders filled (an unknown one stays visible). */
export function statePhrase(state: string, lang: Language, params: { attempts?: unknown; next?: string } = {}): string {
  const name = orderStateOf(state);
  if (name === undefined) return state;
  const phrase = name === 'deferred' && params.next === undefined ? DEFERRED_UNTIMED : STATE_PHRASES[name];
  const values: Record<string, unknown> = params;
  return phrase[lang].replace(/\{(\w+)\}/g, (whole, key: string) => (values[key] === undefined ? whole : String(values[key])));
}
