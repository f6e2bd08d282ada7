/**
 * `proscai-mailer trace <id>`: the life of one order, from the bitácora:
 * every state change with its local time, the event that caused it and, for
 * failures, the error code, message and SMTP reply; each deferred try with
 * its next try; the outcome. Answers "was it sent, and if not, why?".
 *
 * The order is named by its id (`0042_20261127093015`) or its file name
 * (`_CFD_MAIL_REQ_0042_20261127093015.XML`, a path to it, or a numbered copy
 * from `errores/` such as `… (1).XML`), ignoring case. Every log file is read
 * (rotated ones first), so an order the ERP sent twice under one id shows
 * both lives, in order. Where the log lost lines (a `log.lines_lost` line: the
 * disk was full) while the order was in progress, the timeline says so, and a
 * send that line records counts as the order's outcome.
 *
 * The text speaks in the operator's words: each state of the order machine
 * (machines/order.ts) has a phrase in both languages (text/states.ts; a test
 * walks the machine's states), and each failure is the sentence the
 * `.error.txt` note gives. `--json` prints the log lines as they are, with the
 * machine's state names and English messages, for scripts.
 */
import path from 'node:path';
import type { Config, Language } from '../config/types.js';
import type { ErrorCode, SerializedError, XmlProblem } from '../errors.js';
import { describeError } from '../text/errors.js';
import { orderIdOf } from '../order/types.js';
import { unnumberedName } from '../io/store/files.js';
import { collectLogEntries, logFileOf, lostSendsOf, type LogEntry } from '../io/log/reader.js';
import { enteredState } from '../io/log/transitions.js';
import type { OrderStateName } from '../machines/order.js';
import { statePhrase } from '../text/states.js';
import { Events } from '../io/log/events.js';

export interface TraceResult {
  /** What the person typed. */
  query: string;
  /** The order id searched for, as typed (case kept). */
  orderId: string;
  /** The matching log lines, oldest first, as they are in the log. */
  entries: LogEntry[];
  /** The log files read. */
  files: string[];
}

/** The order id a reference designates: an id, a file name or a path to the file. */
export function orderIdOfRef(ref: string): string {
  const base = ref.trim().split(/[\\/]/).pop() ?? '';
  return orderIdOf(unnumberedName(base)) ?? base;
}

/** Whether a log line is about the order `id` (compared ignoring case). */
function isAbout(entry: LogEntry, id: string): boolean {
  const wanted = id.toLowerCase();
  if (typeof entry.orderId === 'string') return entry.orderId.toLowerCase() === wanted;
  if (typeof entry.fileName === 'string') return (orderIdOf(unnumberedName(entry.fileName)) ?? '').toLowerCase() === wanted;
  return false;
}

/** The send of order `id` a `log.lines_lost` entry records, if it does. */
function lostSendOf(entry: LogEntry, id: string): { time: string; company?: string } | undefined {
  const wanted = id.toLowerCase();
  return lostSendsOf(entry).find((send) => send.orderId.toLowerCase() === wanted);
}

/** Outcomes after which the order has nothing more to do. */
const FINAL_OUTCOMES: ReadonlySet<OrderStateName> = new Set<OrderStateName>(['sent', 'failed', 'lost']);

/**
 * Keeps the gaps of the log that concern the order: the ones that record its
 * send, and the ones within its timeline (after its first line, and before
 * its last one once it reached a final outcome).
 */
function withGaps(entries: LogEntry[], id: string): LogEntry[] {
  const own = entries.filter((e) => e.event !== Events.LOG_LINES_LOST);
  const times = own.map((e) => Date.parse(String(e.time))).filter((t) => !Number.isNaN(t));
  const outcome = own.map(enteredState).filter(isOutcomeState).at(-1);
  const first = times.length > 0 ? Math.min(...times) : Infinity;
  const end = outcome !== undefined && FINAL_OUTCOMES.has(outcome) ? Math.max(...times) : Infinity;
  return entries.filter(
    (e) =>
      e.event !== Events.LOG_LINES_LOST ||
      lostSendOf(e, id) !== undefined ||
      (Date.parse(String(e.until)) >= first && Date.parse(String(e.since)) <= end),
  );
}

/** Reads every log file and keeps the lines about the order, and the log's gaps that concern it. */
export async function gatherTrace(config: Config, ref: string): Promise<TraceResult> {
  const orderId = orderIdOfRef(ref);
  if (orderId === '') return { query: ref, orderId, entries: [], files: [] };
  const found = await collectLogEntries(logFileOf(config), (e) => isAbout(e, orderId) || e.event === Events.LOG_LINES_LOST, {
    contains: [orderId, `"${Events.LOG_LINES_LOST}"`],
  });
  return { query: ref, orderId, entries: withGaps(found.entries, orderId), files: found.files };
}

const TEXT = {
  es: {
    header: 'Orden {id} ({file}), empresa {company}',
    zone: 'Horas locales de este equipo ({zone}).',
    deferred: 'el intento {n} falló; se reintentará el {next}',
    failed: 'FALLÓ',
    sent: 'ENVIADA: Message-ID {id}; aceptada por {to}; respuesta del servidor: {response}',
    rejected: 'destinatarios rechazados',
    retry: 'devuelta a la cola por «proscai-mailer retry» ({via})',
    via: { errores: 'desde errores/', deferred: 'reintento adelantado' } as Record<string, string>,
    outcome: {
      sent: 'Resultado: enviada ({at}).',
      failed: 'Resultado: no se envió (falla definitiva, {at}); la orden está en errores/ con su nota .error.txt. Corrija la causa y use «proscai-mailer retry {id}».',
      deferred: 'Resultado: todavía no se envía; está en espera de reintento (próximo intento {next}).',
      retried: 'Resultado: devuelta a la cola ({at}); se enviará en la próxima pasada del mailer.',
      lost: 'Resultado: la tomó otro proscai-mailer que comparte la carpeta ({at}).',
      skipped: 'Resultado: no se pudo tomar el archivo ({at}); sigue en la carpeta de órdenes y se intentará de nuevo.',
      pending: 'Resultado: en curso (el registro no muestra todavía un desenlace).',
    },
    gap: 'el registro perdió {lines} líneas entre {since} y {until} ({error}); lo que esta orden hizo en ese lapso puede faltar aquí',
    gapSent: 'el registro perdió {lines} líneas entre {since} y {until} ({error}); entre ellas, el envío de esta orden ({at})',
    nothing: 'El registro no tiene nada de la orden «{id}» (se leyó: {files}).',
    noFiles: 'ningún archivo de registro',
  },
  en: {
    header: 'Order {id} ({file}), company {company}',
    zone: "Local times of this machine ({zone}).",
    deferred: 'try {n} failed; next try at {next}',
    failed: 'FAILED',
    sent: 'SENT: Message-ID {id}; accepted for {to}; server reply: {response}',
    rejected: 'refused recipients',
    retry: 'put back in the queue by "proscai-mailer retry" ({via})',
    via: { errores: 'from errores/', deferred: 'retry brought forward' } as Record<string, string>,
    outcome: {
      sent: 'Outcome: sent ({at}).',
      failed: 'Outcome: not sent (permanent failure, {at}); the order is in errores/ with its .error.txt note. Fix the cause and use "proscai-mailer retry {id}".',
      deferred: 'Outcome: not sent yet; waiting for a retry (next try {next}).',
      retried: 'Outcome: put back in the queue ({at}); the next pass of the mailer sends it.',
      lost: 'Outcome: another proscai-mailer sharing the folder took it ({at}).',
      skipped: 'Outcome: the file could not be taken ({at}); it is still in the order folder and will be tried again.',
      pending: 'Outcome: in progress (the log shows no outcome yet).',
    },
    gap: 'the log lost {lines} lines between {since} and {until} ({error}); what this order did then may be missing here',
    gapSent: 'the log lost {lines} lines between {since} and {until} ({error}); among them, this order\'s send ({at})',
    nothing: 'The log has nothing about the order "{id}" (read: {files}).',
    noFiles: 'no log file',
  },
} as const;

const fill = (text: string, params: Record<string, unknown>): string => text.replace(/\{(\w+)\}/g, (w, k: string) => (params[k] === undefined ? w : String(params[k])));
const pad = (n: number): string => String(n).padStart(2, '0');

/** `2026-11-27 09:30:15` in local time; the raw text when it is not a time. */
function localTime(value: unknown): string {
  const at = typeof value === 'string' || typeof value === 'number' ? new Date(value) : undefined;
  if (at === undefined || Number.isNaN(at.getTime())) return String(value ?? '');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

function zoneOf(at: Date): string {
  const offset = -at.getTimezoneOffset();
  return `UTC${offset >= 0 ? '+' : '-'}${pad(Math.trunc(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

/** The failure a log line records, rebuilt from its fields (see io/log/transitions.ts `errorFields`). */
function serializedOf(e: LogEntry): SerializedError | undefined {
  if (typeof e.errorCode !== 'string') return undefined;
  const smtpCode = typeof e.smtpCode === 'number' ? e.smtpCode : undefined;
  const smtpResponse = typeof e.smtpResponse === 'string' ? e.smtpResponse : undefined;
  return {
    code: e.errorCode as ErrorCode,
    message: typeof e.error === 'string' ? e.error : '',
    ...(typeof e.field === 'string' && { field: e.field }),
    ...(typeof e.value === 'string' && { value: e.value }),
    ...(typeof e.path === 'string' && { path: e.path }),
    ...(typeof e.xml === 'object' && e.xml !== null && { xml: e.xml as XmlProblem }),
    ...((smtpCode !== undefined || smtpResponse !== undefined) && { smtp: { ...(smtpCode !== undefined && { responseCode: smtpCode }), ...(smtpResponse !== undefined && { response: smtpResponse }) } }),
  };
}

/** The failure of a log line as the `.error.txt` note words it, with its code; '' when the line records none. */
function errorOf(e: LogEntry, lang: Language): string {
  const error = serializedOf(e);
  if (error !== undefined) return `${describeError(error, lang)} [${error.code}]`;
  return typeof e.error === 'string' ? e.error : '';
}

/** The next try of a `deferred` state: from the line itself or the `order.deferred`/`order.resumed` line that follows it. */
function nextTryOf(entries: LogEntry[], at: number): unknown {
  for (let i = at; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.nextTryAt !== undefined) return e.nextTryAt;
    if (i > at && e.event === Events.ORDER_TRANSITION) return undefined;
  }
  return undefined;
}

/** One line of the timeline; `lastError` avoids repeating the error of one try on the lines that follow it. */
function describe(entries: LogEntry[], at: number, lang: Language, lastError: { text: string }, id: string): string {
  const tx = TEXT[lang];
  const e = entries[at]!;
  const error = errorOf(e, lang);
  switch (e.event) {
    case Events.LOG_LINES_LOST: {
      const send = lostSendOf(e, id);
      const params = { lines: e.lines, since: localTime(e.since), until: localTime(e.until), error: e.error ?? '?', at: localTime(send?.time) };
      return fill(send === undefined ? tx.gap : tx.gapSent, params);
    }
    case 'order.transition': {
      const to = enteredState(e);
      // The `order.failed` line that follows `failed` gives every reason at once.
      const shown = error !== '' && error !== lastError.text && to !== 'failed' ? `: ${error}` : '';
      // A new try may fail the same way again: that is said again.
      lastError.text = to === 'sending' ? '' : error || lastError.text;
      const next = to === 'deferred' ? nextTryOf(entries, at) : undefined;
      return `${statePhrase(String(e.to), lang, { attempts: e.attempts, ...(next !== undefined && { next: localTime(next) }) })}${shown}`;
    }
    case 'order.deferred': {
      const shown = error !== '' && error !== lastError.text ? `: ${error}` : '';
      lastError.text = error || lastError.text;
      return `${fill(tx.deferred, { n: e.attempts, next: localTime(e.nextTryAt) })}${shown}`;
    }
    case 'order.failed': {
      const reasons = Array.isArray(e.reasons) ? e.reasons.map((r) => errorOf(r as LogEntry, lang)) : [];
      return `${tx.failed}: ${reasons.join(' | ')}`;
    }
    case 'order.sent': {
      const to = Array.isArray(e.accepted) ? e.accepted.join(', ') : '';
      const line = fill(tx.sent, { id: e.messageId ?? '', to, response: e.response ?? '' });
      return Array.isArray(e.rejected) && e.rejected.length > 0 ? `${line}; ${tx.rejected}: ${JSON.stringify(e.rejected)}` : line;
    }
    case 'order.retry_requested':
      return fill(tx.retry, { via: tx.via[String(e.via)] ?? String(e.via ?? '') });
    default:
      return `${String(e.event ?? '')}: ${String(e.msg ?? '')}`;
  }
}

/** States that decide the order's outcome, each with its sentence in TEXT.outcome. */
type OutcomeState = Extract<OrderStateName, keyof (typeof TEXT)[Language]['outcome']>;
const OUTCOME_STATES: ReadonlySet<OrderStateName> = new Set<OutcomeState>(['sent', 'failed', 'deferred', 'lost', 'skipped']);
const isOutcomeState = (state: OrderStateName | undefined): state is OutcomeState => state !== undefined && OUTCOME_STATES.has(state);

/** The last thing that decided the order's fate. */
function outcomeOf(result: TraceResult, lang: Language): string {
  const tx = TEXT[lang].outcome;
  let outcome: { kind: keyof typeof tx; at?: unknown; next?: unknown } = { kind: 'pending' };
  for (const e of result.entries) {
    const to = enteredState(e);
    if (isOutcomeState(to)) outcome = { kind: to, at: e.time };
    else if (e.event === 'order.deferred') outcome = { kind: 'deferred', at: e.time, next: e.nextTryAt };
    else if (e.event === 'order.retry_requested') outcome = { kind: 'retried', at: e.time };
    else if (e.event === Events.LOG_LINES_LOST && lostSendOf(e, result.orderId) !== undefined) outcome = { kind: 'sent', at: lostSendOf(e, result.orderId)!.time };
    else if (to === 'claiming' || to === 'resuming') outcome = { kind: 'pending' };
  }
  const id = result.entries.map((e) => e.orderId).find((x) => typeof x === 'string') ?? result.orderId;
  return fill(tx[outcome.kind], { at: localTime(outcome.at), next: localTime(outcome.next), id });
}

/** The timeline as text, or the "nothing found" message when there is no line. */
export function formatTrace(result: TraceResult, lang: Language): string {
  const tx = TEXT[lang];
  if (result.entries.length === 0) {
    const files = result.files.length > 0 ? result.files.map((f) => path.basename(f)).join(', ') : tx.noFiles;
    return `${fill(tx.nothing, { id: result.query, files })}\n`;
  }
  const first = result.entries.find((e) => typeof e.fileName === 'string');
  const companies = result.entries.map((e) => e.company ?? lostSendOf(e, result.orderId)?.company);
  const company = companies.find((c) => typeof c === 'string' && c !== '') ?? '?';
  const lastError = { text: '' };
  const lines = [
    fill(tx.header, { id: first?.orderId ?? result.orderId, file: first?.fileName ?? '?', company }),
    fill(tx.zone, { zone: zoneOf(new Date()) }),
    '',
    ...result.entries.map((e, i) => `${localTime(e.time)}  ${describe(result.entries, i, lang, lastError, result.orderId)}`),
    '',
    outcomeOf(result, lang),
  ];
  return `${lines.join('\n')}\n`;
}
