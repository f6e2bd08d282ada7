/**
 * The state file that says failure notices are not getting through: the
 * notifier writes it after a failed try and removes it when one gets through;
 * `status` reads it to raise an alert. It lives in the work area, so it
 * outlives the process that wrote it.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';

import type { MailerError } from '../../errors.js';
import type { ResolvedSmtp } from '../../ports.js';
import { writeFileAtomic } from '../store/files.js';

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
