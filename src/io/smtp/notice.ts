/**
 * The pieces of io/smtp/notifier.ts that do not decide *when* to notify: what a
 * pending batch holds, how one notification message is built and handed to
 * the transport pool, and how servers are told apart. Kept apart so that the
 * notifier module is its timing and batching rules only.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';

import type { Language } from '../../config/types.js';
import type { MailerError } from '../../errors.js';
import { renderNotification } from '../../text/i18n.js';
import { toSendError } from './errors.js';
import type { Address } from '../../order/types.js';
import type { FailureReport, ResolvedSmtp } from '../../ports.js';
import { writeFileAtomic } from '../store/files.js';
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
    return { ok: false, error: toSendError(err, { secrets: [batch.smtp.password] }) };
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

/** The state file, in the work area, that says notices are failing (absent while they get through). */
export const NOTICE_STATE_FILE = 'notify-state.json';

/** What `status` shows while notices cannot be sent. */
export interface NoticeProblem {
  /** `host:port` of the server the notices are sent through (never the password). */
  server: string;
  /** ISO time of the first failed try since the last notice got through. */
  since: string;
  /** ISO time of the last failed try. */
  at: string;
  error: { code: string; message: string; smtpCode?: number; smtpResponse?: string };
}

/** Path of the state file in `workDir`. */
export const noticeStatePath = (workDir: string): string => path.join(workDir, NOTICE_STATE_FILE);

/** Reads the state file; undefined when notices get through (no file) or it cannot be read. */
export async function readNoticeProblem(statePath: string): Promise<NoticeProblem | undefined> {
  try {
    const data = JSON.parse(await readFile(statePath, 'utf8')) as Partial<NoticeProblem>;
    return typeof data.server === 'string' && typeof data.error?.code === 'string' ? (data as NoticeProblem) : undefined;
  } catch {
    return undefined;
  }
}

/** Records a failed try (keeping `since` of a problem already recorded). Never rejects: the record is best effort. */
export async function recordNoticeProblem(statePath: string, smtp: ResolvedSmtp, error: MailerError): Promise<void> {
  const now = new Date().toISOString();
  const since = (await readNoticeProblem(statePath))?.since ?? now;
  const problem: NoticeProblem = {
    server: `${smtp.host}:${smtp.port}`,
    since,
    at: now,
    error: {
      code: error.code,
      message: error.message,
      ...(error.smtp?.responseCode !== undefined && { smtpCode: error.smtp.responseCode }),
      ...(error.smtp?.response !== undefined && { smtpResponse: error.smtp.response }),
    },
  };
  await writeFileAtomic(statePath, `${JSON.stringify(problem)}\n`).catch(() => undefined);
}

/** A notice got through: the problem is over. Never rejects. */
export async function clearNoticeProblem(statePath: string): Promise<void> {
  await rm(statePath, { force: true }).catch(() => undefined);
}
