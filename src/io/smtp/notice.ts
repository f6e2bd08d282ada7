/**
 * One notification message: what a pending batch holds, how the message is
 * built and handed to the transport pool, and how servers are told apart.
 * *When* to notify (timing, batching, "server down") is io/smtp/notifier.ts.
 */
import type { Language } from '../../config/types.js';
import { toMailerError, type MailerError } from '../../errors.js';
import { renderNotification } from '../../text/errors.js';
import type { Address } from '../../order/types.js';
import type { FailureReport, ResolvedSmtp } from '../../ports.js';
import type { TransportPool } from './transport-pool.js';

/** Header naming the orders a notification is about. */
export const NOTIFICATION_HEADER = 'X-Proscai-Notification';

/** Lane of the transport pool used for notifications: apart from every company's lane. */
export const NOTIFY_LANE = '\u0000notifications';

/** Order ids named in the header at most (the body lists them all). */
const HEADER_IDS = 20;

export interface Item {
  report: FailureReport;
  at: number;
}

/** What is waiting for one recipient through one server. */
export interface Batch {
  key: string;
  to: Address;
  smtp: ResolvedSmtp;
  server: string;
  from: Address;
  items: Item[];
  omitted: number;
  timer?: NodeJS.Timeout;
  sending: boolean;
}

export type Outcome = { ok: true } | { ok: false; error: MailerError };

/**
 * Sends one notification to `batch.to` listing `items` (and how many were
 * dropped before, `omitted`). Never rejects: the outcome says what happened,
 * with the password redacted from any error.
 */
export async function deliver(pool: TransportPool, language: Language, batch: Batch, items: Item[], omitted: number): Promise<Outcome> {
  const reports = items.map((i) => i.report);
  const { subject, text } = renderNotification(reports, language, { omitted });
  const ids = reports.map((r) => r.orderId);
  const header = ids.length > HEADER_IDS ? `${ids.slice(0, HEADER_IDS).join(', ')} (+${ids.length - HEADER_IDS})` : ids.join(', ');
  try {
    await pool.send(batch.smtp, NOTIFY_LANE, 1, {
      from: mailbox(batch.from),
      to: mailbox(batch.to),
      subject,
      text,
      headers: { [NOTIFICATION_HEADER]: header },
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: toMailerError(err) };
  }
}

/** A failure that says the server did not answer at all: its notifications will not get through either, for now. */
export function reportsServerDown(report: FailureReport): boolean {
  const { code, smtp } = report.error;
  if (code === 'SMTP_CONNECTION' || code === 'SMTP_TIMEOUT') return true;
  return code === 'RETRIES_EXHAUSTED' && smtp?.responseCode === undefined && smtp?.errno !== undefined;
}

/** Identity of a server (never the password): batches and "down" marks are per server. */
export function serverKey(smtp: ResolvedSmtp): string {
  return JSON.stringify([smtp.host.toLowerCase(), smtp.port, smtp.user ?? '', smtp.security ?? '']);
}

function mailbox(a: Address): string | { name: string; address: string } {
  return a.name === '' ? a.address : { name: a.name, address: a.address };
}

/** True when `work` settled within `ms`; the timer never outlives it. */
export async function withDeadline(work: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.catch(() => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
