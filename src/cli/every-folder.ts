/**
 * `status`, `trace`, `retry` and `check` over every folder of the
 * configuration (config/folders.ts `foldersOf`; `--dir` narrows to one).
 * With one folder each answers exactly as before; with several:
 * - `status`: `{ at, folders: StatusReport[], alerts }`, every folder's
 *   report and all their alerts (each also in its folder's report); a
 *   folder that cannot be read at all is a report with a
 *   `folder_unreadable` alert, never the end of the command. Consumers read
 *   `doc.folders ?? [doc]`;
 * - `trace`: every folder's log; `--json` keeps one array of log lines, each
 *   with the `dir` of its folder (two ERPs may number their orders alike);
 * - `retry`: the order (or every failed order) in every folder;
 * - `check`: a file in the folder it lies in (else with the top-level
 *   settings); an id in the first folder where it is found.
 */
import type { Config, Language } from '../config/types.js';
import { t } from '../text/messages.js';
import { folderAt, foldersOf } from '../config/folders.js';
import { hostOf, orderFolderState, readMailerProcess } from '../io/host/lock.js';
import { shortFsError } from '../io/host/health.js';
import type { LogEntry } from '../io/log/reader.js';
import { gatherStatus, type Alert, type StatusReport } from './status.js';
import { gatherTrace, type TraceResult } from './trace.js';
import { formatRetry, matchedAnything, retryOrders, type RetryReport, type RetryTarget } from './retry.js';
import { checkRef, isFileRef, orderDirOf, type CheckNotFound, type CheckReport } from './check.js';

/** `status --json` with several folders. */
export interface FoldersStatus {
  at: string;
  folders: StatusReport[];
  alerts: Alert[];
}

export type StatusDocument = StatusReport | FoldersStatus;

/** The reports of a status document, one per folder. */
export function reportsOf(doc: StatusDocument): StatusReport[] {
  return 'folders' in doc ? doc.folders : [doc];
}

/** `status` of every folder (see the module comment). */
export async function gatherEveryStatus(config: Config, now: Date = new Date()): Promise<StatusDocument> {
  const folders = foldersOf(config);
  if (folders.length === 1) return gatherStatus(folders[0]!, now);
  // Only a folder whose path refuses even a look is an unreadable report; any other problem ends `status` as with one folder.
  const reports = await Promise.all(
    folders.map((folder) => orderFolderState(folder.dir).then(() => gatherStatus(folder, now), (error: unknown) => unreadable(folder, error, now))),
  );
  return { at: now.toISOString(), folders: reports, alerts: reports.flatMap((r) => r.alerts) };
}

/** The report of a folder `status` could not read at all (its path refuses even a look). */
async function unreadable(config: Config, error: unknown, now: Date): Promise<StatusReport> {
  if (!(error instanceof Error)) throw error;
  const mailer = await readMailerProcess(config.workDir, hostOf(config).hostId).catch(() => ({ running: false }) as const);
  return {
    at: now.toISOString(),
    dir: config.dir,
    folderProblem: 'unreadable',
    mailer,
    companies: [],
    totals: { waiting: 0, sending: 0, deferred: 0, failed24h: 0, sent24h: 0 },
    deferred: [],
    failed: [],
    logGaps: [],
    alerts: [{ code: 'folder_unreadable', dir: config.dir, error: shortFsError(error) }],
  };
}

/** `trace` in every folder's log: one result per folder where the order appears (the first folder's empty result when none). */
export async function gatherEveryTrace(config: Config, ref: string): Promise<{ dir: string; result: TraceResult }[]> {
  const folders = foldersOf(config);
  const results = await Promise.all(folders.map(async (folder) => ({ dir: folder.dir, result: await gatherTrace(folder, ref) })));
  const found = results.filter((r) => r.result.entries.length > 0);
  if (found.length > 0) return found;
  return [{ dir: folders[0]!.dir, result: { ...results[0]!.result, files: results.flatMap((r) => r.result.files) } }];
}

/** `trace --json`: the log lines as they are; with several folders each carries its folder's `dir`. */
export function traceJson(results: { dir: string; result: TraceResult }[], several: boolean): LogEntry[] {
  return results.flatMap(({ dir, result }) => (several ? result.entries.map((entry) => ({ ...entry, dir })) : result.entries));
}

/** What `retry` did in each folder. */
export interface FolderRetry {
  dir: string;
  report: RetryReport;
}

/** `retry` in every folder, the reports joined, and each folder's (`byFolder`) for the text that names them. */
export async function retryEveryFolder(config: Config, target: RetryTarget, now: Date = new Date()): Promise<RetryReport & { byFolder: FolderRetry[] }> {
  const byFolder: FolderRetry[] = [];
  for (const folder of foldersOf(config)) byFolder.push({ dir: folder.dir, report: await retryOrders(folder, target, now) });
  const reports = byFolder.map((f) => f.report);
  return {
    byFolder,
    requeued: reports.flatMap((r) => r.requeued),
    rescheduled: reports.flatMap((r) => r.rescheduled),
    leftToMailer: reports.flatMap((r) => r.leftToMailer),
    inProgress: reports.flatMap((r) => r.inProgress),
    alreadyQueued: reports.flatMap((r) => r.alreadyQueued),
    errors: reports.flatMap((r) => r.errors),
  };
}

/**
 * What `retry` did, one line per order; with several folders each folder
 * that had something to do under a line naming it (an order id may exist in
 * two of them), so the person knows which ERP's order moved.
 */
export function formatRetryByFolder(result: { byFolder: readonly FolderRetry[] } & RetryReport, target: RetryTarget, lang: Language): string {
  const matched = result.byFolder.filter((f) => matchedAnything(f.report));
  if (result.byFolder.length === 1 || matched.length === 0) return formatRetry(result, target, lang);
  return matched.map((f) => `${t('retry.in_folder', lang, { dir: f.dir })}\n${formatRetry(f.report, target, lang)}`).join('');
}

/** `check` over every folder (see the module comment). */
export async function checkInEveryFolder(config: Config, ref: string): Promise<CheckReport | CheckNotFound> {
  const folders = foldersOf(config);
  if (folders.length === 1) return checkRef(folders[0]!, ref);
  if (await isFileRef(ref)) {
    const dir = orderDirOf(ref);
    return checkRef(folderAt(folders, dir) ?? config, ref);
  }
  for (const folder of folders) {
    const report = await checkRef(folder, ref);
    if (!('notFound' in report)) return report;
  }
  return { query: ref, dir: folders.map((f) => f.dir).join(', '), notFound: true };
}
