/**
 * `proscai-mailer status`: what this machine's mailer has to do and did, per
 * company, from the disk alone (so it works whether a mailer runs or not,
 * and never disturbs one).
 *
 * Where each number comes from:
 * - waiting: order files in the order folder (each parsed for its company;
 *   one that cannot be read or parsed counts under `?`);
 * - sending ("en curso"): orders this machine has claimed that have no retry
 *   pending (no state file, or no next try in the future);
 * - deferred: claimed orders whose state has a next try in the future;
 * - failed (24 h): orders in `errores/` whose note was written in the last
 *   24 hours (failed orders already retried or removed are not counted);
 * - sent (24 h): `order.transition` lines to `sent` in the log of the last 24
 *   hours, plus the sends a `log.lines_lost` line records for lines the log
 *   could not write (a full disk); each such gap is listed (`logGaps`) and
 *   said in the report. The log, not `enviados/`, because RECICLAR and
 *   ELIMINAR leave nothing in `enviados/`.
 * - notices failing: the state file the notifier keeps in the work area while
 *   failure notices cannot be sent (io/host/notice-state.ts).
 * Claims of other machines sharing the folder are not counted.
 *
 * Alerts (`alerts`, each with a stable `code`): what needs a person now. The
 * order folder missing or not a folder; notices failing; and, from the
 * mailer's health file (io/host/health.ts), the log file not writable, claims
 * failing because the work area refuses writes, and the last SMTP failure of
 * each company until one of its sends succeeds. `status` also looks itself
 * where the mailer may have been unable to write the health file
 * (`probeAsStatus`): a folder where the log file should be; the log and
 * claims folders' write permission, when it runs as their owner. Any alert
 * makes the exit status 1 (`statusExitCode`), so that a monitoring script
 * can run `status`.
 */
import path from 'node:path';
import type { Config, Language } from '../config/types.js';
import { laneLabel, UNKNOWN_LANE } from '../order/lane.js';
import { parseOrder } from '../order/parse.js';
import { laneOfParsed } from '../order/resolve.js';
import { formatLocalTime } from '../text/errors.js';
import { orderIdOf } from '../order/types.js';
import { failedTimes, isNotAFile, readFileIfPossible } from '../io/store/inspect.js';
import { collectLogEntries, logFileOf, lostSendsOf } from '../io/log/reader.js';
import { enteredState } from '../io/log/transitions.js';
import { Events } from '../io/log/events.js';
import { hostOf, orderFolderState, readMailerProcess, type MailerProcess } from '../io/host/lock.js';
import { createOrderStore } from '../io/store/store.js';
import { noticeStatePath, readNoticeProblem, type NoticeProblem } from '../io/host/notice-state.js';
import { unnumberedName } from '../io/store/files.js';
import { healthPaths, probeAsStatus, readHealth } from '../io/host/health.js';
import { ExitCode } from './exit-codes.js';

export interface Counts {
  waiting: number;
  sending: number;
  deferred: number;
  failed24h: number;
  sent24h: number;
}

export interface CompanyCounts extends Counts {
  /** The lane key (upper-cased `Empresa`, else SMTP user, else sender); `?` when unknown. */
  company: string;
}

export interface DeferredOrder {
  fileName: string;
  orderId: string;
  company: string;
  attempts: number;
  /** ISO time of the next try. */
  nextTryAt: string;
  lastError?: { code: string; message: string; smtpCode?: number; smtpResponse?: string };
}

export interface RecentFailure {
  fileName: string;
  orderId: string;
  company: string;
  /** ISO time the order failed (its note was written). */
  failedAt: string;
  /** The order's `Para` addresses (`Name <address>` or `address`); empty when the order could not be read. */
  to: string[];
  /** The order's `Asunto` as written (any text: escape it where it is shown); empty when it could not be read. */
  subject: string;
  /**
   * Why it failed: the first reason of its `order.failed` log line in the
   * last 24 hours (an order refused for several reasons lists them all in its
   * note); absent when the log has none (lines lost, or another machine failed it).
   */
  error?: FailureError;
}

/** A reason an order failed, as the log records it: enough to word it again in any language (text/errors.ts `describeError`). */
export interface FailureError extends ErrorSummary {
  field?: string;
  value?: string;
  smtpDiagnosis?: string;
}

/** Lines the log lost (a `log.lines_lost` line) in the period the report covers. */
export interface LogGap {
  lines: number;
  /** ISO times of the first and the last lost line. */
  since: string;
  until: string;
  error?: string;
  /** Sends among the lost lines that the gap's line records (counted in `sent24h`). */
  sent: number;
  /** Sends among them it could not list (not counted: `sent24h` may be short by this much). */
  sentOmitted: number;
}

/** An SMTP failure as `status` shows it. */
export interface ErrorSummary {
  code: string;
  message: string;
  smtpCode?: number;
  smtpResponse?: string;
}

/**
 * Something that needs a person now; `code` is stable (scripts test it):
 * - `folder_missing`, `folder_not_folder`: the order folder (`dir`);
 * - `folder_unreadable`: with several folders, one whose path cannot even
 *   be looked at (`error`, say EACCES) (cli/every-folder.ts);
 * - `notices_failing`: failure notices cannot be sent through `server`;
 * - `log_not_writable`: the log `file` cannot be written (`since` when the
 *   mailer recorded it; without it, `status` found it itself);
 * - `claims_failing`: orders cannot be claimed, `dir` refuses writes;
 * - `smtp_failing`: the last send of `company` failed (`at`; `since` the
 *   first of the same error in a row), until one of its sends succeeds.
 */
export type Alert =
  | { code: 'folder_missing' | 'folder_not_folder'; dir: string }
  | { code: 'folder_unreadable'; dir: string; error: string }
  | { code: 'notices_failing'; server: string; since: string; error: ErrorSummary }
  | { code: 'log_not_writable'; file: string; error: string; since?: string }
  | { code: 'claims_failing'; dir: string; error: string; since?: string }
  | { code: 'smtp_failing'; company: string; error: ErrorSummary; since: string; at: string; orderId?: string };

export type AlertCode = Alert['code'];

export interface StatusReport {
  /** ISO time the report describes. */
  at: string;
  dir: string;
  /** Set when the order folder is missing or not a folder: nothing can be sent, and the counts are empty. */
  folderProblem?: 'missing' | 'not_folder' | 'unreadable';
  mailer: MailerProcess;
  companies: CompanyCounts[];
  totals: Counts;
  deferred: DeferredOrder[];
  failed: RecentFailure[];
  logGaps: LogGap[];
  /** Set while failure notices cannot be sent: where through, since when, the last error. */
  noticeProblem?: NoticeProblem;
  /** What needs a person now (see `Alert`); empty when nothing does. */
  alerts: Alert[];
}

/** 1 when any alert needs a person, else 0. */
export function statusExitCode(report: Pick<StatusReport, 'alerts'>): number {
  return report.alerts.length > 0 ? ExitCode.FAILED : ExitCode.OK;
}

/** The alerts from the folder state, the notice state, the mailer's health file and `status`'s own probes. */
async function gatherAlerts(config: Config, folder: 'folder' | 'missing' | 'not_folder', noticeProblem: NoticeProblem | undefined, claimsDir: string): Promise<Alert[]> {
  const alerts: Alert[] = [];
  if (folder !== 'folder') alerts.push({ code: folder === 'missing' ? 'folder_missing' : 'folder_not_folder', dir: config.dir });
  if (noticeProblem !== undefined) alerts.push({ code: 'notices_failing', server: noticeProblem.server, since: noticeProblem.since, error: noticeProblem.error });
  const health = await readHealth(healthPaths(config));
  const probed = await probeAsStatus({ logFile: logFileOf(config), claimsDir, workDir: config.workDir });
  if (health?.log !== undefined) alerts.push({ code: 'log_not_writable', file: health.log.file, error: health.log.error, since: health.log.since });
  else if (probed.log !== undefined) alerts.push({ code: 'log_not_writable', file: logFileOf(config), error: probed.log });
  if (health?.claims !== undefined) alerts.push({ code: 'claims_failing', dir: health.claims.dir, error: health.claims.error, since: health.claims.since });
  else if (probed.claims !== undefined) alerts.push({ code: 'claims_failing', dir: probed.claimsDir ?? claimsDir, error: probed.claims });
  const smtp = Object.entries(health?.smtp ?? {}).sort(([a], [b]) => a.localeCompare(b));
  for (const [company, p] of smtp) {
    const error: ErrorSummary = {
      code: p.code,
      message: p.message,
      ...(p.smtpCode !== undefined && { smtpCode: p.smtpCode }),
      ...(p.smtpResponse !== undefined && { smtpResponse: p.smtpResponse }),
    };
    alerts.push({ code: 'smtp_failing', company, error, since: p.since, at: p.at, ...(p.orderId !== undefined && { orderId: p.orderId }) });
  }
  return alerts;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const idOf = (fileName: string): string => orderIdOf(unnumberedName(fileName)) ?? fileName;

function companyOfBytes(bytes: Buffer | undefined, fileName: string, config: Config): string {
  return bytes === undefined ? UNKNOWN_LANE : laneLabel(laneOfParsed(parseOrder(bytes, fileName), config));
}

/** A failed order's company, recipients and subject (empty when it cannot be read or parsed). */
function failedOrderOf(bytes: Buffer | undefined, fileName: string, config: Config): { company: string; to: string[]; subject: string } {
  if (bytes === undefined) return { company: UNKNOWN_LANE, to: [], subject: '' };
  const parsed = parseOrder(bytes, fileName);
  const company = laneLabel(laneOfParsed(parsed, config));
  if (!parsed.ok) return { company, to: [], subject: '' };
  const to = parsed.order.to.map((a) => (a.name === '' ? a.address : `${a.name} <${a.address}>`));
  return { company, to, subject: parsed.order.subject };
}

/** The first reason of an `order.failed` log line (its `reasons` are io/log/transitions.ts `errorFields`). */
function failureErrorOf(entry: Record<string, unknown>): FailureError | undefined {
  const first = Array.isArray(entry.reasons) ? (entry.reasons[0] as Record<string, unknown> | undefined) : undefined;
  if (first === undefined || typeof first.errorCode !== 'string') return undefined;
  const text = (key: string): string | undefined => (typeof first[key] === 'string' ? (first[key] as string) : undefined);
  return {
    code: first.errorCode,
    message: text('error') ?? '',
    ...(typeof first.smtpCode === 'number' && { smtpCode: first.smtpCode }),
    ...(text('smtpResponse') !== undefined && { smtpResponse: text('smtpResponse') }),
    ...(text('field') !== undefined && { field: text('field') }),
    ...(text('value') !== undefined && { value: text('value') }),
    ...(text('smtpDiagnosis') !== undefined && { smtpDiagnosis: text('smtpDiagnosis') }),
  };
}

/** Reads the folders, the claims and the log; see the module comment. */
export async function gatherStatus(config: Config, now: Date = new Date()): Promise<StatusReport> {
  const folder = await orderFolderState(config.dir);
  const mailer = await readMailerProcess(config.workDir, hostOf(config).hostId);
  const noticeProblem = await readNoticeProblem(noticeStatePath(config.workDir));
  const store = createOrderStore({ dir: config.dir, workDir: config.workDir, recycleDir: config.recycleDir, ...hostOf(config) });
  const alerts = await gatherAlerts(config, folder, noticeProblem, path.dirname(store.claimPath('_')));
  const common = { at: now.toISOString(), dir: config.dir };
  const notices = noticeProblem !== undefined ? { noticeProblem } : {};
  if (folder !== 'folder') {
    return { ...common, folderProblem: folder, mailer, companies: [], totals: noCounts(), deferred: [], failed: [], logGaps: [], ...notices, alerts };
  }
  const since = new Date(now.getTime() - DAY_MS);
  const table = new Map<string, Counts>();
  const bump = (company: string, key: keyof Counts): void => {
    const row = table.get(company) ?? noCounts();
    row[key] += 1;
    table.set(company, row);
  };

  for (const fileName of await store.listInbox()) {
    bump(companyOfBytes(await readFileIfPossible(path.join(config.dir, fileName)), fileName, config), 'waiting');
  }

  const deferred: DeferredOrder[] = [];
  // Claims that cannot be listed are an alert already (claims_failing): the rest of the report still stands.
  const claimedNames = await store.listClaimed().catch((error: unknown) => {
    if (alerts.some((a) => a.code === 'claims_failing')) return [] as string[];
    throw error;
  });
  for (const fileName of claimedNames) {
    const state = await store.loadState(fileName);
    const company = state?.company !== undefined ? laneLabel(state.company) : companyOfBytes(await readFileIfPossible(store.claimPath(fileName)), fileName, config);
    if (state?.nextTryAt === undefined || state.nextTryAt <= now.getTime() || state.sentAt !== undefined) {
      bump(company, 'sending');
      continue;
    }
    bump(company, 'deferred');
    const last = state.lastError;
    deferred.push({
      fileName,
      orderId: idOf(fileName),
      company,
      attempts: state.attempts,
      nextTryAt: new Date(state.nextTryAt).toISOString(),
      ...(last && {
        lastError: {
          code: last.code,
          message: last.message,
          ...(last.smtp?.responseCode !== undefined && { smtpCode: last.smtp.responseCode }),
          ...(last.smtp?.response !== undefined && { smtpResponse: last.smtp.response }),
        },
      }),
    });
  }

  const failed: RecentFailure[] = [];
  for (const { fileName, failedAt } of await failedTimes(config.dir, await store.listFailed())) {
    if (failedAt.getTime() < since.getTime()) continue;
    const { company, to, subject } = failedOrderOf(await readFileIfPossible(path.join(config.dir, 'errores', fileName)), fileName, config);
    bump(company, 'failed24h');
    failed.push({ fileName, orderId: idOf(fileName), company, failedAt: failedAt.toISOString(), to, subject });
  }

  const recent = (time: unknown): boolean => typeof time === 'string' && Date.parse(time) >= since.getTime();
  // A log path that is not a file is an alert already (log_not_writable): the rest of the report still stands.
  const sent = (await isNotAFile(logFileOf(config))) ? { entries: [] } : await collectLogEntries(
    logFileOf(config),
    (e) =>
      (enteredState(e) === 'sent' && recent(e.time)) ||
      (e.event === Events.LOG_LINES_LOST && recent(e.until)) ||
      (e.event === Events.ORDER_FAILED && failed.length > 0 && recent(e.time)),
    { since, contains: ['"to":"sent"', `"${Events.LOG_LINES_LOST}"`, `"${Events.ORDER_FAILED}"`] },
  );
  const logGaps: LogGap[] = [];
  for (const entry of sent.entries) {
    if (entry.event === Events.ORDER_FAILED) {
      // Oldest first: the last line of an order failed twice (retried) wins.
      const error = failureErrorOf(entry);
      const id = String(entry.orderId ?? '').toLowerCase();
      for (const f of failed) if (error !== undefined && f.orderId.toLowerCase() === id) f.error = error;
      continue;
    }
    if (entry.event === Events.ORDER_TRANSITION) {
      bump(laneLabel(entry.company), 'sent24h');
      continue;
    }
    const sends = lostSendsOf(entry).filter((send) => recent(send.time));
    for (const send of sends) bump(laneLabel(send.company), 'sent24h');
    logGaps.push({
      lines: Number(entry.lines) || 0,
      since: String(entry.since),
      until: String(entry.until),
      ...(typeof entry.error === 'string' && { error: entry.error }),
      sent: sends.length,
      sentOmitted: Number(entry.sentOmitted) || 0,
    });
  }

  const companies = [...table.entries()]
    .map(([company, counts]) => ({ company, ...counts }))
    .sort((a, b) => (a.company === UNKNOWN_LANE ? 1 : b.company === UNKNOWN_LANE ? -1 : a.company.localeCompare(b.company)));
  const totals = noCounts();
  for (const row of companies) for (const key of Object.keys(totals) as (keyof Counts)[]) totals[key] += row[key];
  return {
    ...common,
    mailer,
    companies,
    totals,
    deferred: deferred.sort((a, b) => a.nextTryAt.localeCompare(b.nextTryAt)),
    failed: failed.sort((a, b) => a.failedAt.localeCompare(b.failedAt)),
    logGaps,
    ...notices,
    alerts,
  };
}

const noCounts = (): Counts => ({ waiting: 0, sending: 0, deferred: 0, failed24h: 0, sent24h: 0 });

const TEXT = {
  es: {
    folder: 'Carpeta de órdenes',
    notices: 'Atención: los avisos de error no se pueden enviar desde {server}: {error} (fallan desde {since}; se reintentan solos).',
    missing: 'Atención: la carpeta de órdenes {dir} no existe; no se envía nada hasta que exista (revise la ruta o que la unidad de red esté conectada).',
    notFolder: 'Atención: la ruta de la carpeta de órdenes {dir} es un archivo, no una carpeta; no se envía nada.',
    unreadable: 'Atención: no se puede leer la carpeta de órdenes {dir} ({error}); no se envía nada de ella (revise los permisos de la cuenta del servicio o la unidad de red).',
    running: 'Mailer: en ejecución (pid {pid}, desde {since})',
    runningUnknown: 'Mailer: en ejecución',
    stopped: 'Mailer: no está en ejecución (las órdenes esperan a «proscai-mailer run» o «once»)',
    head: ['Empresa', 'En espera', 'En curso', 'Diferidas', 'Fallidas 24 h', 'Enviadas 24 h'],
    total: 'TOTAL',
    empty: 'No hay órdenes pendientes ni actividad en las últimas 24 horas.',
    deferred: 'Diferidas (se reintentan solas):',
    deferredLine: 'intento {attempts}, próximo intento {next}',
    lastError: 'último error',
    failed: 'Fallidas en las últimas 24 horas (en errores/; detalle con «proscai-mailer trace <id>»):',
    gap: 'Atención: el registro perdió {lines} líneas entre {since} y {until} ({error}); sus {sent} envíos están contados en «Enviadas 24 h».',
    gapOmitted: 'Atención: el registro perdió {lines} líneas entre {since} y {until} ({error}); {omitted} envíos de ese lapso no quedaron detallados, así que «Enviadas 24 h» puede ser menor que lo enviado en hasta {omitted}.',
    logUnwritable: 'Atención: no se puede escribir el registro {file}: {error}{since}. Los envíos siguen, pero sus líneas se pierden: revise el espacio en disco y que la cuenta del servicio pueda escribir en esa carpeta.',
    claimsFailing: 'Atención: no se pueden tomar órdenes: la carpeta {dir} no admite escritura ({error}){since}. Las órdenes esperan en la carpeta de órdenes: dé permiso de escritura a la cuenta del servicio sobre el área de trabajo (o libere espacio en el disco).',
    smtpFailing: 'Atención: el último envío de {company} falló a las {at}{order}: {error}{since}. Se quita cuando un envío de esa empresa salga bien.',
    since: ' (desde {since})',
    sinceRepeated: '; igual desde {since}',
    order: ' (orden {orderId})',
  },
  en: {
    folder: 'Order folder',
    notices: 'Warning: failure notices cannot be sent through {server}: {error} (failing since {since}; retried automatically).',
    missing: 'Warning: the order folder {dir} does not exist; nothing is sent until it does (check the path, or that the network share is mounted).',
    notFolder: 'Warning: the order folder path {dir} is a file, not a folder; nothing is sent.',
    unreadable: 'Warning: the order folder {dir} cannot be read ({error}); nothing is sent from it (check the service account\'s permissions, or the network share).',
    running: 'Mailer: running (pid {pid}, since {since})',
    runningUnknown: 'Mailer: running',
    stopped: 'Mailer: not running (orders wait for "proscai-mailer run" or "once")',
    head: ['Company', 'Waiting', 'Sending', 'Deferred', 'Failed 24 h', 'Sent 24 h'],
    total: 'TOTAL',
    empty: 'No pending orders and no activity in the last 24 hours.',
    deferred: 'Deferred (retried automatically):',
    deferredLine: 'try {attempts}, next try {next}',
    lastError: 'last error',
    failed: 'Failed in the last 24 hours (in errores/; details with "proscai-mailer trace <id>"):',
    gap: 'Warning: the log lost {lines} lines between {since} and {until} ({error}); their {sent} sends are counted in "Sent 24 h".',
    gapOmitted: 'Warning: the log lost {lines} lines between {since} and {until} ({error}); {omitted} sends of that time were not listed, so "Sent 24 h" may be short of what was sent by up to {omitted}.',
    logUnwritable: "Warning: the log {file} cannot be written: {error}{since}. Sending goes on, but its lines are lost: check the disk space and that the service account can write in that folder.",
    claimsFailing: "Warning: orders cannot be claimed: the folder {dir} refuses writes ({error}){since}. The orders wait in the order folder: give the service account write permission on the work area (or free disk space).",
    smtpFailing: "Warning: the last send of {company} failed at {at}{order}: {error}{since}. It goes when a send of that company succeeds.",
    since: ' (since {since})',
    sinceRepeated: '; the same since {since}',
    order: ' (order {orderId})',
  },
} as const;

const fill = (text: string, params: Record<string, string | number>): string => text.replace(/\{(\w+)\}/g, (w, k: string) => String(params[k] ?? w));

/** Columns padded to their widest cell; the first left-aligned, the others right-aligned. */
export function alignTable(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd());
}

/** A failure's code, message and SMTP reply on one line (the reply only once when the message already quotes it). */
export function errorLine(e: { code?: unknown; message?: unknown; smtpCode?: unknown; smtpResponse?: unknown }): string {
  const parts = [[e.code, e.message].filter((x) => x !== undefined && x !== '').join(': ')];
  const repeated = typeof e.smtpResponse === 'string' && typeof e.message === 'string' && e.message.includes(e.smtpResponse);
  if ((e.smtpResponse !== undefined || e.smtpCode !== undefined) && !repeated) {
    const reply = String(e.smtpResponse ?? '');
    parts.push(`SMTP ${reply.startsWith(String(e.smtpCode)) || e.smtpCode === undefined ? reply : `${String(e.smtpCode)} ${reply}`}`.trim());
  }
  return parts.filter(Boolean).join(' — ');
}

/** A send failure in few words: its code and the server's reply when there is one (the message otherwise), without a final period. */
function replyLine(e: ErrorSummary): string {
  const reply = e.smtpResponse ?? (e.smtpCode !== undefined ? String(e.smtpCode) : undefined);
  return `${e.code}: ${reply ?? e.message}`.replace(/\.+$/, '');
}

/** One alert in the operator's words. */
export function alertLine(alert: Alert, lang: Language): string {
  const tx = TEXT[lang];
  const local = (iso: string): string => formatLocalTime(new Date(iso));
  const since = (iso: string | undefined): string => (iso === undefined ? '' : fill(tx.since, { since: local(iso) }));
  switch (alert.code) {
    case 'folder_missing':
      return fill(tx.missing, { dir: alert.dir });
    case 'folder_not_folder':
      return fill(tx.notFolder, { dir: alert.dir });
    case 'folder_unreadable':
      return fill(tx.unreadable, { dir: alert.dir, error: alert.error });
    case 'notices_failing':
      return fill(tx.notices, { server: alert.server, error: errorLine(alert.error), since: local(alert.since) });
    case 'log_not_writable':
      return fill(tx.logUnwritable, { file: alert.file, error: alert.error, since: since(alert.since) });
    case 'claims_failing':
      return fill(tx.claimsFailing, { dir: alert.dir, error: alert.error, since: since(alert.since) });
    case 'smtp_failing':
      return fill(tx.smtpFailing, {
        company: alert.company,
        at: local(alert.at),
        order: alert.orderId === undefined ? '' : fill(tx.order, { orderId: alert.orderId }),
        error: replyLine(alert.error),
        since: alert.since === alert.at ? '' : fill(tx.sinceRepeated, { since: local(alert.since) }),
      });
  }
}

/** The human report: who runs, a table per company, then the deferred and failed orders. */
export function formatStatus(report: StatusReport, lang: Language): string {
  const tx = TEXT[lang];
  const local = (iso: string): string => formatLocalTime(new Date(iso));
  const owner = report.mailer.owner;
  const lines = [
    `${tx.folder}: ${report.dir}`,
    report.mailer.running ? (owner ? fill(tx.running, { pid: owner.pid, since: local(owner.since) }) : tx.runningUnknown) : tx.stopped,
    '',
  ];
  for (const alert of report.alerts) lines.push(alertLine(alert, lang), '');
  if (report.folderProblem !== undefined) return lines.join('\n');
  for (const gap of report.logGaps) {
    const params = { lines: gap.lines, since: local(gap.since), until: local(gap.until), error: gap.error ?? '?', sent: gap.sent, omitted: gap.sentOmitted };
    lines.push(fill(gap.sentOmitted > 0 ? tx.gapOmitted : tx.gap, params));
  }
  if (report.logGaps.length > 0) lines.push('');
  if (report.companies.length === 0) return [...lines, tx.empty, ''].join('\n');
  const row = (name: string, c: Counts): string[] => [name, ...[c.waiting, c.sending, c.deferred, c.failed24h, c.sent24h].map(String)];
  lines.push(...alignTable([[...tx.head], ...report.companies.map((c) => row(c.company, c)), row(tx.total, report.totals)]));
  if (report.deferred.length > 0) {
    lines.push('', tx.deferred);
    for (const d of report.deferred) {
      const error = d.lastError ? `; ${tx.lastError}: ${errorLine(d.lastError)}` : '';
      lines.push(`  ${d.fileName} (${d.company}): ${fill(tx.deferredLine, { attempts: d.attempts, next: local(d.nextTryAt) })}${error}`);
    }
  }
  if (report.failed.length > 0) {
    lines.push('', tx.failed);
    for (const f of report.failed) lines.push(`  ${f.fileName} (${f.company}): ${local(f.failedAt)}`);
  }
  return `${lines.join('\n')}\n`;
}
